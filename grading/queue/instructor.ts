import { Job, Queue, QueueEvents } from 'bullmq';
import { errorGrade, fingerprintFor, openStore, prepareSubmission, type ClassOptions, type ClassProgress, type ClassResult } from '../class-run';
import { uniqueIds, type SubmissionGrade } from '../grade';
import { QUEUE_NAME, redisConnection } from './connection';
import { encodeFiles, jobIdFor, type GradeJobData } from './job';

/**
 * The instructor's side of the queue: every submission without an up-to-date stored result becomes one job
 * (its content, keyed like its result); then it waits until every job has completed or finally failed, storing
 * each grade as it arrives. Rerunning the command while workers still grade (or after the instructor's command
 * died) attaches to the same jobs instead of adding new ones.
 */

export interface QueueClassOptions extends ClassOptions {
  readonly queueUrl: string;
  /** Attempts per job before it counts as failed (a worker that dies holding it does not use one up). */
  readonly attempts?: number;
  /** Called when every job is in the queue, with how many were added. */
  readonly onEnqueued?: (jobs: number) => void;
  readonly onProgress?: (p: ClassProgress) => void;
  /** Redis is unreachable or answers with an error (the command keeps trying). */
  readonly onQueueError?: (message: string) => void;
}

interface Pending {
  readonly index: number;
  readonly id: string;
  readonly key: string;
  readonly source: string;
}

const KEEP_S = 7 * 24 * 3600;

export async function gradeClassOnQueue(sources: readonly string[], options: QueueClassOptions): Promise<ClassResult> {
  const connection = redisConnection(options.queueUrl);
  const store = openStore(options);
  const fingerprint = fingerprintFor(options);
  const ids = uniqueIds(sources);
  const grades: SubmissionGrade[] = new Array(sources.length);
  const queue = new Queue<GradeJobData, SubmissionGrade>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  let done = 0;
  let reused = 0;
  let graded = 0;
  let failures = 0;
  const pending = new Map<string, Pending>();
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  let enqueued = false;

  const record = (index: number, grade: SubmissionGrade, fromStore: boolean) => {
    grades[index] = grade;
    if (fromStore) reused++;
    if (grade.error !== undefined) failures++;
    options.onProgress?.({ total: sources.length, done: ++done, reused, failures, last: grade, lastReused: fromStore });
  };
  // Settle a job once, whichever of the event and the periodic check sees it first.
  const settle = async (jobId: string) => {
    const p = pending.get(jobId);
    if (!p) return;
    const job = await Job.fromId<GradeJobData, SubmissionGrade>(queue, jobId);
    const state = job ? await job.getState() : 'unknown';
    if (!pending.has(jobId)) return;
    if (state === 'completed' && job) {
      pending.delete(jobId);
      const grade: SubmissionGrade = { ...job.returnvalue, submission: p.id, source: p.source };
      if (grade.error === undefined) store.put(p.id, p.key, grade);
      graded++;
      record(p.index, grade, false);
    } else if (state === 'failed' || state === 'unknown') {
      pending.delete(jobId);
      const why = job ? `${job.failedReason} (after ${job.attemptsStarted} attempt${job.attemptsStarted === 1 ? '' : 's'})` : 'its job disappeared from the queue';
      record(p.index, { submission: p.id, source: p.source, tasks: {}, error: `grading failed on the queue: ${why}` }, false);
    }
    if (pending.size === 0 && enqueued) allDone();
  };
  const settleQuietly = (jobId: string) => void settle(jobId).catch(() => undefined);
  let lastError = '';
  const queueError = (error: Error) => {
    if (error.message !== lastError) options.onQueueError?.(error.message);
    lastError = error.message;
  };
  queue.on('error', queueError);
  events.on('error', queueError);
  events.on('completed', ({ jobId }) => settleQuietly(jobId));
  events.on('failed', ({ jobId }) => settleQuietly(jobId));
  events.on('removed', ({ jobId }) => settleQuietly(jobId));

  try {
    // Listen before adding, so that no completion is missed.
    await events.waitUntilReady();
    await queue.waitUntilReady();
    let added = 0;
    for (let i = 0; i < sources.length; i++) {
      const p = await prepareSubmission(sources[i]!, ids[i]!, fingerprint, options.limits);
      if (p.files === undefined || p.key === undefined) {
        record(i, errorGrade(p), false);
        continue;
      }
      const stored = store.get(p.id, p.key);
      if (stored) {
        record(i, { ...stored, source: p.source }, true);
        continue;
      }
      const jobId = jobIdFor(p.id, p.key);
      let existing = await queue.getJob(jobId);
      if (existing) {
        const state = await existing.getState();
        if (state === 'failed') await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        else if (options.fresh && state === 'completed') {
          await existing.remove();
          existing = undefined;
        }
      }
      pending.set(jobId, { index: i, id: p.id, key: p.key, source: p.source });
      if (!existing) {
        const data: GradeJobData = {
          submission: p.id,
          source: p.source,
          key: p.key,
          fingerprint,
          files: encodeFiles(p.files),
          notebooks: options.notebooks ? { cellTimeoutS: options.notebooks.cellTimeoutS, totalTimeoutS: options.notebooks.totalTimeoutS, ...(options.notebooks.kernelRun ? { kernelRun: true } : {}) } : null,
        };
        await queue.add('grade', data, {
          jobId,
          attempts: options.attempts ?? 3,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: KEEP_S },
          removeOnFail: { age: KEEP_S },
        });
        added++;
      } else {
        settleQuietly(jobId); // it may have finished already
      }
    }
    enqueued = true;
    options.onEnqueued?.(added);
    if (pending.size === 0) allDone();
    // A safety net under the events (a dropped connection loses events): look at what is still pending now and then.
    const sweep = setInterval(() => {
      for (const jobId of [...pending.keys()].slice(0, 200)) settleQuietly(jobId);
    }, 5000);
    try {
      await finished;
    } finally {
      clearInterval(sweep);
    }
    return { grades, reused, graded };
  } finally {
    await events.close();
    await queue.close();
  }
}
