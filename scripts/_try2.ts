import { generateHistory } from '../lib/check/linearizability/generate';
import { checkHistory } from '../lib/check/linearizability/check';
import { modelFromSpec } from '../lib/check/models/index';
const model = (process.env.M ?? 'kv') as 'kv';
const g = generateHistory({ seed: Number(process.env.S ?? 1), model, clients: 50, keys: 10, operations: 10000, unknownRatio: Number(process.env.U ?? 0), violation: process.env.V as any, maxDuration: Number(process.env.D ?? 20) });
const t0 = performance.now();
const r = checkHistory(g.history, modelFromSpec({ name: model }), { explain: false, maxSteps: Number(process.env.B ?? 1_000_000) });
console.log(r.result, r.steps, (performance.now() - t0).toFixed(1), 'ms', g.violation);
console.log(r.parts.map((p) => `${p.key}:${p.status}:${p.steps}`).join(' '));
