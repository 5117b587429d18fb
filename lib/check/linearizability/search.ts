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
import { ILLEGAL, returned, type Model, type Operation } from './model';

export type SearchStatus = 'ok' | 'illegal' | 'running';

interface CacheEntry<S> {
  readonly bits: Uint32Array;
  readonly state: S;
}

function zobristWords(n: number): Int32Array {
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
  private readonly cache = new Map<number, CacheEntry<S>[]>();
  private readonly stackEntry: number[] = [];
  private readonly stackState: S[] = [];
  private state: S;
  private entry: number;
  private hash = 0;
  private required = 0;

  constructor(model: Model<S, I, O>, ops: readonly Operation<I, O>[]) {
    this.model = model;
    this.ops = ops;
    const n = ops.length;
    const times: number[] = [];
    const order: number[] = [];
    ops.forEach((op, i) => {
      order.push(2 * i);
      times[2 * i] = op.call;
      if (returned(op)) {
        order.push(2 * i + 1);
        times[2 * i + 1] = op.return as number;
        this.required++;
      }
    });
    // Calls before returns at the same instant: operations that touch count as concurrent (as Porcupine).
    order.sort((a, b) => times[a]! - times[b]! || (a & 1) - (b & 1) || a - b);
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
    this.bits = new Uint32Array(Math.ceil(n / 32) || 1);
    this.state = model.init();
    this.entry = this.next[this.head]!;
    if (this.required === 0) this.status = 'ok';
  }

  /** Runs at most `maxSteps` more steps; returns the status afterwards. */
  run(maxSteps: number): SearchStatus {
    if (this.status !== 'running') return this.status;
    const { model, ops, opOf, isCall, match, next, prev, head, zobrist, bits, stackEntry, stackState } = this;
    let { state, entry, hash, required } = this;
    let budget = maxSteps;
    let status: SearchStatus = 'running';
    while (budget-- > 0) {
      if (entry !== -1 && isCall[entry] === 1) {
        const op = opOf[entry]!;
        const ret = match[entry]!;
        const o = ops[op]!;
        const after = model.step(state, o.input, ret === -1 ? undefined : o.output);
        if (after !== ILLEGAL) {
          const word = op >> 5;
          const bit = 1 << (op & 31);
          bits[word]! |= bit;
          const h = (hash ^ zobrist[op]! ^ Math.imul(model.hash(after), 0x9e3779b1)) | 0;
          if (!this.seen(h, after)) {
            stackEntry.push(entry);
            stackState.push(state);
            state = after;
            hash ^= zobrist[op]!;
            if (ret !== -1) required--;
            // Lift the call and its return out of the list.
            next[prev[entry]!] = next[entry]!;
            if (next[entry] !== -1) prev[next[entry]!] = prev[entry]!;
            if (ret !== -1) {
              next[prev[ret]!] = next[ret]!;
              if (next[ret] !== -1) prev[next[ret]!] = prev[ret]!;
            }
            if (stackEntry.length > this.longest.length) this.longest = stackEntry.map((e) => opOf[e]!);
            if (required === 0) {
              status = 'ok';
              break;
            }
            entry = next[head]!;
            continue;
          }
          bits[word]! &= ~bit;
        }
        entry = next[entry]!;
        continue;
      }
      // A return (or the end): the operation returning here could not be placed before it. Undo the last choice.
      if (entry !== -1 && stackEntry.length >= this.longest.length) this.stuckAt = opOf[entry]!;
      const top = stackEntry.pop();
      if (top === undefined) {
        status = 'illegal';
        break;
      }
      state = stackState.pop()!;
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
      entry = next[top]!;
    }
    this.steps += maxSteps - Math.max(budget, 0);
    this.state = state;
    this.entry = entry;
    this.hash = hash;
    this.required = required;
    this.status = status;
    return status;
  }

  /** Is (bits, state) in the cache? If not, add it. */
  private seen(h: number, state: S): boolean {
    const bucket = this.cache.get(h);
    const bits = this.bits;
    if (bucket !== undefined) {
      outer: for (const c of bucket) {
        const b = c.bits;
        for (let w = 0; w < b.length; w++) if (b[w] !== bits[w]) continue outer;
        if (this.model.equal(c.state, state)) return true;
      }
      bucket.push({ bits: bits.slice(), state });
    } else {
      this.cache.set(h, [{ bits: bits.slice(), state }]);
    }
    return false;
  }
}
