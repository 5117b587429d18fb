import { precompileKernelLibrary } from './kernel-library';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { jupyterEnv, kernelProblem, missingJupyter, repoRoot, systemPython } from './jupyter';
import { taskResult, type Check, type TaskResult } from './checks';
import { installHint, killTree, readPrivateFile, runSandboxed, sandboxProblem, type SandboxLimits } from './sandbox';
import { trustedScore } from './trusted-score/run';

/**
 * Grades a student's notebook. Scores come only from the trusted harness (grading/trusted-score): the
 * reference notebook of the instructor's copy (hidden tests included) runs in a fresh process against the
 * submission's exercise cells, evaluated in an Isolate; each reference autograder cell is one check. With
 * kernelRun the notebook is also executed in its kernel (Jupyter's nbclient driving the course's tslab kernel,
 * scripts/course/notebook_run.py) with the published autograder cells put back, for the executed notebook
 * and the feedback; what it prints never adds a point. Both run under bubblewrap (grading/sandbox.ts), where
 * the solutions, the hidden tests, the grader's output and other submissions do not exist.
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
  /** Where the published student notebooks are (the kernel run gets their autograder cells). Default notebooks/. */
  readonly publicDir?: string;
  /** Run student code without the sandbox (only where bubblewrap cannot run, e.g. inside a container). */
  readonly unsafeNoSandbox?: boolean;
  /**
   * Also execute the notebook in its kernel (Jupyter's nbclient, the course's tslab kernel) for an executed copy and
   * a feedback check worth nothing: which of the student's cells fail in the kernel. Default false: it costs about
   * three times the grading itself (a TypeScript compiler per kernel), and scores never depend on it.
   */
  readonly kernelRun?: boolean;
  /** Longest one call of student code may run in the harness, in ms (default 1000). */
  readonly callTimeoutMs?: number;
  /** Sandbox limits (CPU, memory, processes); wall time is totalTimeoutS. */
  readonly limits?: Partial<SandboxLimits>;
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

/** Why student notebooks cannot be graded here as asked, or null. */
export function notebookSandboxProblem(options: { unsafeNoSandbox?: boolean } = {}): string | null {
  if (options.unsafeNoSandbox) return null;
  const problem = sandboxProblem();
  return problem === null ? null : `${problem}. Student code is not run unconfined: ${installHint}, or pass --unsafe-no-sandbox (only inside a throwaway container)`;
}

export interface NotebookGrade extends TaskResult {
  /** Why the notebook could not be graded in full, or null. */
  readonly problem: string | null;
  /** The trusted harness's start, to its first reference cell (see TrustedScore.startupMs). */
  readonly startupMs: number | null;
}

/** Grade one notebook file; any problem (bad JSON, no reference, timeout) is reported, never thrown. */
export async function gradeNotebook(file: string, options: NotebookGradeOptions, displayName = path.basename(file)): Promise<NotebookGrade> {
  const name = displayName;
  const failAll = (problem: string, max = 0): NotebookGrade => ({
    ...taskResult([{ id: `${name}`, points: 0, max, passed: false, message: problem }]),
    problem, startupMs: null,
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
  const confined = !options.unsafeNoSandbox;
  const sandboxMissing = notebookSandboxProblem(options);
  if (sandboxMissing) return failAll(`cannot grade notebooks here: ${sandboxMissing}`, maxOfRef);
  const kernelRun = options.kernelRun ?? false;
  const runnerProblem = kernelRun ? notebookRunnerProblem() : null;
  if (runnerProblem) return failAll(`cannot run notebooks here: ${runnerProblem}`, maxOfRef);

  fs.mkdirSync(options.workDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(options.workDir, 'nb-'));
  const totalTimeout = options.totalTimeoutS ?? 900;
  // RLIMIT_CPU counts every thread of a process (a kernel's compiler and GC threads too), so a busy kernel can use
  // totalTimeout seconds of CPU before totalTimeout of wall time and die of SIGXCPU first, reported as a crash. The
  // wall limit stops a runaway run; the CPU limit is the backstop behind it.
  const limits: Partial<SandboxLimits> = { cpuSeconds: 2 * totalTimeout, ...options.limits, wallSeconds: totalTimeout };
  // RAFTLAB_PRECOMPILED=0 (as for the kernel): the harness runs lib/ from its sources through tsx.
  const compiledLibrary = process.env.RAFTLAB_PRECOMPILED === '0' ? null : await compiledKernelLibrary();
  const [score, kernel] = await Promise.all([
    trustedScore(name, reference.cells, student.cells, {
      root: repoRoot, sandbox: confined, limits, student: { ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}) },
      ...(compiledLibrary !== null ? { compiledLibrary } : {}),
    }),
    kernelRun ? runKernel(name, student, dir, options, limits) : Promise.resolve(null),
  ]);
  const checks: Check[] = [...score.checks];
  if (kernel !== null) checks.push(kernel);
  return { ...taskResult(checks), problem: score.problem, startupMs: score.startupMs };
}

/**
 * What of the checkout the sandboxed kernel sees. The kernel's compiled-library cache is keyed by the sources it
 * can see (jupyter/kernels/raftlab/lib-cache.js): a folder of that key missing here would make every graded
 * kernel compile lib/ itself, seconds per notebook.
 */
