import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { jupyterEnv, kernelProblem, missingJupyter, repoRoot, systemPython } from './jupyter';
import { taskResult, type Check, type TaskResult } from './checks';

/**
 * Runs a student's notebook in its own kernel process (Jupyter's nbclient driving the repository's tslab
 * kernel, scripts/course/notebook_run.py) with the hidden tests put back: every autograder cell is replaced
 * by the released solution notebook's cell of the same id (hidden tests included). A cell that runs longer than
 * the per-cell timeout is interrupted by nbclient; a run longer than the total timeout is killed with its whole
 * process tree (runner and kernel). Each autograder cell's checklist and "Score: x/y" become one check.
 */

export interface NotebookGradeOptions {
  /** The grader's own work folder; the prepared and executed notebooks go under it. */
  readonly workDir: string;
  readonly cellTimeoutS?: number;
  readonly totalTimeoutS?: number;
  /** Where the reference notebooks (with hidden tests) are. Default notebooks/solution. */
  readonly referenceDir?: string;
  /** Largest notebook accepted, in bytes. Default 5 MiB. */
  readonly maxBytes?: number;
}

interface Cell {
  cell_type: string;
  id?: string;
  metadata: { raftlab?: { role?: string; id?: string; points?: number } } & Record<string, unknown>;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

interface RunReport {
  readonly problem: string | null;
  readonly cells: { index: number; id: string | null; role: string | null; status: string; stdout: string; stderr: string }[];
}

export const NOTEBOOK_NAME = /^\d\d-[a-z0-9-]+\.ipynb$/;

/** Why notebooks cannot be run here, or null. */
export function notebookRunnerProblem(): string | null {
  const missing = missingJupyter({ server: false });
  if (missing.length > 0) return `missing ${missing.map((m) => m.what).join(', ')}`;
  return kernelProblem();
}

function parseNotebook(text: string, what: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid notebook JSON (${(error as Error).message})`);
  }
  const n = nb as Partial<Notebook>;
  if (typeof nb !== 'object' || nb === null || !Array.isArray(n.cells) || n.nbformat !== 4) throw new Error(`${what} is not an nbformat 4 notebook`);
  for (const [i, c] of n.cells.entries()) {
    if (typeof c !== 'object' || c === null || typeof c.cell_type !== 'string' || typeof c.metadata !== 'object' || c.metadata === null) {
      throw new Error(`${what}: cell ${i} is malformed`);
    }
  }
  return nb as Notebook;
}

const autograderId = (c: Cell) => (c.cell_type === 'code' && c.metadata.raftlab?.role === 'autograder' ? c.metadata.raftlab.id ?? null : null);

/** The student's notebook with every autograder cell taken from the reference (hidden tests back in). */
export function withHiddenTests(student: Notebook, reference: Notebook): { notebook: Notebook; restored: string[] } {
  const refCells = new Map<string, Cell>();
  for (const c of reference.cells) {
    const id = autograderId(c);
    if (id) refCells.set(id, c);
  }
  const used = new Set<string>();
  const cells: Cell[] = [];
  for (const c of student.cells) {
    const id = autograderId(c);
    const claimsAutograder = c.metadata.raftlab?.role === 'autograder';
    if (id && refCells.has(id) && !used.has(id)) {
      used.add(id);
      cells.push({ ...refCells.get(id)!, outputs: [], execution_count: null });
    } else if (claimsAutograder) {
      // An autograder cell the reference does not know (or a copy): run it as the student's code, not graded.
      cells.push({ ...c, metadata: { ...c.metadata, raftlab: {} } });
    } else {
      cells.push(c);
    }
  }
  const restored = [...refCells.keys()].filter((id) => !used.has(id));
  for (const id of restored) cells.push({ ...refCells.get(id)!, outputs: [], execution_count: null });
  return { notebook: { ...student, metadata: { ...student.metadata, kernelspec: reference.metadata['kernelspec'] }, cells }, restored };
}

/** Every process descended from `pid` (Linux /proc), deepest first. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const c of children.get(p) ?? []) {
      visit(c);
      out.push(c);
    }
  };
  visit(pid);
  return out;
}

function killTree(pid: number): void {
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Grade one notebook file; any problem (bad JSON, no reference, timeout) is reported, never thrown. */
export async function gradeNotebook(file: string, options: NotebookGradeOptions, displayName = path.basename(file)): Promise<TaskResult & { problem: string | null }> {
  const name = displayName;
  const failAll = (problem: string, max = 0): TaskResult & { problem: string } => ({
    ...taskResult([{ id: `${name}`, points: 0, max, passed: false, message: problem }]),
    problem,
  });
  if (!NOTEBOOK_NAME.test(name)) return failAll(`${name}: not a course notebook name (NN-name.ipynb)`);
  const refFile = path.join(options.referenceDir ?? path.join(repoRoot, 'notebooks', 'solution'), name);
  if (!fs.existsSync(refFile)) return failAll(`${name}: the course has no notebook of that name`);
  const reference = parseNotebook(fs.readFileSync(refFile, 'utf8'), refFile);
  const maxOfRef = reference.cells.reduce((s, c) => s + (autograderId(c) ? c.metadata.raftlab?.points ?? 0 : 0), 0);
  const size = fs.statSync(file).size;
  if (size > (options.maxBytes ?? 5 * 1024 * 1024)) return failAll(`${name} is ${size} bytes, over the ${options.maxBytes ?? 5 * 1024 * 1024}-byte limit`, maxOfRef);
  let student: Notebook;
  try {
    student = parseNotebook(fs.readFileSync(file, 'utf8'), name);
  } catch (error) {
    return failAll((error as Error).message, maxOfRef);
  }
  const runnerProblem = notebookRunnerProblem();
  if (runnerProblem) return failAll(`cannot run notebooks here: ${runnerProblem}`, maxOfRef);

  const { notebook, restored } = withHiddenTests(student, reference);
  fs.mkdirSync(options.workDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(options.workDir, 'nb-'));
  const prepared = path.join(dir, name);
  const executed = path.join(dir, `executed-${name}`);
  fs.writeFileSync(prepared, JSON.stringify(notebook));
  const cellTimeout = options.cellTimeoutS ?? 120;
  const totalTimeout = options.totalTimeoutS ?? 900;
  const runner = path.join(repoRoot, 'scripts', 'course', 'notebook_run.py');
  const report = await new Promise<RunReport | string>((resolve) => {
    const child = spawn(systemPython, [runner, prepared, executed, repoRoot, String(cellTimeout)], { env: jupyterEnv(), cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killTree(child.pid);
    }, totalTimeout * 1000);
    child.on('error', (e) => resolve(`cannot start the notebook runner: ${e.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return resolve(`the notebook ran longer than ${totalTimeout} s and was stopped (its kernel killed)`);
      try {
        resolve(JSON.parse(stdout) as RunReport);
      } catch {
        resolve(`the notebook runner exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
      }
    });
  });
  if (typeof report === 'string') return failAll(`${name}: ${report}`, maxOfRef);

  const checks: Check[] = [];
  const pointsOf = new Map<string, number>();
  for (const c of reference.cells) {
    const id = autograderId(c);
    if (id) pointsOf.set(id, c.metadata.raftlab?.points ?? 0);
  }
  for (const cell of report.cells) {
    if (cell.role !== 'autograder' || cell.id === null || !pointsOf.has(cell.id)) continue;
    const max = pointsOf.get(cell.id)!;
    const scores = [...cell.stdout.matchAll(/^Score: ([0-9.]+)\/([0-9.]+)/gm)];
    let got = scores.reduce((s, m) => s + Number(m[1]), 0);
    const of = scores.reduce((s, m) => s + Number(m[2]), 0);
    if (of > 0 && of !== max) got = (got / of) * max;
    got = Math.max(0, Math.min(max, Math.floor(got * 2) / 2));
    const why = cell.status === 'ok' ? '' : cell.status === 'timeout' ? `the cell ran longer than ${cellTimeout} s and was interrupted\n` : '';
    const text = (why + cell.stdout.trim() + (scores.length === 0 && cell.stderr.trim() ? `\n${cell.stderr.trim().split('\n').slice(0, 6).join('\n')}` : '')).trim();
    checks.push({
      id: `${name.replace(/\.ipynb$/, '')}/${cell.id}${restored.includes(cell.id) ? ' (cell restored)' : ''}`,
      points: scores.length === 0 ? 0 : got,
      max,
      passed: scores.length > 0 && got === max && cell.status === 'ok',
      message: text || `no output (status ${cell.status})`,
    });
  }
  for (const [id, max] of pointsOf) if (!checks.some((c) => c.id.startsWith(`${name.replace(/\.ipynb$/, '')}/${id}`))) {
    checks.push({ id: `${name.replace(/\.ipynb$/, '')}/${id}`, points: 0, max, passed: false, message: `not run${report.problem ? `: ${report.problem}` : ''}` });
  }
  return { ...taskResult(checks), problem: report.problem };
}
