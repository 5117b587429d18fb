/**
 * The grader's throughput: a batch of zipped artifact submissions (the manual's example and the crafted
 * broken ones from datasets/, cycled) written to a temp folder, then graded as `npm run grade -- --batch` does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { gradeBatch, listBatch, notebookRunnerProblem } from '../grading';
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

/**
 * Notebook grading, as `npm run grade -- --notebooks` does it (kernel, hidden tests, sandbox of the notebook
 * grader): `single` one-notebook submissions one after the other (their median wall time), then a batch of
 * `batch` graded `concurrency` at once (default the number of cores).
 */
export async function runNotebookGrade(options: { readonly single?: number; readonly batch?: number; readonly log: (message: string) => void }): Promise<Metric[]> {
  const problem = notebookRunnerProblem();
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
  const grade = async (sources: string[], out: string, concurrency: number, kernelRun = true) => {
    const start = process.hrtime.bigint();
    const result = await gradeClass(sources, { out, concurrency, notebooks: { workDir: path.join(out, 'work'), ...(kernelRun ? {} : { kernelRun: false }) } });
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const nb = result.grades.map((g) => g.tasks.notebooks);
    const full = nb.filter((t) => t !== undefined && t.max > 0 && t.score === t.max).length;
    if (full !== sources.length) options.log(`${sources.length - full} of ${sources.length} notebooks did not get full marks: ${JSON.stringify(nb.find((t) => !t || t.score !== t.max)?.checks.filter((c) => !c.passed).slice(0, 2))}`);
    return wall;
  };
  try {
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < (options.single ?? 3); i++) {
      const cpu = machineBusyCpuS();
      walls.push(await grade([submission(path.join(tmp, `single-${i}`), `S${i}`)], path.join(tmp, `out-single-${i}`), 1));
      cpus.push(machineBusyCpuS() - cpu);
      options.log(`one notebook: ${walls[walls.length - 1]!.toFixed(2)} s wall, ${cpus[cpus.length - 1]!.toFixed(2)} s CPU (the machine's, while it ran)`);
    }
    // The baseline: the same notebook with the kernel compiling lib/ from its sources, as before the cache.
    process.env.RAFTLAB_PRECOMPILED = '0';
    const baseCpu = machineBusyCpuS();
    let baseWall: number;
    try {
      baseWall = await grade([submission(path.join(tmp, 'single-base'), 'SB')], path.join(tmp, 'out-single-base'), 1);
    } finally {
      delete process.env.RAFTLAB_PRECOMPILED;
    }
    const baseCpuS = machineBusyCpuS() - baseCpu;
    options.log(`one notebook, library compiled from sources by the kernel: ${baseWall.toFixed(2)} s wall, ${baseCpuS.toFixed(2)} s CPU`);
    // Scores alone: the trusted harness without the feedback run of the notebook in its kernel (--no-kernel-run).
    const scoresOnly = await grade([submission(path.join(tmp, 'single-scores'), 'SS')], path.join(tmp, 'out-single-scores'), 1, false);
    options.log(`one notebook, scores only (--no-kernel-run): ${scoresOnly.toFixed(2)} s wall`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const concurrency = defaultConcurrency();
    const count = options.batch ?? 4 * concurrency;
    const batchDir = path.join(tmp, 'batch');
    const sources = Array.from({ length: count }, (_, i) => submission(batchDir, `B${String(i).padStart(3, '0')}`));
    const wall = await grade(sources, path.join(tmp, 'out-batch'), concurrency);
    options.log(`${count} notebooks, ${concurrency} at once: ${wall.toFixed(1)} s`);
    return [
      { metric: 'grade.notebook_s_p50', value: median(walls), unit: 's' },
      { metric: 'grade.notebook_scores_only_s', value: scoresOnly, unit: 's' },
      // CPU time barely moves with the machine's load, unlike wall time: the figure to compare across runs.
      { metric: 'grade.notebook_cpu_s_p50', value: median(cpus), unit: 's' },
      { metric: 'grade.notebook_cpu_s_library_from_sources', value: baseCpuS, unit: 's' },
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
