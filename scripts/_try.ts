import { generateHistory } from '../lib/check/linearizability/generate';
import { checkHistory } from '../lib/check/linearizability/check';
import { modelFromSpec } from '../lib/check/models/index';
for (const [model, v] of [['kv', undefined], ['kv', 'stale-read'], ['kv', 'lost-write'], ['kv', 'phantom-read'], ['register', undefined], ['register', 'stale-read'], ['register', 'wrong-cas'], ['set', undefined], ['set', 'lost-add']] as const) {
  for (const [clients, keys, operations] of [[5, 2, 200], [50, 10, 10000]]) {
    if (model === 'set' && operations > 2000) continue;
    const g = generateHistory({ seed: 1, model, clients, keys, operations, violation: v, unknownRatio: Number(process.env.U ?? 0.02) });
    const t0 = performance.now();
    const r = checkHistory(g.history, modelFromSpec({ name: model }), { explain: false, maxSteps: 1_000_000 });
    const t1 = performance.now();
    console.log(model, v ?? 'legal', clients, keys, operations, r.result, r.steps, (t1 - t0).toFixed(1), 'ms', r.result === 'illegal' ? r.failure.decidedBy : r.result === 'unknown' ? r.unknownKeys : '');
  }
}
