/**
 * The instructor's command line:
 *   npm run grade -- [--json] [--batch DIR] [--out DIR] [--concurrency N] [--notebooks [--kernel-run]] [--fresh] [--queue URL] [PATH ...]
 * Each PATH is one submission (a folder or a zip); --batch DIR grades every folder and zip inside DIR.
 * --notebooks also runs each submission's course notebooks (NN-name.ipynb) with the hidden tests put back, in
 * OUT/work/: the instructor's reference cells (hidden tests included) run against the submission's exercise cells,
 * sandboxed with bubblewrap (refused without it unless --unsafe-no-sandbox), and add their autograder points;
 * --kernel-run also executes each notebook in its kernel, for feedback only. Each result is stored in OUT/results/ as soon as it is graded; a
 * rerun grades only what has no up-to-date result (--fresh: everything). --queue redis://HOST:PORT hands the
 * grading to `npm run grade-worker` processes on any machines and waits for them. Writes OUT/gradebook.csv and
 * OUT/feedback/<id>.md|.html and OUT/similarity.md|.csv (alike submissions; never a score), rebuilt from the
 * results; with --json prints one JSON array on stdout.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { formatPoints } from './checks';
import { boundKernelMemory, defaultConcurrency, gradeClass, type ClassProgress, type ClassResult } from './class-run';
import { listBatch, submissionJson, type NotebookGrading, type SubmissionGrade } from './grade';
import { writeReports } from './gradebook';
import { precompileKernelLibrary } from './kernel-library';
import { ClassProgressBar } from './progress';
import { redisConnection } from './queue/connection';
import { writeSimilarity } from './similarity';
import { notebookSandboxProblem } from './notebook-grader';
import { installHint, sandboxProblem } from './sandbox';
import { positiveInteger } from '../lib/command-line';

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('grade')
    .description("Grade Raft lab submissions (the manual's Task 2 and Task 3 artifacts), each a folder or a zip.")
    .argument('[paths...]', 'submissions: folders or zip files')
    .option('--json', 'print one JSON array on stdout, one element per submission')
    .option('--batch <dir>', 'grade every folder and zip inside DIR')
    .option('--out <dir>', 'where gradebook.csv, feedback/ and results/ go', 'out/grading')
    .option('--concurrency <n>', 'submissions graded at once (default: the number of cores)', positiveInteger)
    .option('--fresh', 'forget the results stored in OUT/results and grade everything again')
    .option('--queue <url>', 'grade on the job queue at redis://HOST:PORT (workers: npm run grade-worker -- --queue URL)')
    .option('--notebooks', 'also run the course notebooks in each submission (hidden tests put back) and add their points')
    .option('--cell-timeout <s>', 'with --notebooks: seconds one cell may run', positiveInteger, 120)
    .option('--notebook-timeout <s>', 'with --notebooks: seconds one notebook may run; then its kernel is killed', positiveInteger, 900)
    .option('--kernel-memory <mb>', 'with --notebooks: heap limit of each notebook kernel, in MB', positiveInteger, 1024)
    .option('--unsafe-no-sandbox', 'with --notebooks: run student code without bubblewrap (only inside a throwaway container)')
    .option('--kernel-run', 'with --notebooks: also run each notebook in its kernel, for feedback on the cells that fail there (no points; about 3x slower)')
    .showHelpAfterError();
  program.parse(argv as string[]);
  const opts = program.opts<{ json?: boolean; batch?: string; out: string; concurrency?: number; fresh?: boolean; queue?: string; notebooks?: boolean; cellTimeout: number; notebookTimeout: number; kernelMemory: number; unsafeNoSandbox?: boolean; kernelRun?: boolean }>();
  if (opts.notebooks) {
    const problem = notebookSandboxProblem({ unsafeNoSandbox: opts.unsafeNoSandbox ?? false });
    if (problem) {
      process.stderr.write(`grade: --notebooks: ${problem}\n`);
      return 2;
    }
    if (opts.unsafeNoSandbox) process.stderr.write('grade: --unsafe-no-sandbox: student code runs with your rights (files, network)\n');
  } else if (sandboxProblem()) {
    process.stderr.write(`grade: note: --notebooks needs bubblewrap to confine student code: ${installHint}\n`);
  }
  const sources = [...(program.args as string[])];
  if (opts.batch !== undefined) {
    try {
      sources.push(...listBatch(opts.batch, [opts.out]));
    } catch (error) {
      process.stderr.write(`grade: cannot read --batch ${opts.batch}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  if (sources.length === 0) {
    program.error('nothing to grade: give submission paths, or --batch DIR');
  }

  if (opts.queue !== undefined) {
    try {
      redisConnection(opts.queue);
    } catch (error) {
      program.error((error as Error).message);
    }
  }
  const notebooks: NotebookGrading | undefined = opts.notebooks ? { workDir: path.join(opts.out, 'work'), cellTimeoutS: opts.cellTimeout, totalTimeoutS: opts.notebookTimeout, unsafeNoSandbox: opts.unsafeNoSandbox ?? false, ...(opts.kernelRun ? { kernelRun: true } : {}) } : undefined;
  if (notebooks) {
    boundKernelMemory(opts.kernelMemory);
    if (opts.queue === undefined) await precompileKernelLibrary();
  }
  const bar = new ClassProgressBar(sources.length, Boolean(process.stderr.isTTY) && sources.length > 1);
  const onProgress = (p: ClassProgress) => bar.finished(p.last, p.lastReused);
  const common = { out: opts.out, fresh: opts.fresh ?? false, concurrency: opts.concurrency ?? defaultConcurrency(), ...(notebooks ? { notebooks } : {}) };
  let result: ClassResult;
  try {
    if (opts.queue !== undefined) {
      const { gradeClassOnQueue } = await import('./queue/instructor');
      result = await gradeClassOnQueue(sources, { ...common, queueUrl: opts.queue, onProgress, onQueueError: (m) => process.stderr.write(`grade: queue ${opts.queue}: ${m} (still trying)\n`) });
    } else {
      result = await gradeClass(sources, { ...common, onProgress });
    }
  } finally {
    for (const line of bar.stop()) process.stderr.write(`${line}\n`);
  }
  const grades = result.grades;

  const written = writeReports(opts.out, grades);
  const similar = writeSimilarity(opts.out, grades).report.pairs.length;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(grades.map(submissionJson), null, 2)}\n`);
  } else {
    for (const g of grades) process.stdout.write(`${summaryLine(g)}\n`);
  }
  const errors = grades.filter((g) => g.error !== undefined).length;
  process.stderr.write(
    `grade: ${grades.length} submission${grades.length === 1 ? '' : 's'} graded${errors > 0 ? ` (${errors} could not be read)` : ''}; `
    + `${result.reused > 0 ? `${result.reused} result${result.reused === 1 ? '' : 's'} reused from ${path.join(opts.out, 'results')}; ` : ''}`
    + `gradebook ${path.join(opts.out, 'gradebook.csv')}, feedback in ${path.join(opts.out, 'feedback')} (${written.length - 1} files); `
    + `${similar} similar pair${similar === 1 ? '' : 's'} in ${path.join(opts.out, 'similarity.md')}\n`,
  );
  return 0;
}

function summaryLine(g: SubmissionGrade): string {
  if (g.error !== undefined) return `${g.submission}: ERROR ${g.error}`;
  const t2 = g.tasks.task2;
  const t3 = g.tasks.task3;
  const nb = g.tasks.notebooks;
  const part = (name: string, r: typeof t2) => (r ? `${name} ${formatPoints(r.score)}/${formatPoints(r.max)}` : `${name} -`);
  const score = (t2?.score ?? 0) + (t3?.score ?? 0) + (nb?.score ?? 0);
  const max = (t2?.max ?? 0) + (t3?.max ?? 0) + (nb?.max ?? 0);
  const failed = [...(t2?.checks ?? []), ...(t3?.checks ?? []), ...(nb?.checks ?? [])].filter((c) => !c.passed).map((c) => c.id);
  return `${g.submission}: ${part('task2', t2)}, ${part('task3', t3)}${nb ? `, ${part('notebooks', nb)}` : ''}, total ${formatPoints(score)}/${formatPoints(max)}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}`;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`grade: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
