/**
 * The search for one independent part of a history: Wing & Gong's depth-first search with Lowe's memoization,
 * as in Porcupine's checkSingle.
 *
 * The calls and returns are one time-ordered doubly linked list. The search walks it from the front: at a call,
 * it tries to take that operation next (the model must accept it from the current state); a taken operation is
 * lifted out of the list and the walk restarts at the front. Reaching a return means the operation that returns
 * there could not be placed before its return: undo the last choice and try the next call after it. Every
 * (set of taken operations, state) pair is remembered, so no configuration is explored twice; the set is a
 * bitset and the pair is hashed by Zobrist hashing of the bitset (one random word per operation, xored in and
 * out in O(1)) mixed with the model's state hash.
 *
 * Operations with no return are optional: they have no return entry, so nothing forces them, and the search is
 * done once every returned operation is taken.
 *
 * The search is resumable: `run(n)` does at most n more steps, so a scheduler can interleave many parts and
 * give each its own budget.
 */
import { ILLEGAL as ILLEGAL_EXPORT, returned as returnedExport, type Model, type Operation } from './model';
const ILLEGAL: typeof ILLEGAL_EXPORT = ILLEGAL_EXPORT; // a local binding: an imported one is a getter call in the hot loop
const returned = returnedExport;

export type SearchStatus = 'ok' | 'illegal' | 'running';

let zobristCache: Int32Array = new Int32Array(0);

/** One random word per operation (the same words every time: deterministic hashing). */
function zobristWords(n: number): Int32Array {
  if (zobristCache.length < n) zobristCache = makeZobrist(Math.max(n, 2 * zobristCache.length, 1024));
  return zobristCache;
}

function makeZobrist(n: number): Int32Array {
  const words = new Int32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    words[i] = z ^ (z >>> 16);
  }
  return words;
}

/** Sorts indices 0..n-1 by key[i] (then by index): insertion sort, since histories come nearly sorted. */
function sortByKey(key: Float64Array, n: number): Int32Array {
  const out = new Int32Array(n);
  let shifts = 0;
  for (let i = 0; i < n; i++) {
    let j = i;
    const k = key[i]!;
    while (j > 0 && key[out[j - 1]!]! > k) {
      out[j] = out[j - 1]!;
      j--;
      if (++shifts > 32 * n + 1024) return Int32Array.from([...Array(n).keys()].sort((a, b) => key[a]! - key[b]! || a - b));
    }
    out[j] = i;
  }
  return out;
}

/**
 * The entries in time order, as codes (2 * op for its call, 2 * op + 1 for its return): calls by call time and
 * returns by return time, merged with calls first at equal times (operations that touch count as concurrent,
 * as in Porcupine).
 */
function entryOrder(ops: readonly Operation[]): number[] {
  const n = ops.length;
  const callKey = new Float64Array(n);
  const retKey = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    callKey[i] = op.call;
    retKey[i] = returned(op) ? (op.return as number) : Infinity;
  }
  const calls = sortByKey(callKey, n);
  const rets = sortByKey(retKey, n);
  const order: number[] = [];
  let a = 0;
  let b = 0;
  while (a < n || b < n) {
    if (b >= n || retKey[rets[b]!] === Infinity || (a < n && callKey[calls[a]!]! <= retKey[rets[b]!]!)) {
      if (a >= n) break;
      order.push(2 * calls[a++]!);
    } else {
      order.push(2 * rets[b++]! + 1);
    }
  }
  return order;
}

export class PartSearch<S, I, O> {
  steps = 0;
  status: SearchStatus = 'running';
  /** The longest order of operations the search managed to take (indices into `ops`). */
  longest: number[] = [];
  /** The operation whose return stopped the longest order (index into `ops`), once illegal. */
  stuckAt: number | null = null;

