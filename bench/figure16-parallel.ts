/**
 * The Figure 16 sweep spread over worker threads (one per core), for the benchmark: every trial is its own
 * seeded cluster, so the result is the same trial for trial as runFigure16's, whatever the number of threads.
 * The slow ranges (150-150 elects nobody for 100 virtual seconds per trial) are cut into chunks of trials so
 * the threads finish together.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import {
  paperLatency, paperRanges, rangeLabel, runTrial, trialsFor, type Figure16Options, type Figure16Result, type RangeResult, type TimeoutRange,
  type TrialResult,
} from '../lib/course/figure16';

/** What one worker is asked: trials [from, from + count) of one range. Options must be plain data. */
interface Chunk {
  readonly range: TimeoutRange;
  readonly from: number;
  readonly count: number;
  readonly options: Omit<Figure16Options, 'onRange' | 'ranges'>;
}

interface ChunkResult {
  readonly trials: TrialResult[];
  readonly wallMs: number;
}

function runChunk(chunk: Chunk): ChunkResult {
  const start = performance.now();
  const seed = chunk.options.seed ?? 1;
  const trials: TrialResult[] = [];
  for (let i = chunk.from; i < chunk.from + chunk.count; i++) trials.push(runTrial(chunk.range, seed + i, chunk.options));
  return { trials, wallMs: performance.now() - start };
}

function startWorker(): Worker {
  const entry = __filename;
  const loader = entry.endsWith('.ts') ? `require(${JSON.stringify(require.resolve('tsx/cjs'))});` : '';
  return new Worker(`${loader}require(${JSON.stringify(entry)});`, { eval: true });
}

export interface ParallelFigure16Options extends Figure16Options {
  /** Default: one per core. */
  readonly workers?: number;
  /** Trials per chunk handed to a worker. Default 50. */
  readonly chunk?: number;
}

/** runFigure16 on worker threads. `wallMs` of a range is the time its chunks took, summed over the threads. */
export async function runFigure16Parallel(options: ParallelFigure16Options = {}): Promise<Figure16Result> {
  const ranges = options.ranges ?? paperRanges;
  const counts = ranges.map((range) => trialsFor(range, options.trials));
  const chunkSize = options.chunk ?? 50;
  const { onRange, ranges: _ranges, workers: _workers, chunk: _chunk, ...plain } = options;
  const chunks: (Chunk & { readonly rangeIndex: number })[] = [];
  ranges.forEach((range, rangeIndex) => {
    const trials = counts[rangeIndex]!;
    for (let from = 0; from < trials; from += chunkSize) {
      chunks.push({ rangeIndex, range, from, count: Math.min(chunkSize, trials - from), options: plain });
    }
  });
  const perRange = counts.map((trials) => ({ trials: new Array<TrialResult>(trials), wallMs: 0, left: Math.ceil(trials / chunkSize) }));
  const results: (RangeResult | undefined)[] = ranges.map(() => undefined);
  let reported = 0;
  const report = (): void => {
    // Ranges are reported in order, each once all its chunks are back.
    while (reported < ranges.length && perRange[reported]!.left === 0) {
      const r = perRange[reported]!;
      const range = ranges[reported]!;
      const result: RangeResult = {
        range,
        label: rangeLabel(range),
        heartbeatInterval: range.min / 2,
        trials: r.trials,
        samples: r.trials.map((t) => t.downtimeMs),
        capped: r.trials.filter((t) => t.capped).length,
        wallMs: r.wallMs,
      };
      results[reported] = result;
      onRange?.(result);
      reported++;
    }
  };

  const start = performance.now();
  const count = Math.max(1, Math.min(options.workers ?? availableParallelism(), chunks.length));
  const pool = Array.from({ length: count }, startWorker);
  let next = 0;
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let current: (typeof chunks)[number] | undefined;
            const feed = (): void => {
              current = chunks[next++];
              if (current === undefined) return resolve();
              const { rangeIndex: _i, ...chunk } = current;
              worker.postMessage(chunk);
            };
            worker.on('message', (reply: ChunkResult | { error: string }) => {
              if ('error' in reply) return reject(new Error(reply.error));
              const r = perRange[current!.rangeIndex]!;
              reply.trials.forEach((t, k) => (r.trials[current!.from + k] = t));
              r.wallMs += reply.wallMs;
              r.left--;
              report();
              feed();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (current !== undefined) reject(new Error(`figure16 worker exited with code ${code} in the middle of a chunk`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return {
    ranges: results as RangeResult[],
    wallMs: performance.now() - start,
    latency: options.latency ?? paperLatency,
    capMs: options.capMs ?? 100_000,
    trialsPerRange: options.trials ?? 1000,
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (chunk: Chunk) => {
    try {
      port.postMessage(runChunk(chunk));
    } catch (error) {
      port.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
}
