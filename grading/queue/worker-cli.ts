/**
 * A grading worker, on any machine with this checkout:
 *   npm run grade-worker -- --queue redis://HOST:PORT [--concurrency N] [--kernel-memory MB] [--work DIR]
 * Grades the jobs `npm run grade -- --queue ...` enqueues until stopped (Ctrl+C finishes the jobs in hand first).
 */
import { Command, Option } from 'commander';
import { boundKernelMemory, defaultConcurrency } from '../class-run';
import { startGradeWorker } from './worker';
import { positiveInteger } from '../../lib/command-line';

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('grade-worker')
    .description('Grade submissions from the Raft Lab grading queue (BullMQ on Redis).')
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT')
    .option('--concurrency <n>', 'jobs graded at once (default: the number of cores)', positiveInteger)
    .option('--kernel-memory <mb>', 'heap limit of each notebook kernel, in MB', positiveInteger, 1024)
    .option('--work <dir>', 'where notebooks are run (default: a new folder in the temp folder)')
    .option('--lock-ms <ms>', 'how long a job stays locked to a silent worker before another takes it over', positiveInteger, 30_000)
    .addOption(new Option('--job-delay-ms <ms>', 'tests: wait after taking a job').argParser(positiveInteger).hideHelp())
    .showHelpAfterError();
  program.parse(argv as string[]);
  const opts = program.opts<{ queue: string; concurrency?: number; kernelMemory: number; work?: string; lockMs: number; jobDelayMs?: number }>();
  boundKernelMemory(opts.kernelMemory);
  const log = (line: string) => process.stderr.write(`grade-worker: ${line}\n`);
  const running = await startGradeWorker({
    queueUrl: opts.queue,
    concurrency: opts.concurrency ?? defaultConcurrency(),
    lockDurationMs: opts.lockMs,
    stalledIntervalMs: Math.max(500, Math.floor(opts.lockMs / 2)),
    ...(opts.work ? { workDir: opts.work } : {}),
    ...(opts.jobDelayMs ? { jobDelayMs: opts.jobDelayMs } : {}),
    log,
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      log('stopping after the jobs in hand');
      running.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

main(process.argv).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`grade-worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