  private readonly model: Model<S, I, O>;
  private readonly ops: readonly Operation<I, O>[];
  // The entry list: entries 0..m-1, head sentinel at m. For entry e: opOf[e], isCall[e], match[e] (a call's
  // return entry or -1), next[e]/prev[e] (-1: none).
  private readonly opOf: Int32Array;
  private readonly isCall: Uint8Array;
  private readonly match: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly head: number;
  private readonly zobrist: Int32Array;
  private readonly bits: Uint32Array;
  private readonly words: number;
  private pool: Uint32Array;
  private hashes = new Int32Array(64);
  private chain = new Int32Array(64);
  private readonly states: S[] = [];
  private table = new Int32Array(64).fill(-1);
  private mask = 63;
  private count = 0;
  private readonly stackEntry: number[] = [];
  private readonly stackState: S[] = [];
  private readonly stackForced: boolean[] = [];
  /** At a configuration just reached: look for a forced move before trying choices. */
  private scan = true;
  private state: S;
  private entry: number;
  private hash = 0;
  private required = 0;

  constructor(model: Model<S, I, O>, ops: readonly Operation<I, O>[]) {
    this.model = model;
    this.ops = ops;
    const n = ops.length;
    const order = entryOrder(ops);
    for (const op of ops) if (returned(op)) this.required++;
    const m = order.length;
    this.head = m;
    this.opOf = new Int32Array(m + 1);
    this.isCall = new Uint8Array(m + 1);
    this.match = new Int32Array(m + 1).fill(-1);
    this.next = new Int32Array(m + 1).fill(-1);
    this.prev = new Int32Array(m + 1).fill(-1);
    const callEntry = new Int32Array(n);
    let last = this.head;
    order.forEach((code, e) => {
      const op = code >> 1;
      this.opOf[e] = op;
      if ((code & 1) === 0) {
        this.isCall[e] = 1;
        callEntry[op] = e;
      } else {
        this.match[callEntry[op]!] = e;
      }
      this.next[last] = e;
      this.prev[e] = last;
      last = e;
    });
    this.zobrist = zobristWords(n);
    this.words = Math.ceil(n / 32) || 1;
    this.bits = new Uint32Array(this.words);
    this.pool = new Uint32Array(64 * this.words);
    this.state = model.init();
    this.entry = this.next[this.head]!;
    if (this.required === 0) this.status = 'ok';
  }

