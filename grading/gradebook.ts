import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatPoints, type TaskResult } from './checks';
import { safeFileName } from './file-names';
import type { SubmissionGrade } from './grade';

/**
 * The instructor's outputs: one gradebook CSV (a row per student: task 2, task 3, total) and per-student
 * feedback in Markdown and HTML listing each check, its points and what to fix.
 */

const TASKS = [
  ['task2', 'Task 2: leader election'],
  ['task3', 'Task 3: replication'],
  ['notebooks', 'Notebooks (autograder cells)'],
] as const;

function csvField(value: string): string {
  // A leading = + - @ would make a spreadsheet run the cell as a formula.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function maxOf(grades: readonly SubmissionGrade[], task: 'task2' | 'task3' | 'notebooks'): number {
  return Math.max(0, ...grades.map((g) => g.tasks[task]?.max ?? 0));
}

/** student_id,task2,task3[,notebooks],total,error — a row per submission, in the given order. */
export function gradebookCsv(grades: readonly SubmissionGrade[]): string {
  const max2 = maxOf(grades, 'task2') || 10;
  const max3 = maxOf(grades, 'task3') || 10;
  const withNotebooks = grades.some((g) => g.tasks.notebooks !== undefined);
  const maxNb = maxOf(grades, 'notebooks');
  const rows = [['student_id', `task2 (/${max2})`, `task3 (/${max3})`, ...(withNotebooks ? [`notebooks (/${formatPoints(maxNb)})`] : []), `total (/${formatPoints(max2 + max3 + (withNotebooks ? maxNb : 0))})`, 'error']];
  for (const g of grades) {
    const s2 = g.tasks.task2?.score ?? 0;
    const s3 = g.tasks.task3?.score ?? 0;
    const sn = g.tasks.notebooks?.score ?? 0;
    rows.push([g.submission, formatPoints(s2), formatPoints(s3), ...(withNotebooks ? [formatPoints(sn)] : []), formatPoints(s2 + s3 + sn), g.error ?? '']);
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

function total(g: SubmissionGrade): { score: number; max: number } {
  let score = 0;
  let max = 0;
  for (const [key] of TASKS) {
    const t = g.tasks[key];
    if (t) {
      score += t.score;
      max += t.max;
    }
  }
  return { score, max };
}

export function feedbackMarkdown(g: SubmissionGrade): string {
  const out: string[] = [`# Raft lab feedback: ${g.submission}`, ''];
  if (g.error !== undefined) {
    out.push('Your submission could not be graded:', '', `> ${g.error.replace(/\n/g, '\n> ')}`, '',
      'Submit a zip (or folder) holding the lab files at its top or in one folder: 1.py 2.py 3.py, task2_node1-3.txt, task3_node1-3.txt and 127.0.0.1_8000-8002 .log, .storage and .state_machine.', '');
    return out.join('\n');
  }
  const t = total(g);
  out.push(`**Total: ${formatPoints(t.score)} / ${formatPoints(t.max)}**`, '');
  for (const [key, title] of TASKS) {
    const r: TaskResult | undefined = g.tasks[key];
    if (!r) continue;
    out.push(`## ${title}: ${formatPoints(r.score)} / ${formatPoints(r.max)}`, '');
    for (const c of r.checks) {
      const [first, ...rest] = c.message.split('\n');
      out.push(`- [${c.passed ? 'x' : ' '}] \`${c.id}\` (${formatPoints(c.points)}/${formatPoints(c.max)}): ${first ?? ''}`);
      for (const line of rest) out.push(`  - ${line}`);
    }
    out.push('');
  }
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function feedbackHtml(g: SubmissionGrade): string {
  const body: string[] = [`<h1>Raft lab feedback: ${esc(g.submission)}</h1>`];
  if (g.error !== undefined) {
    body.push('<p>Your submission could not be graded:</p>', `<pre class="error">${esc(g.error)}</pre>`);
  } else {
    const t = total(g);
    body.push(`<p><strong>Total: ${formatPoints(t.score)} / ${formatPoints(t.max)}</strong></p>`);
    for (const [key, title] of TASKS) {
      const r = g.tasks[key];
      if (!r) continue;
      body.push(`<h2>${esc(title)}: ${formatPoints(r.score)} / ${formatPoints(r.max)}</h2>`, '<table>', '<tr><th></th><th>check</th><th>points</th><th>what we found / what to fix</th></tr>');
      for (const c of r.checks) {
        body.push(`<tr class="${c.passed ? 'pass' : 'fail'}"><td>${c.passed ? '&#10004;' : '&#10008;'}</td><td><code>${esc(c.id)}</code></td><td>${formatPoints(c.points)}/${formatPoints(c.max)}</td><td>${c.message.split('\n').map(esc).join('<br>')}</td></tr>`);
      }
      body.push('</table>');
    }
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Raft lab feedback: ${esc(g.submission)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #ccc; padding: .4rem; vertical-align: top; text-align: left; }
tr.pass td:first-child { color: #1a7f37; }
tr.fail td:first-child { color: #cf222e; }
pre.error { background: #fff0f0; padding: .6rem; white-space: pre-wrap; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

/**
 * Write gradebook.csv and feedback/<id>.md|.html into `outDir` (created if needed). Each file is written to a
 * temporary name and renamed, so an interrupted run never leaves half a gradebook. Returns the paths written.
 */
export function writeReports(outDir: string, grades: readonly SubmissionGrade[]): string[] {
  const feedback = path.join(outDir, 'feedback');
  fs.mkdirSync(feedback, { recursive: true });
  const written: string[] = [];
  const put = (file: string, text: string) => {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    written.push(file);
  };
  put(path.join(outDir, 'gradebook.csv'), gradebookCsv(grades));
  const used = new Set<string>();
  for (const g of grades) {
    let name = safeFileName(g.submission);
    for (let k = 2; used.has(name.toLowerCase()); k++) name = `${safeFileName(g.submission)}-${k}`;
    used.add(name.toLowerCase());
    put(path.join(feedback, `${name}.md`), feedbackMarkdown(g));
    put(path.join(feedback, `${name}.html`), feedbackHtml(g));
  }
  return written;
}
