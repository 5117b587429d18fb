/**
 * Seeded histories for tests and benchmarks: concurrent clients against a simulated linearizable store, with
 * an optional injected violation.
 *
 * Each client runs one operation at a time. An operation is called at an integer time, takes effect at a
 * random point strictly inside its interval (its linearization point) and returns; with `unknownRatio`, it
 * never returns instead, and takes effect at its point or not at all. Outputs are computed by applying every
 * operation in linearization-point order, so the history is linearizable by construction.
 *
 * Violations change one or a few outputs after the fact, chosen so that the result is certainly not
 * linearizable (every written value is unique, so "this value" names one write):
 * - 'stale-read': a read returns the value of a write W0 although another write W1 was called after W0 returned
 *   and returned before the read was called (kv, register).
 * - 'lost-write': a read after a completed put returns the value from before that put (kv, register).
 * - 'phantom-read': a read returns a value nobody wrote (kv, register).
 * - 'wrong-cas': a cas whose new value a later read saw reports that it failed (register).
 * - 'lost-add': a read after a completed add misses its value (set).
 */
import { Rng } from '../../sim/rng';
import type { Operation } from './model';
import type { KvInput, KvOutput } from '../models/kv';
import type { RegisterInput, RegisterOutput, RegisterValue } from '../models/register';
import type { SetInput, SetOutput, SetValue } from '../models/set';

export type GeneratedModel = 'kv' | 'register' | 'set';
export type Violation = 'stale-read' | 'lost-write' | 'phantom-read' | 'wrong-cas' | 'lost-add';

export interface GenerateOptions {
  readonly seed: number;
  readonly model: GeneratedModel;
  readonly clients: number;
  readonly keys: number;
  readonly operations: number;
  /** Probability that an operation reads (default 0.5). */
  readonly readRatio?: number;
  /** Probability that an operation never returns (default 0.02). */
  readonly unknownRatio?: number;
  /** Longest operation, in time units (default 20). */
  readonly maxDuration?: number;
  readonly violation?: Violation;
}

export interface GeneratedHistory {
  readonly history: Operation[];
  /** The changed operation (history index) and what was done, when a violation was injected. */
  readonly violation: { readonly kind: Violation; readonly index: number; readonly description: string } | null;
}

interface Planned {
  client: number;
  key: string;
  input: KvInput | RegisterInput | SetInput;
  output?: KvOutput | RegisterOutput | SetOutput;
  call: number;
  ret: number | null;
  point: number;
  applied: boolean;
  /** The key's state just before this operation took effect (for violations). */
  before?: unknown;
}

export function generateHistory(options: GenerateOptions): GeneratedHistory {
  const rng = new Rng(options.seed * 2654435761 + 97);
  const readRatio = options.readRatio ?? 0.5;
  const unknownRatio = options.unknownRatio ?? 0.02;
  const maxDuration = options.maxDuration ?? 20;
  const keys = Array.from({ length: options.keys }, (_, i) => `${i}`);
  const clientTime = new Array<number>(options.clients).fill(0).map(() => rng.int(0, 5));
  // As in Jepsen, a client whose operation never returned carries on as a new process.
  const process = Array.from({ length: options.clients }, (_, i) => i);
  const planned: Planned[] = [];
  const recent = new Map<string, RegisterValue[]>();
  let unique = 0;
  for (let n = 0; n < options.operations; n++) {
    // The client that is free earliest goes next: every client stays busy, as in a closed-loop workload.
    let c = 0;
    for (let i = 1; i < options.clients; i++) if (clientTime[i]! < clientTime[c]!) c = i;
    const call = clientTime[c]!;
    const duration = rng.int(1, maxDuration);
    const unknown = rng.chance(unknownRatio);
    const key = rng.pick(keys);
    const isRead = rng.chance(readRatio);
    let input: Planned['input'];
    const id = ++unique;
    if (options.model === 'kv') {
      input = isRead ? { f: 'get', key } : rng.chance(0.5) ? { f: 'put', key, value: `v${id}.` } : { f: 'append', key, value: `x${id}y` };
    } else if (options.model === 'register') {
      if (isRead) input = { f: 'read', key };
      else if (rng.chance(0.5)) input = { f: 'write', key, value: id };
      else input = { f: 'cas', key, from: rng.pick(recent.get(key) ?? [null]), to: id };
    } else {
      input = isRead ? { f: 'read', key } : { f: 'add', key, value: id };
    }
    if (input.f === 'write' || input.f === 'cas') {
      const list = recent.get(key) ?? [];
      list.push(input.f === 'write' ? input.value : input.to);
      recent.set(key, list.slice(-4));
    }
    const point = call + rng.uniform(0.05, 0.95) * duration;
    planned.push({ client: process[c]!, key, input, call, ret: unknown ? null : call + duration, point, applied: !unknown || rng.chance(0.5) });
    clientTime[c] = call + duration + rng.int(1, 3);
    if (unknown) process[c]! += options.clients;
  }
  // Apply in linearization order.
  const state = new Map<string, unknown>();
  const initial = options.model === 'set' ? [] : null;
  for (const op of [...planned].sort((a, b) => a.point - b.point)) {
    if (!op.applied) continue;
    const s = state.has(op.key) ? state.get(op.key) : initial;
    op.before = s;
    const input = op.input;
    switch (input.f) {
      case 'put':
      case 'write':
        state.set(op.key, input.value);
        break;
      case 'append':
        state.set(op.key, ((s as string | null) ?? '') + input.value);
        break;
      case 'get':
        op.output = { value: s as string | null };
        break;
      case 'read':
        op.output = options.model === 'set' ? { value: [...(s as SetValue[])] } : { value: s as RegisterValue };
        break;
      case 'cas': {
        const ok = s === input.from;
        if (ok) state.set(op.key, input.to);
        op.output = { ok };
        break;
      }
      case 'add':
        state.set(op.key, [...(s as SetValue[]), input.value]);
        break;
    }
  }
  planned.sort((a, b) => a.call - b.call || a.client - b.client);
  const violation = options.violation ? inject(planned, options.violation, rng) : null;
  const history: Operation[] = planned.map((p) => ({
    client: p.client,
    input: p.input,
    ...(p.output !== undefined && p.ret !== null ? { output: p.output } : {}),
    call: p.call,
    return: p.ret,
  }));
  return { history, violation };
}

