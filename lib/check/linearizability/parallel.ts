/**
 * The checker with keys on worker threads. The linear passes run here first (a plainly illegal key needs no
 * thread); the keys left for the search are spread over the workers (largest first, to the least loaded), each
 * worker decides its keys round-robin with the same per-key budget, and the first illegal key terminates every
 * worker. Only built-in models (those with a `spec`) can be rebuilt in a worker; other models run here.
 *
 * Starting a worker costs about 100-300 ms here (it loads TypeScript through tsx), so by default workers are
 * used only for large histories (`parallel: 'auto'`, at least `parallelThreshold` operations), and a worker that
 * finished its keys waits, unreferenced, for the next check.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { conclude, DEFAULTS, partsOf, validateHistory, type CheckHistoryOptions, type LinearizabilityResult } from './check';
import type { Model, Operation } from './model';
import { decideParts, PartCheck, type PartOutcome } from './part';
import type { WorkerJob, WorkerMessage } from './worker';
import type { ModelSpec } from '../models/index';

export interface ParallelOptions extends CheckHistoryOptions {
  /** true: always use workers (when at least one key needs a search); false: never; 'auto' (default): by size. */
  readonly parallel?: boolean | 'auto';
  /** 'auto' uses workers from this many operations (default 50,000). */
  readonly parallelThreshold?: number;
  /** Worker threads (default: the machine's available parallelism, at most the keys to search). */
  readonly threads?: number;
}

function startWorker(): Worker {
  const file = path.join(__dirname, `worker${path.extname(__filename)}`);
  if (path.extname(__filename) !== '.ts') return new Worker(file);
  // Worker threads do not inherit tsx's loader: register it inside the worker, then load the worker module.
  const tsx = require.resolve('tsx/cjs/api');
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(file)});`, { eval: true });
}

export async function checkHistoryParallel<S, I, O>(history: readonly Operation<I, O>[], model: Model<S, I, O>, options: ParallelOptions = {}): Promise<LinearizabilityResult> {
  validateHistory(history, model);
  const maxSteps = options.maxSteps ?? DEFAULTS.maxSteps;
  const slice = options.slice ?? DEFAULTS.slice;
  const parts = partsOf(history, model).map((p) => new PartCheck(model, p.key, history, p.indices, maxSteps));
  const outcomes: PartOutcome[] = [];
  const pending: PartCheck<S, I, O>[] = [];
  for (const p of parts) {
    if (p.prepare() === 'running') pending.push(p);
    else {
      outcomes.push(p.outcome());
      if (p.status === 'illegal') return conclude(history, model, parts.length, outcomes, options);
    }
  }
  const mode = options.parallel ?? 'auto';
  const wanted = mode === true || (mode === 'auto' && history.length >= (options.parallelThreshold ?? 50_000) && pending.length >= 2);
  const threads = Math.min(options.threads ?? os.availableParallelism(), pending.length);
  if (!wanted || threads < 1 || model.spec === undefined) {
    outcomes.push(...decideParts(pending, slice));
    return conclude(history, model, parts.length, outcomes, options);
  }
  outcomes.push(...(await decideOnWorkers(model.spec as ModelSpec, pending, threads, maxSteps, slice)));
  return conclude(history, model, parts.length, outcomes, options);
}

/** Idle workers from earlier checks, kept (unreferenced: they never keep the process alive) to skip the start. */
const idle: Worker[] = [];

function acquire(): Worker {
  const w = idle.pop() ?? startWorker();
  w.ref();
  return w;
}

function release(w: Worker, listeners: Listeners): void {
  w.off('message', listeners.message);
  w.off('error', listeners.error);
  w.off('exit', listeners.exit);
  w.unref();
  idle.push(w);
}

interface Listeners {
  message(m: WorkerMessage): void;
  error(err: Error): void;
  exit(code: number): void;
}

async function decideOnWorkers<S, I, O>(spec: ModelSpec, pending: readonly PartCheck<S, I, O>[], threads: number, maxSteps: number, slice: number): Promise<PartOutcome[]> {
  const loads = Array.from({ length: threads }, () => ({ size: 0, parts: [] as PartCheck<S, I, O>[] }));
  for (const p of [...pending].sort((a, b) => b.ops.length - a.ops.length)) {
    const least = loads.reduce((a, b) => (b.size < a.size ? b : a));
    least.size += p.ops.length;
    least.parts.push(p);
  }
  const busy = new Set<Worker>();
  const outcomes: PartOutcome[] = [];
  let settled = false;
  try {
    await new Promise<void>((resolve, reject) => {
      let running = loads.length;
      for (const load of loads) {
        const worker = acquire();
        busy.add(worker);
        const listeners: Listeners = {
          message: (m) => {
            if (settled) return; // an illegal key ended the check: this worker is being stopped
            if (m.type === 'outcome') {
              outcomes.push(m.outcome);
              if (m.outcome.status === 'illegal') {
                settled = true;
                resolve();
              }
              return;
            }
            busy.delete(worker);
            release(worker, listeners);
            if (--running === 0) resolve();
          },
          error: (err) => {
            settled = true;
            reject(err);
          },
          exit: (code) => {
            if (busy.has(worker) && outcomes.every((o) => o.status !== 'illegal')) reject(new Error(`a checker worker exited with code ${code}`));
          },
        };
        worker.on('message', listeners.message);
        worker.on('error', listeners.error);
        worker.on('exit', listeners.exit);
        const job: WorkerJob = { spec, maxSteps, slice, parts: load.parts.map((p) => ({ key: p.key, indices: p.indices, ops: p.ops })) };
        worker.postMessage(job);
      }
    });
  } finally {
    // Workers still busy (an illegal key ended the check, or one failed) are stopped; the others wait idle.
    await Promise.all([...busy].map((w) => w.terminate()));
  }
  return outcomes;
}