  /** Runs at most `maxSteps` more steps; returns the status afterwards. */
  run(maxSteps: number): SearchStatus {
    if (this.status !== 'running') return this.status;
    const { model, ops, opOf, isCall, match, next, prev, head, zobrist, bits, stackEntry, stackState, stackForced } = this;
    let { state, entry, hash, required, scan } = this;
    let budget = maxSteps;
    let status: SearchStatus = 'running';
    const take = (e: number, after: S, forced: boolean) => {
      const op = opOf[e]!;
      const ret = match[e]!;
      stackEntry.push(e);
      stackState.push(state);
      stackForced.push(forced);
      state = after;
      hash ^= zobrist[op]!;
      if (ret !== -1) required--;
      // Lift the call and its return out of the list.
      next[prev[e]!] = next[e]!;
      if (next[e] !== -1) prev[next[e]!] = prev[e]!;
      if (ret !== -1) {
        next[prev[ret]!] = next[ret]!;
        if (next[ret] !== -1) prev[next[ret]!] = prev[ret]!;
      }
    };
    /** Undo choices up to and including the last one that was not forced; false when none is left. */
    const backtrack = (): boolean => {
      for (;;) {
        const top = stackEntry.pop();
        if (top === undefined) return false;
        state = stackState.pop()!;
        const forced = stackForced.pop()!;
        const op = opOf[top]!;
        bits[op >> 5]! &= ~(1 << (op & 31));
        hash ^= zobrist[op]!;
        const ret = match[top]!;
        if (ret !== -1) {
          required++;
          next[prev[ret]!] = ret;
          if (next[ret] !== -1) prev[next[ret]!] = ret;
        }
        next[prev[top]!] = top;
        if (next[top] !== -1) prev[next[top]!] = top;
        if (!forced) {
          entry = next[top]!;
          return true;
        }
      }
    };
    while (budget-- > 0) {
      if (required === 0) {
        status = 'ok';
        break;
      }
      if (scan) {
        // A callable operation that leaves the state as it is (a read that matches, a failed cas) can be taken
        // first without losing any linearization: it is a forced move, never a choice to revisit.
        scan = false;
        let e = next[head]!;
        let failed = false;
        while (e !== -1 && isCall[e] === 1) {
          const o = ops[opOf[e]!]!;
          const after = model.step(state, o.input, match[e] === -1 ? undefined : o.output);
          if (after !== ILLEGAL && (after === state || model.equal(after, state))) {
            const op = opOf[e]!;
            bits[op >> 5]! |= 1 << (op & 31);
            if (this.seen((hash ^ zobrist[op]! ^ Math.imul(model.hash(after), 0x9e3779b1)) | 0, after)) {
              bits[op >> 5]! &= ~(1 << (op & 31));
              failed = true; // explored before, from this very configuration's only useful move: it failed
            } else {
              take(e, after, true);
              scan = true;
            }
            break;
          }
          e = next[e]!;
        }
        if (scan) continue;
        if (failed) {
          if (!backtrack()) {
            status = 'illegal';
            break;
          }
          continue;
        }
        entry = next[head]!;
        continue;
      }
      if (entry !== -1 && isCall[entry] === 1) {
        const op = opOf[entry]!;
        const o = ops[op]!;
        const after = model.step(state, o.input, match[entry] === -1 ? undefined : o.output);
        if (after !== ILLEGAL) {
          const bit = 1 << (op & 31);
          bits[op >> 5]! |= bit;
          if (!this.seen((hash ^ zobrist[op]! ^ Math.imul(model.hash(after), 0x9e3779b1)) | 0, after)) {
            take(entry, after, false);
            scan = true;
            continue;
          }
          bits[op >> 5]! &= ~bit;
        }
        entry = next[entry]!;
        continue;
      }
      // A return (or the end): the operation returning here could not be placed before it. Undo the last choice.
      if (entry !== -1 && stackEntry.length >= this.longest.length) {
        // Stuck deeper than ever before: remember this order (copied only here, not at every step).
        this.stuckAt = opOf[entry]!;
        this.longest = stackEntry.map((x) => opOf[x]!);
      }
      if (!backtrack()) {
        status = 'illegal';
        break;
      }
    }
    this.steps += maxSteps - Math.max(budget, 0);
    this.state = state;
    this.entry = entry;
    this.hash = hash;
    this.required = required;
    this.scan = scan;
    this.status = status;
    return status;
  }

  /** Is (bits, state) in the cache? If not, add it. The cache is a chained hash table over flat typed arrays. */
  private seen(h: number, state: S): boolean {
    const { bits, words } = this;
    let pool = this.pool;
    for (let i = this.table[h & this.mask]!; i !== -1; i = this.chain[i]!) {
      if (this.hashes[i] !== h) continue;
      let same = true;
      const base = i * words;
      for (let w = 0; w < words; w++) {
        if (pool[base + w] !== bits[w]) {
          same = false;
          break;
        }
      }
      if (same && this.model.equal(this.states[i]!, state)) return true;
    }
    const id = this.count++;
    if (id === this.hashes.length) {
      const capacity = id * 2;
      const grownPool = new Uint32Array(capacity * words);
      grownPool.set(pool);
      this.pool = pool = grownPool;
      const grownHashes = new Int32Array(capacity);
      grownHashes.set(this.hashes);
      this.hashes = grownHashes;
      const grownChain = new Int32Array(capacity);
      grownChain.set(this.chain);
      this.chain = grownChain;
    }
    pool.set(bits, id * words);
    this.hashes[id] = h;
    this.states[id] = state;
    if (this.count > this.table.length * 0.75) {
      this.table = new Int32Array(this.table.length * 2).fill(-1);
      this.mask = this.table.length - 1;
      for (let i = 0; i < id; i++) {
        const b = this.hashes[i]! & this.mask;
        this.chain[i] = this.table[b]!;
        this.table[b] = i;
      }
    }
    const b = h & this.mask;
    this.chain[id] = this.table[b]!;
    this.table[b] = id;
    return false;
  }
}
