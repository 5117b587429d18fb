import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fuzzSeeds, type FailedSeed, type FuzzSummary, type SeedOptions } from './campaign';
import type { ScheduleOptions } from './schedule';
import { zooVariant } from './zoo';

/**
 * The same fuzz as fuzzSeeds, spread over worker threads in batches. Each seed is a self-contained
 * deterministic run, so the result does not depend on how many workers ran it.
 */

export interface BatchRequest {
  readonly from: number;
  readonly count: number;
  readonly schedule: ScheduleOptions;
  readonly variant?: string;
}

export interface BatchReply {
  readonly from: number;
  readonly count: number;
  readonly failed: FailedSeed[];
  readonly proposed: number;
  readonly acknowledged: number;
}

export function runBatch(request: BatchRequest): BatchReply {
  const options: SeedOptions = { ...request.schedule, ...(request.variant ? { variant: zooVariant(request.variant) } : {}) };
  const s = fuzzSeeds(request.from, request.count, options);
  return { from: request.from, count: request.count, failed: s.failed, proposed: s.proposed, acknowledged: s.acknowledged };
}

export function defaultWorkers(): number {
  return availableParallelism();
}

/** A worker thread that runs TypeScript through tsx (the project runs from source). */
function startWorker(): Worker {
  const entry = require.resolve('./worker');
  const loader = entry.endsWith('.ts') ? `require(${JSON.stringify(require.resolve('tsx/cjs'))});` : '';
  return new Worker(`${loader}require(${JSON.stringify(entry)});`, { eval: true });
}

export async function fuzzParallel(
  from: number,
  count: number,
  options: { readonly schedule: ScheduleOptions; readonly variant?: string; readonly workers?: number; readonly batch?: number },
  onProgress?: (done: number, failedSoFar: number) => void,
): Promise<FuzzSummary> {
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), Math.ceil(count / 50)));
  const batch = options.batch ?? 200;
  const failed: FailedSeed[] = [];
  let proposed = 0;
  let acknowledged = 0;
  let next = from;
  const end = from + count;
  let done = 0;
  const pool = Array.from({ length: workers }, startWorker);
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= end) return resolve();
              const n = Math.min(batch, end - next);
              const request: BatchRequest = {
                from: next,
                count: n,
                schedule: options.schedule,
                ...(options.variant ? { variant: options.variant } : {}),
              };
              next += n;
              worker.postMessage(request);
            };
            worker.on('message', (reply: BatchReply) => {
              failed.push(...reply.failed);
              proposed += reply.proposed;
              acknowledged += reply.acknowledged;
              done += reply.count;
              onProgress?.(done, failed.length);
              feed();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (next < end || done < count) reject(new Error(`fuzz worker exited with code ${code} before its batches were done`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  failed.sort((a, b) => a.seed - b.seed);
  return { from, seeds: count, failed, proposed, acknowledged };
}
