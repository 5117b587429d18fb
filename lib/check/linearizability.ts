/**
 * A linearizability checker: Wing & Gong's search with Lowe's memoization (2017) as in Porcupine (Athalye,
 * github.com/anishathalye/porcupine), per key (P-compositionality), each key within its own step budget, with
 * cheap linear passes first and keys on worker threads for large histories.
 *
 * The pieces (lib/check/linearizability/): model.ts (the Model interface), search.ts (the search), part.ts (one
 * key: linear passes, then the search), check.ts (a whole history, explanations), parallel.ts (worker
 * threads), generate.ts (seeded histories, legal or with injected violations); the models are in
 * lib/check/models/, the history readers in lib/check/histories.ts, the picture in
 * lib/check/linearizability-picture.ts.
 *
 * This file keeps the key/value API the KV workload and the tests use (`KvOperation`, `checkLinearizability`)
 * and re-exports the rest.
 */
import { checkValidHistory, type CheckHistoryOptions, type LinearizabilityResult } from './linearizability/check';
import type { Operation } from './linearizability/model';
import { kvModel, type KvInput, type KvOutput } from './models/kv';

const KV = kvModel();

export * from './linearizability/model';
export { checkHistory, validateHistory, type CheckHistoryOptions, type LinearizabilityFailure, type LinearizabilityResult, type OperationView } from './linearizability/check';
export { checkHistoryParallel, type ParallelOptions } from './linearizability/parallel';
export type { PartOutcome, DecidedBy } from './linearizability/part';

export type KvOpKind = 'put' | 'get' | 'append';

export interface KvOperation {
  readonly client: string | number;
  readonly op: KvOpKind;
  readonly key: string;
  /** put/append: the value written. get: the value read (null: the key was absent). */
  readonly value: string | null;
  /** When the client called it. */
  readonly call: number;
  /** When it returned; undefined (or null) if it timed out: it may take effect at any time after `call`, or never. */
  readonly return?: number | null;
}

export type CheckOptions = CheckHistoryOptions;
export type CheckResult = LinearizabilityResult;
export type KeyFailure = import('./linearizability/check').LinearizabilityFailure;

export function describeOperation(op: KvOperation): string {
  const ret = op.return === undefined || op.return === null ? 'no return (unknown outcome)' : `returned ${op.return}`;
  const what = op.op === 'get' ? `get(${op.key}) -> ${JSON.stringify(op.value)}` : `${op.op}(${op.key}, ${JSON.stringify(op.value)})`;
  return `client ${op.client}: ${what}, called ${op.call}, ${ret}`;
}

function validateKv(history: readonly KvOperation[]): void {
  history.forEach((op, i) => {
    const where = `history[${i}]`;
    if (op.op !== 'put' && op.op !== 'get' && op.op !== 'append') throw new TypeError(`${where}.op must be put, get or append, got ${JSON.stringify(op.op)}`);
    if (typeof op.key !== 'string') throw new TypeError(`${where}.key must be a string`);
    if (op.value !== null && typeof op.value !== 'string') throw new TypeError(`${where}.value must be a string or null`);
    if (op.op !== 'get' && op.value === null) throw new TypeError(`${where}.value must be a string for ${op.op}`);
    if (typeof op.client !== 'string' && typeof op.client !== 'number') throw new TypeError(`${where}.client must be a string or a number`);
    if (!Number.isFinite(op.call)) throw new TypeError(`${where}.call must be a finite number, got ${String(op.call)}`);
    const r = op.return;
    if (r !== undefined && r !== null && (!Number.isFinite(r) || r < op.call)) {
      throw new RangeError(`${where}.return (${String(r)}) must be a finite number not before its call (${op.call})`);
    }
  });
}

/** A `KvOperation` as an operation of the kv model (same index in the history). */
export function fromKvOperation(op: KvOperation): Operation<KvInput, KvOutput> {
  const ret = op.return ?? null;
  if (op.op === 'get') return { client: op.client, input: { f: 'get', key: op.key }, output: { value: op.value }, call: op.call, return: ret };
  return { client: op.client, input: { f: op.op, key: op.key, value: op.value as string }, call: op.call, return: ret };
}

/** Checks a key/value history (put/get/append, absent keys read as null). */
export function checkLinearizability(history: readonly KvOperation[], options: CheckOptions = {}): CheckResult {
  validateKv(history);
  return checkValidHistory(history.map(fromKvOperation), KV, options);
}
