/**
 * A linearizability checker for key/value histories, after Wing & Gong (1993) with Lowe's memoization
 * (2017), as in Porcupine (Athalye, github.com/anishathalye/porcupine).
 *
 * A history is a list of operations, each with the virtual (or wall) time its client called it and the time
 * it returned. The history is linearizable if every operation can be given a point between its call and its
 * return so that, in the order of those points, each get returns what the last put (or the appends) left.
 * An operation without a return (timed out, outcome unknown) may take effect at any point after its call,
 * or never: it is never required, and a get without a return constrains nothing.
 *
 * Keys are independent (P-compositionality, Herlihy & Wing's locality): the history is linearizable iff the
 * sub-history of each key is, so each key is checked on its own. Within a key, a depth-first search tries to
 * linearize the earliest pending call; the cache remembers every (set of linearized operations, value) seen,
 * so no state is explored twice. Work is bounded: past `maxSteps` the answer is 'unknown', never a guess.
 */

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

export interface CheckOptions {
  /** Bound on search steps over the whole history (default 5,000,000). Past it, the result is 'unknown'. */
  readonly maxSteps?: number;
  /** Bound on wall time in ms (default none). Past it, the result is 'unknown'. Tests use maxSteps only. */
  readonly timeoutMs?: number;
  /** Shrink a failing key's history to a minimal non-linearizable subset (default true). */
  readonly explain?: boolean;
  /** Skip shrinking when a failing key has more operations than this (default 400). */
  readonly explainLimit?: number;
}

export interface KeyFailure {
  readonly key: string;
  /** The longest order the search managed to linearize, as indices into the original history. */
  readonly longestPrefix: readonly number[];
  /** A completed operation no extension of that prefix could place before its return. */
  readonly stuckAt: number | null;
  /** A 1-minimal non-linearizable subset of the key's operations (indices into the history), when shrunk. */
  readonly minimal: readonly number[] | null;
  /** Human-readable explanation. */
  readonly explanation: string;
}

export type CheckResult =
  | { readonly result: 'ok'; readonly keys: number; readonly operations: number; readonly steps: number }
  | { readonly result: 'illegal'; readonly failure: KeyFailure; readonly steps: number }
  | { readonly result: 'unknown'; readonly reason: string; readonly key: string; readonly steps: number };

/** The sequential model: a register holding a string (null: absent). */
function step(state: string | null, op: KvOperation): { ok: boolean; next: string | null } {
  switch (op.op) {
    case 'put':
      return { ok: true, next: op.value };
    case 'append':
      return { ok: true, next: (state ?? '') + (op.value ?? '') };
    case 'get':
      return { ok: state === op.value, next: state };
  }
}

export function describeOperation(op: KvOperation): string {
  const ret = op.return === undefined || op.return === null ? 'no return (unknown outcome)' : `returned ${fmt(op.return)}`;
  const what = op.op === 'get' ? `get(${op.key}) -> ${JSON.stringify(op.value)}` : `${op.op}(${op.key}, ${JSON.stringify(op.value)})`;
  return `client ${op.client}: ${what}, called ${fmt(op.call)}, ${ret}`;
}

function fmt(t: number): string {
  return Number.isInteger(t) ? `${t}` : t.toFixed(3);
}

function validate(history: readonly KvOperation[]): void {
  history.forEach((op, i) => {
    const where = `history[${i}]`;
    if (op.op !== 'put' && op.op !== 'get' && op.op !== 'append') throw new TypeError(`${where}.op must be put, get or append, got ${JSON.stringify(op.op)}`);
    if (typeof op.key !== 'string') throw new TypeError(`${where}.key must be a string`);
    if (op.value !== null && typeof op.value !== 'string') throw new TypeError(`${where}.value must be a string or null`);
    if (!Number.isFinite(op.call)) throw new TypeError(`${where}.call must be a finite number, got ${op.call}`);
    const r = op.return;
    if (r !== undefined && r !== null && (!Number.isFinite(r) || r < op.call)) {
      throw new RangeError(`${where}.return (${r}) must be a finite number not before its call (${op.call})`);
    }
  });
}

interface Budget {
  steps: number;
  readonly maxSteps: number;
  readonly deadline: number;
}