export const kernelSandboxView: readonly string[] = Object.freeze(['lib', 'grading', 'node_modules', 'jupyter', 'package.json', 'tsconfig.json', 'scripts/course/notebook_run.py']);

let kernelLibrary: Promise<string | null> | null = null;

/**
 * The library compiled once per process and version (lib-cache.js), or null if it cannot be: the sandboxed
 * harness and kernel see the checkout read-only, so it is compiled here, before them.
 */
function compiledKernelLibrary(): Promise<string | null> {
  kernelLibrary ??= precompileKernelLibrary().catch(() => null);
  return kernelLibrary;
}

/** The notebook in its kernel (sandboxed), for the executed notebook and feedback: a check worth nothing. */
async function runKernel(name: string, student: Notebook, dir: string, options: NotebookGradeOptions, limits: Partial<SandboxLimits>): Promise<Check> {
  const publicFile = path.join(options.publicDir ?? path.join(repoRoot, 'notebooks'), name);
  const published = fs.existsSync(publicFile) ? parseNotebook(fs.readFileSync(publicFile, 'utf8'), publicFile) : null;
  const { notebook } = published ? withHiddenTests(student, published) : { notebook: student };
  const cellTimeout = options.cellTimeoutS ?? 120;
  const id = `${name.replace(/\.ipynb$/, '')}/kernel-run`;
  const inside = path.join(repoRoot, 'out');
  const args = (at: string) => [path.join(repoRoot, 'scripts', 'course', 'notebook_run.py'), path.join(at, 'run', name), path.join(at, 'run', `executed-${name}`), repoRoot, String(cellTimeout)];
  let reportText = '';
  let verdict: string | null = null;
  if (options.unsafeNoSandbox) {
    const runDir = path.join(dir, 'kernel');
    fs.mkdirSync(path.join(runDir, 'run'), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'run', name), JSON.stringify(notebook));
    verdict = await new Promise<string | null>((resolve) => {
      const child = spawn(systemPython, args(runDir), { env: { ...jupyterEnv(), RAFTLAB_KERNEL_WATCH: '0', RAFTLAB_REPORT_FD: '3' }, cwd: repoRoot, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (reportText += d.toString()));
      const timer = setTimeout(() => child.pid !== undefined && killTree(child.pid), (limits.wallSeconds ?? 900) * 1000);
      child.on('close', () => {
        clearTimeout(timer);
        resolve(null);
      });
    });
  } else {
    const r = await runSandboxed({
      argv: ['/usr/bin/python3', ...args(inside)],
      root: repoRoot,
      allow: kernelSandboxView,
      files: { [`run/${name}`]: JSON.stringify(notebook), '.home/.keep': '' },
      privateAt: inside,
      cwd: repoRoot,
      env: {
        PATH: '/usr/bin:/bin', HOME: path.join(inside, '.home'), LANG: 'C.UTF-8', TMPDIR: '/tmp', PYTHONDONTWRITEBYTECODE: '1',
        JUPYTER_PATH: path.join(repoRoot, 'jupyter'), RAFTLAB_KERNEL_WATCH: '0', RAFTLAB_REPORT_FD: '3',
        NODE_OPTIONS: '--max-old-space-size=2048',
      },
      limits,
      onFd3: (d) => (reportText += d.toString()),
      collect: (priv) => {
        const executed = readPrivateFile(priv, `run/executed-${name}`);
        if (executed !== null) fs.writeFileSync(path.join(dir, `executed-${name}`), executed);
      },
    });
    verdict = r.verdict;
  }
  let report: RunReport | null = null;
  try {
    report = JSON.parse(reportText) as RunReport;
  } catch {
    // no report: the run was stopped
  }
  const lines: string[] = [];
  if (verdict) lines.push(`the notebook's kernel run ${verdict}`);
  if (report?.problem) lines.push(String(report.problem));
  const failed = (report?.cells ?? []).filter((c) => c.status !== 'ok');
  for (const c of failed.slice(0, 12)) {
    const errLines = String(c.stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const why = (errLines.find((l) => /Error|\bE[A-Z]{3,}\b/.test(l)) ?? errLines[0] ?? '').slice(0, 300);
    lines.push(`cell ${c.index}${c.id ? ` (${c.id})` : ''}: ${c.status}${why ? `: ${why}` : ''}${sandboxHint(why)}`);
  }
  if (report === null && !verdict) lines.push('the kernel run gave no report');
  return {
    id, points: 0, max: 0, passed: lines.length === 0,
    message: lines.length === 0 ? 'the notebook ran in its kernel without an error (feedback only: scores come from the grader\'s own run)' : `feedback only, no points:\n${lines.join('\n')}`,
  };
}

/** Why an error happened, when the sandbox is the reason. */
function sandboxHint(error: string): string {
  if (/ENOENT|EACCES|EROFS|EPERM/.test(error)) return " (the grader's sandbox shows only the course library and the notebook's own folder; nothing else exists or is writable)";
  if (/ECONNREFUSED|ENETUNREACH|EAI_AGAIN|ENOTFOUND/.test(error)) return " (no network in the grader's sandbox)";
  if (/EAGAIN|Resource temporarily unavailable/.test(error)) return " (the sandbox's process limit)";
  if (/allocation failed|out of memory|ENOMEM/i.test(error)) return " (the sandbox's memory limit)";
  return '';
}