const isWrite = (p: Planned) => p.input.f === 'put' || p.input.f === 'write';
const isRead = (p: Planned) => p.input.f === 'get' || p.input.f === 'read';
const writtenValue = (p: Planned) => (p.input as { value: unknown }).value;

function inject(ops: Planned[], kind: Violation, rng: Rng): GeneratedHistory['violation'] {
  const done = (index: number, description: string) => ({ kind, index, description });
  const reads = rng.shuffle(ops.map((_, i) => i).filter((i) => isRead(ops[i]!) && ops[i]!.ret !== null && ops[i]!.output !== undefined));
  if (kind === 'phantom-read') {
    const r = ops[reads[0]!]!;
    r.output = { value: typeof writtenValue(ops.find(isWrite) ?? r) === 'number' ? -1 : 'ghost' } as KvOutput;
    return done(reads[0]!, 'a read returns a value nobody wrote');
  }
  const completedWrites = (key: string) => ops.filter((p) => p.key === key && isWrite(p) && p.ret !== null);
  for (const ri of reads) {
    const r = ops[ri]!;
    if (kind === 'stale-read' || kind === 'lost-write') {
      // W1: a completed write before the read; W0: a completed write before W1 (its value can never come back).
      const writes = completedWrites(r.key);
      const w1s = writes.filter((w) => (w.ret as number) < r.call);
      if (w1s.length === 0) continue;
      const w1 = kind === 'lost-write' ? w1s.reduce((a, b) => ((b.ret as number) > (a.ret as number) ? b : a)) : rng.pick(w1s);
      const w0s = writes.filter((w) => (w.ret as number) < w1.call && writtenValue(w) !== (r.output as { value: unknown }).value);
      if (w0s.length === 0) continue;
      const w0 = kind === 'lost-write' ? w0s.reduce((a, b) => ((b.ret as number) > (a.ret as number) ? b : a)) : rng.pick(w0s);
      r.output = { value: writtenValue(w0) } as KvOutput;
      return done(ri, `the read returns ${JSON.stringify(writtenValue(w0))}, overwritten by ${JSON.stringify(writtenValue(w1))} before the read was called`);
    }
    if (kind === 'wrong-cas') {
      const seen = (r.output as RegisterOutput).value;
      const ci = ops.findIndex((p) => p.key === r.key && p.input.f === 'cas' && p.input.to === seen && p.ret !== null && (p.ret as number) < r.call && (p.output as RegisterOutput).ok);
      if (ci < 0) continue;
      ops[ci]!.output = { ok: false };
      return done(ci, `the cas whose value a later read saw reports that it failed`);
    }
    if (kind === 'lost-add') {
      const seen = (r.output as SetOutput).value ?? [];
      const added = ops.filter((p) => p.key === r.key && p.input.f === 'add' && p.ret !== null && (p.ret as number) < r.call);
      if (added.length === 0) continue;
      const lost = writtenValue(rng.pick(added)) as SetValue;
      r.output = { value: seen.filter((v) => v !== lost) };
      return done(ri, `the read misses ${JSON.stringify(lost)}, added before the read was called`);
    }
  }
  throw new Error(`could not inject ${kind}: no suitable operations (try more operations or fewer keys)`);
}
