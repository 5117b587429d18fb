import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatChecklist, type Check, type TaskResult } from '../checks';
import { runSandboxed, type SandboxLimits } from '../sandbox';
import type { HarnessEvent, HarnessJob } from './protocol';
import { defaultStudentOptions, type StudentFunctionsOptions } from './student-functions';

/**
 * The grader's side of the trusted harness: send the job, read the events from fd 3, and turn them into one
 * check per reference autograder cell. Points come from the reference (the cell's points, shared out as its
 * checks' points); the events are validated and capped here, so even a harness taken over could not award more.
 */

export interface CodeCell {
  readonly cell_type: string;
  readonly metadata: { raftlab?: { role?: string; id?: string; points?: number } } & Record<string, unknown>;
  readonly source: string | string[];
}

const text = (c: CodeCell) => (Array.isArray(c.source) ? c.source.join('') : c.source);

export interface TrustedScoreOptions {
  /** The instructor's checkout (its lib/ and grading/ are what the reference cells import). */
  readonly root: string;
  /** Run the harness under bubblewrap (default true). */
  readonly sandbox?: boolean;
  readonly limits?: Partial<SandboxLimits>;
  readonly student?: Partial<StudentFunctionsOptions>;
  /** The library compiled for the kernel (precompileKernelLibrary): the harness runs on it instead of tsx. */
  readonly compiledLibrary?: string;
}

export interface TrustedScore {
  readonly checks: Check[];
  /** Why the harness did not finish (killed at a limit, crashed), or null. */
  readonly problem: string | null;
  readonly exercises: { id: string; status: string; message: string }[];
  /**
   * Milliseconds from starting the harness to its first reference cell: the notebook's fixed cost (sandbox, Node,
   * the library, the student's exercise cells evaluated in their Isolate), or null if no cell started.
   */
  readonly startupMs: number | null;
}

export function harnessJob(notebook: string, reference: readonly CodeCell[], submission: readonly CodeCell[], student: StudentFunctionsOptions): HarnessJob {
  const cells = reference.filter((c) => c.cell_type === 'code').map((c) => {
    const role = c.metadata.raftlab?.role;
    return { id: c.metadata.raftlab?.id ?? null, role: role === 'exercise' || role === 'autograder' ? role : null, source: text(c) } as const;
  });
  const exercises: Record<string, string | null> = {};
  for (const c of cells) if (c.role === 'exercise' && c.id !== null) exercises[c.id] = null;
  for (const c of submission) {
    const id = c.metadata?.raftlab?.id;
    if (c.cell_type === 'code' && c.metadata.raftlab?.role === 'exercise' && typeof id === 'string' && id in exercises && exercises[id] === null) exercises[id] = text(c);
  }
  return { notebook, cells, exercises, options: student };
}

