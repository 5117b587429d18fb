/**
 * Linearizability suite: how fast the checker (lib/check/linearizability.ts) decides
 * - the histories recorded by the key/value workload over the simulated cluster under faults
 *   (lib/check/kv-workload.ts), beside the checker this project had before (bench/baseline-linearizability.ts)
 *   on the same histories in the same run;
 * - a large generated history (10,000 operations, 50 clients, 10 keys; lib/check/linearizability/generate.ts),
 *   legal, and with one stale read (the "large illegal history"), and a register history with a wrong cas that
 *   only the search can decide.
 * Each figure is the median of a few runs after warm-up runs, so both checkers are measured compiled.
 */
import { performance } from 'node:perf_hooks';
import { runKvWorkload } from '../lib/check/kv-workload';
import { checkHistory } from '../lib/check/linearizability/check';
import { generateHistory } from '../lib/check/linearizability/generate';
import { checkHistoryParallel } from '../lib/check/linearizability/parallel';
import { checkLinearizability, type KvOperation } from '../lib/check/linearizability';
import { kvModel, registerModel } from '../lib/check/models/index';
import type { KvInput, KvOutput } from '../lib/check/models/kv';
import type { Operation } from '../lib/check/linearizability/model';
import { checkLinearizability as baselineCheck } from './baseline-linearizability';
import type { Metric } from './metrics';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed<T>(runs: number, f: () => T | Promise<T>, warmups = 1): Promise<{ ms: number; value: T }> {
  let value = await f();
  for (let i = 1; i < warmups; i++) value = await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = await f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), value };
}

const toKvOperation = (op: Operation): KvOperation => {
  const input = op.input as KvInput;
  return { client: op.client, op: input.f, key: input.key, value: input.f === 'get' ? ((op.output as KvOutput | undefined)?.value ?? null) : input.value, call: op.call, return: op.return ?? null };
};

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
  let steps = 0;
  let notOk = 0;
  const ours = await timed(7, () => {
    steps = 0;
    notOk = 0;
    for (const h of histories) {
      const r = checkLinearizability(h);
      steps += r.steps;
      if (r.result !== 'ok') notOk++;
    }
  }, 3);
  let baselineNotOk = 0;
  const baseline = await timed(7, () => {
    baselineNotOk = 0;
    for (const h of histories) if (baselineCheck(h).result !== 'ok') baselineNotOk++;
  }, 3);
  options.log(`workload: ${ours.ms.toFixed(1)} ms (${notOk} not ok), the previous checker ${baseline.ms.toFixed(1)} ms (${baselineNotOk} not ok)`);

  const large = generateHistory({ seed: 1, model: 'kv', clients: 50, keys: 10, operations: 10_000 }).history;
  const largeIllegal = generateHistory({ seed: 1, model: 'kv', clients: 50, keys: 10, operations: 10_000, violation: 'stale-read' }).history;
  const largeCas = generateHistory({ seed: 1, model: 'register', clients: 50, keys: 10, operations: 10_000, violation: 'wrong-cas' }).history;
  const kv = kvModel();
  const legalRun = await timed(3, () => checkHistory(large, kv, { explain: false }));
  const parallelRun = await timed(3, () => checkHistoryParallel(large, kv, { explain: false, parallel: true }));
  const illegalRun = await timed(5, () => checkHistory(largeIllegal, kv, { explain: false }));
  const explainRun = await timed(3, () => checkHistory(largeIllegal, kv));
  const casRun = await timed(3, () => checkHistory(largeCas, registerModel(), { explain: false }));
  const largeKv = large.map(toKvOperation);
  const baselineLarge = await timed(1, () => baselineCheck(largeKv));
  const baselineIllegal = await timed(1, () => baselineCheck(largeIllegal.map(toKvOperation)));
  options.log(
    `large (10,000 ops, 50 clients, 10 keys): legal ${legalRun.value.result} in ${legalRun.ms.toFixed(0)} ms (${parallelRun.value.result} in ${parallelRun.ms.toFixed(0)} ms on worker threads), ` +
      `stale read ${illegalRun.value.result} in ${illegalRun.ms.toFixed(1)} ms (${explainRun.ms.toFixed(0)} ms with the explanation), ` +
      `wrong cas ${casRun.value.result} in ${casRun.ms.toFixed(0)} ms; previous checker: legal ${baselineLarge.value.result} in ${baselineLarge.ms.toFixed(0)} ms, stale read ${baselineIllegal.value.result} in ${baselineIllegal.ms.toFixed(0)} ms`,
  );
  return [
    { metric: 'lin.check_ops_per_s', value: workloadOps / (ours.ms / 1000), unit: 'ops/s' },
    { metric: 'lin.baseline_check_ops_per_s', value: workloadOps / (baseline.ms / 1000), unit: 'ops/s' },
    { metric: 'lin.speedup_vs_baseline', value: baseline.ms / ours.ms, unit: 'x' },
    { metric: 'lin.check_steps_per_s', value: steps / (ours.ms / 1000), unit: 'steps/s' },
    { metric: 'lin.workload_ops_per_s', value: workloadOps / (workloadWallMs / 1000), unit: 'ops/s' },
    { metric: 'lin.histories_not_linearizable', value: notOk, unit: 'histories' },
    { metric: 'lin.large_check_ops_per_s', value: large.length / (legalRun.ms / 1000), unit: 'ops/s' },
    { metric: 'lin.large_parallel_check_ops_per_s', value: large.length / (parallelRun.ms / 1000), unit: 'ops/s' },
    { metric: 'lin.large_baseline_check_ops_per_s', value: baselineLarge.value.result === 'ok' ? large.length / (baselineLarge.ms / 1000) : 0, unit: 'ops/s' },
    { metric: 'lin.large_illegal_decide_ms', value: illegalRun.ms, unit: 'ms' },
    { metric: 'lin.large_illegal_explain_ms', value: explainRun.ms, unit: 'ms' },
    { metric: 'lin.large_illegal_search_decide_ms', value: casRun.ms, unit: 'ms' },
    { metric: 'lin.large_illegal_baseline_decided', value: baselineIllegal.value.result === 'illegal' ? 1 : 0, unit: 'bool' },
  ];
}