type KeyOutcome =
  | { kind: 'ok' }
  | { kind: 'illegal'; longestPrefix: number[]; stuckAt: number | null }
  | { kind: 'unknown'; reason: string };

/** Doubly-linked list node of call/return events (Porcupine's entry list). */
interface Entry {
  /** Position in the key's op list. */
  readonly op: number;
  readonly isCall: boolean;
  /** For a call: its return entry (null when the op never returned). */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/** Check one key's operations (indices into `ops`). */
function checkKey(ops: readonly KvOperation[], budget: Budget): KeyOutcome {
  // Gets that never returned say nothing. A put that never returned and whose value no get read can be left
  // out too: wherever it took effect, the next operation on the key would have to be another write (no read
  // saw its value), so leaving it out changes nothing; this prunes most timed-out writes from the search.
  const read = new Set(ops.filter((op) => op.op === 'get' && op.return !== undefined && op.return !== null).map((op) => op.value));
  const live = ops.filter((op) => {
    const unknown = op.return === undefined || op.return === null;
    if (!unknown) return true;
    return op.op === 'append' || (op.op === 'put' && read.has(op.value));
  });
  const n = live.length;
  if (n === 0) return { kind: 'ok' };
  interface Ev { t: number; isCall: boolean; op: number }
  const events: Ev[] = [];
  live.forEach((op, i) => {
    events.push({ t: op.call, isCall: true, op: i });
    if (op.return !== undefined && op.return !== null) events.push({ t: op.return, isCall: false, op: i });
  });
  // Calls before returns at the same instant: operations that touch are concurrent (Porcupine's choice).
  events.sort((a, b) => a.t - b.t || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, match: null, prev: null, next: null };
  let last = head;
  const callOf: Entry[] = [];
  const returnOf: (Entry | undefined)[] = [];
  for (const ev of events) {
    const e: Entry = { op: ev.op, isCall: ev.isCall, match: null, prev: last, next: null };
    last.next = e;
    last = e;
    if (ev.isCall) callOf[ev.op] = e;
    else returnOf[ev.op] = e;
  }
  for (let i = 0; i < n; i++) callOf[i]!.match = returnOf[i] ?? null;
  let required = live.filter((op) => op.return !== undefined && op.return !== null).length;

  const lift = (call: Entry) => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match;
    if (ret) {
      ret.prev!.next = ret.next;
      if (ret.next) ret.next.prev = ret.prev;
    }
  };
  const unlift = (call: Entry) => {
    const ret = call.match;
    if (ret) {
      ret.prev!.next = ret;
      if (ret.next) ret.next.prev = ret;
    }
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  const words = Math.ceil(n / 32);
  const linearized = new Uint32Array(words);
  const cache = new Set<string>();
  const cacheKey = (state: string | null) => {
    let s = '';
    for (let w = 0; w < words; w++) s += linearized[w]!.toString(36) + ',';
    return s + (state === null ? '\u0000' : 'v' + state);
  };
  const stack: { call: Entry; state: string | null }[] = [];
  let state: string | null = null;
  let entry: Entry | null = head.next;
  let longest: number[] = [];
  let stuckAt: number | null = null;

  while (required > 0) {
    if (++budget.steps > budget.maxSteps) return { kind: 'unknown', reason: `search exceeded ${budget.maxSteps} steps` };
    if ((budget.steps & 0xfff) === 0 && Date.now() > budget.deadline) return { kind: 'unknown', reason: 'search exceeded its time limit' };
    if (entry === null) {
      // Only unknown-outcome calls are left ahead; every required op is linearized (cannot happen while required > 0).
      break;
    }
    if (entry.isCall) {
      const op = live[entry.op]!;
      const r = step(state, op);
      if (r.ok) {
        linearized[entry.op >> 5]! |= 1 << (entry.op & 31);
        const key = cacheKey(r.next);
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = r.next;
          if (entry.match) required--;
          lift(entry);
          if (stack.length > longest.length) longest = stack.map((s) => s.call.op);
          entry = head.next;
          continue;
        }
        linearized[entry.op >> 5]! &= ~(1 << (entry.op & 31));
      }
      entry = entry.next;
      continue;
    }
    // A return whose operation could not be placed before it: undo the last choice.
    if (stack.length >= longest.length) stuckAt = entry.op;
    const top = stack.pop();
    if (!top) {
      return { kind: 'illegal', longestPrefix: longest.map((i) => indexOf(ops, live[i]!)), stuckAt: stuckAt === null ? null : indexOf(ops, live[stuckAt]!) };
    }
    state = top.state;
    linearized[top.call.op >> 5]! &= ~(1 << (top.call.op & 31));
    if (top.call.match) required++;
    unlift(top.call);
    entry = top.call.next;
  }
  return { kind: 'ok' };
}