async function runHarness(job: HarnessJob, options: TrustedScoreOptions): Promise<{ events: HarnessEvent[]; problem: string | null; startupMs: number | null }> {
  const started = process.hrtime.bigint();
  let startupMs: number | null = null;
  const root = path.resolve(options.root);
  const entry = path.join(root, 'grading', 'trusted-score', 'harness.ts');
  const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  const compiled = options.compiledLibrary !== undefined && fs.existsSync(path.join(options.compiledLibrary, 'manifest.json')) ? options.compiledLibrary : null;
  const argv = compiled !== null
    ? ['/usr/bin/node', '--max-old-space-size=2048', path.join(root, 'grading', 'trusted-score', 'harness-boot.js'), compiled]
    : ['/usr/bin/node', '--max-old-space-size=2048', '--import', tsx, entry];
  let buffer = '';
  const events: HarnessEvent[] = [];
  const take = (chunk: Buffer) => {
    buffer += chunk.toString();
    if (buffer.length > 64 * 1024 * 1024) buffer = buffer.slice(-1024 * 1024);
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const event = JSON.parse(line) as HarnessEvent;
        if (startupMs === null && event.type === 'cell-start') startupMs = Number(process.hrtime.bigint() - started) / 1e6;
        events.push(event);
      } catch {
        // not an event: ignored
      }
    }
  };
  const stdin = JSON.stringify(job);
  if (options.sandbox === false) {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: root, stdio: ['pipe', 'ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' } });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      (child.stdio[3] as NodeJS.ReadableStream).on('data', take);
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(stdin);
      const wall = options.limits?.wallSeconds ?? 900;
      const timer = setTimeout(() => child.kill('SIGKILL'), wall * 1000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ events, startupMs, problem: code === 0 ? null : `the harness ended with ${signal ?? `exit ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' ')}` });
      });
    });
  }
  const r = await runSandboxed({
    argv, root,
    allow: ['lib', 'grading', 'node_modules', 'package.json', 'tsconfig.json', 'jupyter/kernels/raftlab/lib-cache.js'],
    privateAt: path.join(root, 'out'),
    files: { '.home/.keep': '' },
    cwd: root,
    env: { PATH: '/usr/bin:/bin', HOME: path.join(root, 'out', '.home'), LANG: 'C.UTF-8', TMPDIR: '/tmp' },
    stdin,
    onFd3: take,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const problem = r.verdict ?? (r.end.kind === 'exit' && r.end.code !== 0 ? `the harness exited with ${r.end.code}: ${r.stderr.trim().split("\n").slice(-12).join(" | ")}` : null);
  return { events, problem, startupMs };
}

function validResult(r: unknown): r is TaskResult {
  if (typeof r !== 'object' || r === null) return false;
  const checks = (r as TaskResult).checks;
  return Array.isArray(checks) && checks.every((c) => typeof c === 'object' && c !== null && typeof c.id === 'string' && typeof c.points === 'number' && typeof c.max === 'number'
    && Number.isFinite(c.points) && Number.isFinite(c.max) && c.max >= 0 && c.points >= 0 && c.points <= c.max && typeof c.passed === 'boolean' && typeof c.message === 'string');
}

/** Score one notebook: one check per autograder cell of the reference. */
export async function trustedScore(name: string, reference: readonly CodeCell[], submission: readonly CodeCell[], options: TrustedScoreOptions): Promise<TrustedScore> {
  const student = { ...defaultStudentOptions, ...options.student };
  const job = harnessJob(name, reference, submission, student);
  const { events, problem: runProblem, startupMs } = await runHarness(job, options);
  const done = events.some((e) => e.type === 'done');
  const fatal = events.find((e): e is Extract<HarnessEvent, { type: 'fatal' }> => e.type === 'fatal');
  const problem = fatal ? `the harness failed: ${fatal.error}` : runProblem ?? (done ? null : 'the harness stopped before the end');
  const base = name.replace(/\.ipynb$/, '');
  const exercises = events.filter((e): e is Extract<HarnessEvent, { type: 'exercise' }> => e.type === 'exercise').map((e) => ({ id: String(e.id), status: String(e.status), message: String(e.message) }));
  const notes = exercises.filter((e) => e.status !== 'ok').map((e) => e.message);
  const checks: Check[] = [];
  for (const cell of reference) {
    const meta = cell.metadata.raftlab;
    if (cell.cell_type !== 'code' || meta?.role !== 'autograder' || typeof meta.id !== 'string') continue;
    const max = typeof meta.points === 'number' && meta.points > 0 ? meta.points : 0;
    const results = events.filter((e): e is Extract<HarnessEvent, { type: 'result' }> => e.type === 'result' && e.cell === meta.id).map((e) => e.result).filter(validResult);
    const end = events.find((e): e is Extract<HarnessEvent, { type: 'cell-end' }> => e.type === 'cell-end' && e.id === meta.id);
    const got = results.reduce((s, r) => s + r.checks.reduce((a, c) => a + c.points, 0), 0);
    const of = results.reduce((s, r) => s + r.checks.reduce((a, c) => a + c.max, 0), 0);
    const points = of > 0 ? Math.max(0, Math.min(max, Math.floor(((got / of) * max) * 2) / 2)) : 0;
    const lines: string[] = [];
    for (const [i, r] of results.entries()) {
      const title = events.filter((e): e is Extract<HarnessEvent, { type: 'result' }> => e.type === 'result' && e.cell === meta.id)[i]?.title;
      lines.push(formatChecklist(r, typeof title === 'string' ? `Autograder: ${title}` : undefined));
    }
    if (end === undefined) lines.push(`not run${problem ? `: ${problem}` : ''}`);
    else if (end.status === 'error' && results.length === 0) lines.push(`the cell failed before any check ran: ${end.error}`);
    if (points < max && notes.length > 0) lines.push(...notes);
    checks.push({
      id: `${base}/${meta.id}`,
      points,
      max,
      passed: end !== undefined && results.length > 0 && points === max && results.every((r) => r.checks.every((c) => c.passed)),
      message: lines.join('\n').trim(),
    });
  }
  return { checks, problem, exercises, startupMs };
}
