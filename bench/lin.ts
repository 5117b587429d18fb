/**
 * Linearizability suite: how fast the checker (lib/check/linearizability.ts) decides histories recorded by
 * the key/value workload over the simulated cluster under faults (lib/check/kv-workload.ts).
 */
import { performance } from 'node:perf_hooks';
import { runKvWorkload } from '../lib/check/kv-workload';
import { checkLinearizability, type KvOperation } from '../lib/check/linearizability';
import type { Metric } from './metrics';

export async function runLin(options: { readonly log: (message: string) => void; readonly seeds?: number }): Promise<Metric[]> {
  const seeds = options.seeds ?? 100;
  const histories: KvOperation[][] = [];
  let workloadWallMs = 0;
  let workloadOps = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const t0 = performance.now();
    // Few keys and many clients make a hard history: many overlapping operations on each key.
    const run = await runKvWorkload({ seed, nodes: 5, clients: 8, keys: 2, faults: ['partitions', 'crashes', 'unreliable'] });
    workloadWallMs += performance.now() - t0;
    workloadOps += run.history.length;
    histories.push(run.history);
  }
  options.log(`${seeds} workload histories, ${workloadOps} operations`);
  let checkMs = 0;
  let steps = 0;
  let notOk = 0;
  for (const h of histories) {
    const t0 = performance.now();
    const r = checkLinearizability(h);
    checkMs += performance.now() - t0;
    steps += r.steps;
    if (r.result !== 'ok') notOk++;
  }
  options.log(`checked in ${checkMs.toFixed(0)} ms (${notOk} histories not ok)`);
  return [
    { metric: 'lin.check_ops_per_s', value: workloadOps / (checkMs / 1000), unit: 'ops/s' },
    { metric: 'lin.check_steps_per_s', value: steps / (checkMs / 1000), unit: 'steps/s' },
    { metric: 'lin.workload_ops_per_s', value: workloadOps / (workloadWallMs / 1000), unit: 'ops/s' },
    { metric: 'lin.histories_not_linearizable', value: notOk, unit: 'histories' },
  ];
}