function indexOf(ops: readonly KvOperation[], op: KvOperation): number {
  return ops.indexOf(op);
}

/** Check a whole history, key by key. */
export function checkLinearizability(history: readonly KvOperation[], options: CheckOptions = {}): CheckResult {
  validate(history);
  const budget: Budget = {
    steps: 0,
    maxSteps: options.maxSteps ?? 5_000_000,
    deadline: options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs,
  };
  const byKey = new Map<string, number[]>();
  history.forEach((op, i) => {
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(i);
  });
  for (const [key, indices] of byKey) {
    const ops = indices.map((i) => history[i]!);
    const outcome = checkKey(ops, budget);
    if (outcome.kind === 'unknown') return { result: 'unknown', reason: outcome.reason, key, steps: budget.steps };
    if (outcome.kind === 'illegal') {
      const toHistory = (i: number) => indices[i]!;
      const minimal = options.explain === false || ops.length > (options.explainLimit ?? 400) ? null : shrink(ops, budget);
      const failure: KeyFailure = {
        key,
        longestPrefix: outcome.longestPrefix.map(toHistory),
        stuckAt: outcome.stuckAt === null ? null : toHistory(outcome.stuckAt),
        minimal: minimal === null ? null : minimal.map(toHistory),
        explanation: explain(history, key, outcome.longestPrefix.map(toHistory), outcome.stuckAt === null ? null : toHistory(outcome.stuckAt), minimal?.map(toHistory) ?? null),
      };
      return { result: 'illegal', failure, steps: budget.steps };
    }
  }
  return { result: 'ok', keys: byKey.size, operations: history.length, steps: budget.steps };
}

/** Greedy delta debugging: drop operations one by one while the rest stays non-linearizable. */
function shrink(ops: readonly KvOperation[], budget: Budget): number[] | null {
  let keep = ops.map((_, i) => i);
  for (let i = keep.length - 1; i >= 0; i--) {
    const op = ops[keep[i]!]!;
    // Keep the write a kept read returned, so the explanation shows where the value came from.
    if (op.op !== 'get' && keep.some((k) => ops[k]!.op === 'get' && ops[k]!.value === op.value)) continue;
    const candidate = keep.filter((_, j) => j !== i);
    const sub: Budget = { steps: 0, maxSteps: Math.max(10_000, budget.maxSteps - budget.steps), deadline: budget.deadline };
    const outcome = checkKey(candidate.map((k) => ops[k]!), sub);
    budget.steps += sub.steps;
    if (outcome.kind === 'unknown') return null;
    if (outcome.kind === 'illegal') keep = candidate;
  }
  return keep;
}

function explain(history: readonly KvOperation[], key: string, prefix: readonly number[], stuckAt: number | null, minimal: readonly number[] | null): string {
  const lines = [`key ${JSON.stringify(key)} is not linearizable.`];
  if (minimal) {
    lines.push(`These ${minimal.length} operations alone cannot be put in any order consistent with their times:`);
    for (const i of minimal) lines.push(`  #${i} ${describeOperation(history[i]!)}`);
  }
  lines.push(`The longest linearizable order found has ${prefix.length} operations${prefix.length > 0 ? `, ending with #${prefix[prefix.length - 1]} ${describeOperation(history[prefix[prefix.length - 1]!]!)}` : ''}.`);
  if (stuckAt !== null) lines.push(`After it, #${stuckAt} ${describeOperation(history[stuckAt]!)} cannot take effect before it returns.`);
  return lines.join('\n');
}
