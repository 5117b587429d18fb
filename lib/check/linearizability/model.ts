/**
 * What the linearizability checker checks against: a sequential specification, like Porcupine's Model.
 *
 * A history is a list of `Operation`s. Each has an input (what the client asked: `{f: 'write', value: 3}`), an
 * output (what it was told: `{ok: true}`), the time the client called it and the time it returned. An
 * operation with no return (`return` undefined or null: timed out, crashed, Jepsen's :info) may take effect at
 * any point after its call, or never; its output is then ignored (the model is stepped with `undefined`).
 *
 * A `Model` says, for one object:
 * - `init()`: the state before any operation.
 * - `step(state, input, output)`: the state after applying `input` to `state` when the client saw `output`, or
 *   `ILLEGAL` if that output is impossible from that state. `output` is undefined for an operation that never
 *   returned: accept it whenever the input can be applied. Never mutate `state`: return a new one.
 * - `equal(a, b)` and `hash(state)`: states equal under `equal` must hash the same (an int32). The search
 *   memoizes (set of linearized operations, state) pairs with them (Lowe's cache).
 * - `describeOperation(input, output)`: one line for explanations and pictures, e.g. `cas(1, 2) -> fail`.
 * - `partition(history)`: optional, splits the history into independent sub-histories, each checked on its own
 *   (P-compositionality: the whole is linearizable iff every part is). The key/value models split by key.
 * - `simplify(ops)` and `impossible(ops)`: optional cheap linear passes over one part, before the search.
 *   `simplify` drops operations that cannot change the verdict (e.g. a timed-out write nobody could have
 *   observed); `impossible` returns the index of an operation no order can explain (e.g. a read of a value
 *   nobody wrote before the read returned), or -1.
 * - `witness(read, write)`: optional, for explanations (see below).
 */

export interface Operation<I = unknown, O = unknown> {
  readonly client: string | number;
  readonly input: I;
  /** What the client was told; ignored when the operation never returned. */
  readonly output?: O;
  /** When the client called it. */
  readonly call: number;
  /** When it returned; undefined or null: unknown outcome (may take effect any time after `call`, or never). */
  readonly return?: number | null;
}

/** Returned by `Model.step` when the output is impossible from the state. */
export const ILLEGAL: unique symbol = Symbol('illegal');
export type Illegal = typeof ILLEGAL;

/** One independent sub-history: the operations (as indices into the whole history) of one key. */
export interface Part {
  readonly key: string;
  readonly indices: readonly number[];
}

export interface Model<S = unknown, I = unknown, O = unknown> {
  /** Short name, for messages and the CLI. */
  readonly name: string;
  /** For built-in models: how a worker thread builds the same model again (models/index.ts, modelFromSpec). */
  readonly spec?: { readonly name: string; readonly initial?: string | null };
  init(): S;
  step(state: S, input: I, output: O | undefined): S | Illegal;
  equal(a: S, b: S): boolean;
  hash(state: S): number;
  describeOperation(input: I, output: O | undefined): string;
  partition?(history: readonly Operation<I, O>[]): Part[];
  simplify?(ops: readonly Operation<I, O>[]): Operation<I, O>[];
  impossible?(ops: readonly Operation<I, O>[]): number;
  /**
   * Optional, for explanations: does `write` produce (part of) what `read` observed? The failing subset keeps
   * the writes its reads saw, so it says where a value came from (a stale read shows the old write).
   */
  witness?(read: Operation<I, O>, write: Operation<I, O>): boolean;
  /** Checks one input/output pair's shape; returns an error message naming the field, or null. */
  validate?(input: unknown, output: unknown): string | null;
}

export const returned = (op: Operation): boolean => op.return !== undefined && op.return !== null;

/** FNV-1a of a string, as an int32: a state hash for string-valued models. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** Groups operations by a key function: the usual `partition`. */
export function partitionBy<I, O>(history: readonly Operation<I, O>[], keyOf: (op: Operation<I, O>) => string): Part[] {
  const byKey = new Map<string, number[]>();
  history.forEach((op, i) => {
    const key = keyOf(op);
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(i);
  });
  return [...byKey].map(([key, indices]) => ({ key, indices }));
}
