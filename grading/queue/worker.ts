import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { fingerprintFor, gradeContent } from '../class-run';
import type { SubmissionGrade } from '../grade';
import { precompileKernelLibrary } from '../kernel-library';
import { submissionKey } from '../results-store';
import { QUEUE_NAME, redisConnection } from './connection';
import { decodeFiles, jobTimeoutMs, type GradeJobData } from './job';

/**
 * A grading worker: takes jobs from the queue, grades their content (notebooks sandboxed by the notebook grader)
 * and returns the grade, which BullMQ stores as the job's result for the instructor's command.
 * A worker that dies holding a job stops renewing its lock; after `lockDurationMs` another worker's stalled-job
 * check puts the job back in the queue (at most `maxStalledCount` times), so it is graded by someone else.
 */
export interface GradeWorkerOptions {
  readonly queueUrl: string;
  readonly concurrency: number;
  /** Where notebooks are written and run; default a fresh folder under the system's temp folder. */
  readonly workDir?: string;
  /** How long a job's lock lasts without renewal (a live worker renews it every half of that). */
  readonly lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died. */
  readonly stalledIntervalMs?: number;
  /** Fault injection for tests: wait this long after taking a job before grading it. */
  readonly jobDelayMs?: number;
  readonly log?: (line: string) => void;
}

export interface RunningWorker {
  readonly worker: Worker<GradeJobData, SubmissionGrade>;
  close(): Promise<void>;
}

export async function startGradeWorker(options: GradeWorkerOptions): Promise<RunningWorker> {
  const log = options.log ?? (() => {});
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'raftlab-grade-worker-'));
  const fingerprints = new Map<string, string>();
  let kernelLibrary: Promise<string> | undefined;
  const fingerprintOf = (notebooks: GradeJobData['notebooks']) => {
    const k = JSON.stringify(notebooks);
    if (!fingerprints.has(k)) fingerprints.set(k, fingerprintFor(notebooks ? { notebooks: { ...notebooks, workDir } } : {}));
    return fingerprints.get(k)!;
  };

  const processor = async (job: Job<GradeJobData, SubmissionGrade>): Promise<SubmissionGrade> => {
    const data = job.data;
    log(`started ${job.id} ${data.submission} (attempt ${job.attemptsStarted})`);
    if (fingerprintOf(data.notebooks) !== data.fingerprint) {
      throw new UnrecoverableError(`the worker on ${os.hostname()} runs a different grader or library than the instructor's (update its checkout and run npm ci)`);
    }
    const files = decodeFiles(data.files);
    if (submissionKey(files, data.fingerprint) !== data.key) throw new UnrecoverableError('the job\'s files do not match its key (damaged in transit)');
    if (data.notebooks) await (kernelLibrary ??= precompileKernelLibrary());
    if (options.jobDelayMs) await new Promise((r) => setTimeout(r, options.jobDelayMs));
    const timeoutMs = jobTimeoutMs(data);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`grading took longer than ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    try {
      const notebooks = data.notebooks ? { ...data.notebooks, workDir } : undefined;
      return await Promise.race([gradeContent(data.submission, data.source, files, notebooks), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const worker = new Worker<GradeJobData, SubmissionGrade>(QUEUE_NAME, processor, {
    connection: redisConnection(options.queueUrl),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 15_000,
    maxStalledCount: 2,
  });
  worker.on('completed', (job) => log(`graded ${job.id} ${job.data.submission}`));
  worker.on('failed', (job, error) => log(`failed ${job?.id ?? '?'} ${job?.data.submission ?? ''}: ${error.message}`));
  worker.on('error', (error) => log(`queue error: ${error.message}`));
  await worker.waitUntilReady();
  log(`worker ready on ${QUEUE_NAME} (concurrency ${options.concurrency})`);
  return {
    worker,
    close: async () => {
      await worker.close();
    },
  };
}
