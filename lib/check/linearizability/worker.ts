/**
 * A worker thread of the parallel checker (parallel.ts). It receives parts of a history and a built-in model's
 * spec, decides the parts round-robin as the in-thread checker does, and posts each part's outcome as soon as it
 * is decided. The main thread terminates it once some part is illegal.
 */
import { parentPort } from 'node:worker_threads';
import { modelFromSpec, type ModelSpec } from '../models/index';
import type { Operation } from './model';
import { decideParts, PartCheck, type PartOutcome } from './part';

export interface WorkerJob {
  readonly spec: ModelSpec;
  readonly parts: readonly { readonly key: string; readonly indices: readonly number[]; readonly ops: readonly Operation[] }[];
  readonly maxSteps: number;
  readonly slice: number;
}

export type WorkerMessage = { readonly type: 'outcome'; readonly outcome: PartOutcome } | { readonly type: 'end' };

const port = parentPort;
if (port) {
  port.on('message', (job: WorkerJob) => {
    const model = modelFromSpec(job.spec);
    const checks = job.parts.map((p) => ({ part: p, check: new PartCheck(model, p.key, p.ops, p.ops.map((_, i) => i), job.maxSteps) }));
    const byCheck = new Map(checks.map((c) => [c.check.key, c.part.indices] as const));
    decideParts(checks.map((c) => c.check), job.slice, (o) => {
      const indices = byCheck.get(o.key)!;
      const outcome: PartOutcome = { ...o, longestPrefix: o.longestPrefix.map((i) => indices[i]!), stuckAt: o.stuckAt === null ? null : indices[o.stuckAt]! };
      port.postMessage({ type: 'outcome', outcome } satisfies WorkerMessage);
    });
    port.postMessage({ type: 'end' } satisfies WorkerMessage);
  });
}
