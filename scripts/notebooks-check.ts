/**
 * npm run notebooks:check [-- --timeout S] [--jobs N] [NAME ...]
 *
 * Executes every notebook headless with the real kernel (Jupyter's nbclient and the repository's tslab kernel):
 * - the solution versions (notebooks/solution/) must run green from top to bottom;
 * - the student versions (notebooks/) may fail only in autograder cells that show the checklist (a "[ ]" line,
 *   what was found and what to fix), and every autograder cell that grades an exercise must fail there
 *   (otherwise its checks pass without a solution: a check that cannot fail).
 * Executed copies go to out/notebooks/. Prints one line per notebook and the total time.
 */
import { precompileKernelLibrary } from '../grading/kernel-library';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { aptCommand, jupyterEnv, kernelProblem, missingJupyter, repoRoot, systemPython } from '../grading/jupyter';
import { judge, type RunReport, type Version } from './course/judge';
import { layout, notebookName } from './course/notebook-format';

interface Job {
  readonly version: Version;
  readonly file: string;
}

const runner = path.join(__dirname, 'course', 'notebook_run.py');

function execute(job: Job, timeoutS: number): Promise<RunReport> {
  const outDir = path.join(repoRoot, 'out', 'notebooks', job.version);
  fs.mkdirSync(outDir, { recursive: true });
  const output = path.join(outDir, path.basename(job.file));
  return new Promise((resolve, reject) => {
    const child = spawn(systemPython, [runner, job.file, output, repoRoot, String(timeoutS)], { env: { ...jupyterEnv(), RAFTLAB_KERNEL_WATCH: '0' }, cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(stdout) as RunReport);
      } catch {
        reject(new Error(`${path.relative(repoRoot, job.file)}: the runner exited with ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`));
      }
    });
  });
}

async function pool<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

async function main(): Promise<void> {
  const opts = new Command('notebooks:check')
    .description('Execute every notebook headless with the Raft Lab kernel')
    .option('--timeout <s>', 'per-cell timeout in seconds', '60')
    .option('--jobs <n>', 'notebooks run at once', String(Math.max(2, Math.min(4, os.cpus().length))))
    .argument('[names...]', 'only these notebooks (e.g. 01-leader-election)')
    .parse();
  const { timeout, jobs } = opts.opts<{ timeout: string; jobs: string }>();
  const only = opts.args;

  const missing = missingJupyter({ server: false });
  if (missing.length > 0) {
    for (const m of missing) console.error(`notebooks:check: missing ${m.what}. Install it with:\n  sudo ${aptCommand(m.packages)}`);
    process.exit(2);
  }
  const kernel = kernelProblem();
  if (kernel) {
    console.error(`notebooks:check: ${kernel}`);
    process.exit(2);
  }

  const list = (dir: string) =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => notebookName.test(f)).filter((f) => only.length === 0 || only.some((o) => f.startsWith(o))).sort() : [];
  const jobsList: Job[] = [
    ...list(path.join(repoRoot, layout.solution)).map((f) => ({ version: 'solution' as const, file: path.join(repoRoot, layout.solution, f) })),
    ...list(path.join(repoRoot, layout.student)).map((f) => ({ version: 'student' as const, file: path.join(repoRoot, layout.student, f) })),
  ];
  if (jobsList.length === 0) {
    console.error('notebooks:check: no notebooks found (run "npm run release" first)');
    process.exit(1);
  }
  await precompileKernelLibrary(); // every kernel starts from the compiled library, none compiles lib/ itself
  const start = performance.now();
  let failed = 0;
  await pool(jobsList, Number(jobs), async (job) => {
    const report = await execute(job, Number(timeout)).catch((error: Error) => ({ notebook: job.file, wall: 0, problem: error.message, cells: [] }) as RunReport);
    const problems = judge(job.version, report);
    const cellsFailed = report.cells.filter((c) => c.status !== 'ok').length;
    const name = path.relative(repoRoot, job.file);
    const verdict = problems.length === 0 ? 'PASS' : 'FAIL';
    if (problems.length > 0) failed++;
    const detail = job.version === 'student' ? `${cellsFailed} autograder cell(s) failing as expected` : `${cellsFailed} failed`;
    console.log(`${verdict} ${name.padEnd(44)} ${String(report.cells.length).padStart(3)} code cells, ${problems.length === 0 ? detail : `${problems.length} problem(s)`}, ${report.wall.toFixed(1)} s`);
    for (const p of problems) console.log(`    - ${p}`);
  });
  const total = (performance.now() - start) / 1000;
  console.log(`notebooks: ${jobsList.length - failed} passed, ${failed} failed in ${total.toFixed(1)} s (goal: <= 60 s)`);
  if (failed > 0) process.exitCode = 1;
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
