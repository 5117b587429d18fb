/**
 * The grader's throughput: a batch of zipped artifact submissions (the manual's example and the crafted
 * broken ones from datasets/, cycled) written to a temp folder, then graded as `npm run grade -- --batch` does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { gradeBatch, listBatch, notebookRunnerProblem } from '../grading';
import type { TaskResult } from '../grading/checks';
import { gradeNotebook, notebookSandboxProblem } from '../grading/notebook-grader';
import { defaultConcurrency, gradeClass } from '../grading/class-run';
import { precompileKernelLibrary } from '../grading/kernel-library';
import type { Metric } from './metrics';

function zipFolder(dir: string, prefix: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (name !== 'EXPECTED.json' && fs.statSync(full).isFile()) zip.addBuffer(fs.readFileSync(full), `${prefix}${name}`);
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/**
 * CPU seconds the whole machine has been busy (Linux /proc/stat: user, nice, system, irq, softirq, steal), else
 * NaN. Sandboxed processes live in a PID namespace of their own and are reaped there, so they never show up in
 * this process's children's times: the machine's busy time over a run, on an otherwise idle machine, is the
 * grading's real CPU cost (this process included).
 */
function machineBusyCpuS(): number {
  try {
    const first = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = first;
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100; // clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** The notebook a student hands in for the bench: the worked solution of 01 (every autograder cell passes). */
const BENCH_NOTEBOOK = '01-leader-election.ipynb';

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/**
 * Notebook grading, as `npm run grade -- --notebooks` does it (the trusted harness with the hidden tests, in the
 * notebook grader's sandbox): `single` notebooks one after the other (their median wall time, CPU and fixed
 * cost), beside the same notebook with the library run from its sources and with the optional kernel run; then a
 * batch of `batch` graded `concurrency` at once (default the number of cores).
 */
export async function runNotebookGrade(options: { readonly single?: number; readonly batch?: number; readonly log: (message: string) => void }): Promise<Metric[]> {
  const problem = notebookSandboxProblem();
  if (problem) {
    options.log(`notebook grading skipped: ${problem}`);
    return [];
  }
  await precompileKernelLibrary();
  const notebook = fs.readFileSync(path.join(__dirname, '..', 'notebooks', 'solution', BENCH_NOTEBOOK));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-grade-nb-'));
  const submission = (dir: string, id: string) => {
    fs.mkdirSync(path.join(dir, id), { recursive: true });
    fs.writeFileSync(path.join(dir, id, BENCH_NOTEBOOK), notebook);
    return path.join(dir, id);
  };
  const fullMarks = (results: readonly (TaskResult | undefined)[]) => {
    const short = results.filter((t) => t === undefined || t.max === 0 || t.score !== t.max);
    if (short.length > 0) options.log(`${short.length} of ${results.length} notebooks did not get full marks: ${JSON.stringify(short[0]?.checks.filter((c) => !c.passed).slice(0, 2))}`);
  };
  /** One notebook, sandboxed: its wall time, the machine's CPU time meanwhile, and the harness's fixed cost. */
  const one = async (label: string, extra: { kernelRun?: boolean } = {}) => {
    const dir = submission(path.join(tmp, label), 'S');
    const cpu = machineBusyCpuS();
    const start = process.hrtime.bigint();
    const r = await gradeNotebook(path.join(dir, BENCH_NOTEBOOK), { workDir: path.join(tmp, `work-${label}`), ...extra });
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuS = machineBusyCpuS() - cpu;
    fullMarks([r]);
    return { wall, cpuS, fixedS: r.startupMs === null ? Number.NaN : r.startupMs / 1000 };
  };
  try {
    const singles = [];
    for (let i = 0; i < (options.single ?? 5); i++) {
      singles.push(await one(`single-${i}`));
      const s = singles[singles.length - 1]!;
      options.log(`one notebook: ${s.wall.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s CPU (the machine's, while it ran), ${s.fixedS.toFixed(2)} s before its first cell`);
    }
    // The baseline: the same notebook with the harness running lib/ from its TypeScript sources (tsx), as before.
    process.env.RAFTLAB_PRECOMPILED = '0';
    let base: Awaited<ReturnType<typeof one>>;
    try {
      base = await one('single-base');
    } finally {
      delete process.env.RAFTLAB_PRECOMPILED;
    }
    options.log(`one notebook, library run from its sources: ${base.wall.toFixed(2)} s wall, ${base.cpuS.toFixed(2)} s CPU, ${base.fixedS.toFixed(2)} s before its first cell`);
    const kernel = notebookRunnerProblem() === null ? await one('single-kernel', { kernelRun: true }) : null;
    if (kernel) options.log(`one notebook with --kernel-run (also executed in its kernel, for feedback): ${kernel.wall.toFixed(2)} s wall, ${kernel.cpuS.toFixed(2)} s CPU`);
    const concurrency = defaultConcurrency();
    const count = options.batch ?? 8 * concurrency;
    const batchDir = path.join(tmp, 'batch');
    const sources = Array.from({ length: count }, (_, i) => submission(batchDir, `B${String(i).padStart(3, '0')}`));
    const out = path.join(tmp, 'out-batch');
    const start = process.hrtime.bigint();
    const result = await gradeClass(sources, { out, concurrency, notebooks: { workDir: path.join(out, 'work') } });
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    fullMarks(result.grades.map((g) => g.tasks.notebooks));
    options.log(`${count} notebooks, ${concurrency} at once: ${wall.toFixed(1)} s`);
    return [
      { metric: 'grade.notebook_s_p50', value: median(singles.map((s) => s.wall)), unit: 's' },
      // CPU time barely moves with the machine's load, unlike wall time: the figure to compare across runs.
      { metric: 'grade.notebook_cpu_s_p50', value: median(singles.map((s) => s.cpuS)), unit: 's' },
      { metric: 'grade.notebook_fixed_s_p50', value: median(singles.map((s) => s.fixedS)), unit: 's' },
      { metric: 'grade.notebook_library_from_sources_s', value: base.wall, unit: 's' },
      { metric: 'grade.notebook_library_from_sources_cpu_s', value: base.cpuS, unit: 's' },
      ...(kernel ? [
        { metric: 'grade.notebook_with_kernel_run_s', value: kernel.wall, unit: 's' },
        { metric: 'grade.notebook_with_kernel_run_cpu_s', value: kernel.cpuS, unit: 's' },
      ] : []),
      { metric: 'grade.notebooks_per_min', value: (count / wall) * 60, unit: 'notebooks/min' },
    ];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function runGrade(options: { readonly submissions?: number; readonly notebooks?: boolean; readonly log: (message: string) => void }): Promise<Metric[]> {
  const artifacts = await runArtifactGrade(options);
  return options.notebooks === false ? artifacts : [...artifacts, ...(await runNotebookGrade(options))];
}

async function runArtifactGrade(options: { readonly submissions?: number; readonly log: (message: string) => void }): Promise<Metric[]> {
  const count = options.submissions ?? 1000;
  const datasets = path.join(__dirname, '..', 'datasets', 'submissions');
  const sources = fs.readdirSync(datasets).sort().map((name) => {
    const dir = path.join(datasets, name);
    const inner = fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isDirectory());
    return inner.length === 1 ? path.join(dir, inner[0]!) : dir;
  });
  const zips = await Promise.all(sources.map((dir, i) => zipFolder(dir, i % 2 === 0 ? 'SRN/' : '')));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-grade-'));
  try {
    for (let i = 0; i < count; i++) fs.writeFileSync(path.join(tmp, `PES${String(i).padStart(10, '0')}.zip`), zips[i % zips.length]!);
    options.log(`grading ${count} zips (${zips.length} distinct submissions, cycled) in ${tmp}`);
    const batch = listBatch(tmp);
    const start = process.hrtime.bigint();
    const grades = await gradeBatch(batch);
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const errors = grades.filter((g) => g.error !== undefined).length;
    if (errors > 0) options.log(`${errors} submissions could not be read`);
    return [
      { metric: 'grade.submissions_per_s', value: count / wall, unit: 'submissions/s' },
      { metric: `grade.batch_${count}_wall_s`, value: wall, unit: 's' },
    ];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
