/**
 * Deciding one independent part (one key) of a history: the cheap linear passes first, the search after.
 *
 * 1. `model.simplify` drops operations that cannot change the verdict.
 * 2. `model.impossible` finds an operation no order can explain (a read of a value nobody wrote yet): illegal.
 * 3. If no two operations overlap in time and all returned, there is one order only: step the model along it.
 * 4. Otherwise the memoized search (search.ts), resumable, within the part's own step budget.
 *
 * `PartCheck.advance(slice)` does at most `slice` search steps, so a scheduler can interleave parts: a part that
 * is hard to decide never starves one that is plainly illegal.
 */
import { ILLEGAL as ILLEGAL_EXPORT, returned as returnedExport, type Model, type Operation } from './model';
import { PartSearch } from './search';
const ILLEGAL: typeof ILLEGAL_EXPORT = ILLEGAL_EXPORT; // a local binding: an imported one is a getter call in the hot loop
const returned = returnedExport;

export type PartStatus = 'ok' | 'illegal' | 'unknown' | 'running';
export type DecidedBy = 'empty' | 'impossible' | 'sequential' | 'search';

export interface PartOutcome {
  readonly key: string;
  readonly status: 'ok' | 'illegal' | 'unknown';
  readonly steps: number;
  readonly decidedBy: DecidedBy;
  /** Illegal only: the longest order found and the operation that could not be placed after it (history indices). */
  readonly longestPrefix: readonly number[];
  readonly stuckAt: number | null;
}

export class PartCheck<S, I, O> {
  status: PartStatus = 'running';
  decidedBy: DecidedBy = 'search';
  steps = 0;
  longestPrefix: number[] = [];
  stuckAt: number | null = null;
  /** The operations the search works on, after `simplify`, and their indices into the whole history. */
  readonly ops: Operation<I, O>[];
  readonly indices: number[];
  private search: PartSearch<S, I, O> | null = null;
  private prepared = false;

  constructor(
    private readonly model: Model<S, I, O>,
    readonly key: string,
    history: readonly Operation<I, O>[],
    indices: readonly number[],
    private readonly maxSteps: number,
    /** false: skip the linear passes and search (to find the longest order of a part a pass decided). */
    private readonly linearPasses = true,
  ) {
    const ops = indices.map((i) => history[i]!);
    const kept = model.simplify ? new Set(model.simplify(ops)) : null;
    this.indices = kept ? indices.filter((i) => kept.has(history[i]!)) : [...indices];
    this.ops = this.indices.map((i) => history[i]!);
  }

  /** The linear passes (no search step counted). Returns the status afterwards. */
  prepare(): PartStatus {
    if (this.prepared) return this.status;
    this.prepared = true;
    const { model, ops } = this;
    if (!ops.some(returned)) return this.finish('ok', 'empty');
    if (!this.linearPasses) return this.status;
    const bad = model.impossible ? model.impossible(ops) : -1;
    if (bad >= 0) {
      this.stuckAt = this.indices[bad]!;
      return this.finish('illegal', 'impossible');
    }
    if (ops.every(returned)) {
      const order = ops.map((_, i) => i).sort((a, b) => ops[a]!.call - ops[b]!.call || a - b);
      let sequential = true;
      for (let k = 1; k < order.length && sequential; k++) sequential = ops[order[k]!]!.call > (ops[order[k - 1]!]!.return as number);
      if (sequential) {
        let state = model.init();
        for (let k = 0; k < order.length; k++) {
          const op = ops[order[k]!]!;
          const next = model.step(state, op.input, op.output);
          if (next === ILLEGAL) {
            this.longestPrefix = order.slice(0, k).map((i) => this.indices[i]!);
            this.stuckAt = this.indices[order[k]!]!;
            return this.finish('illegal', 'sequential');
          }
          state = next;
        }
        return this.finish('ok', 'sequential');
      }
    }
    return this.status;
  }

  advance(slice: number): PartStatus {
    if (this.prepare() !== 'running') return this.status;
    if (this.search === null) this.search = new PartSearch(this.model, this.ops);
    const search = this.search;
    const status = search.run(Math.min(slice, this.maxSteps - this.steps));
    this.steps = search.steps;
    if (status === 'ok') return this.finish('ok', 'search');
    if (status === 'illegal') {
      this.longestPrefix = search.longest.map((i) => this.indices[i]!);
      this.stuckAt = search.stuckAt === null ? null : this.indices[search.stuckAt]!;
      return this.finish('illegal', 'search');
    }
    if (this.steps >= this.maxSteps) {
      this.search = null; // its cache can be large: let it go
      return this.finish('unknown', 'search');
    }
    return this.status;
  }

  outcome(): PartOutcome {
    if (this.status === 'running') throw new Error(`part ${JSON.stringify(this.key)} is not decided yet`);
    return { key: this.key, status: this.status, steps: this.steps, decidedBy: this.decidedBy, longestPrefix: this.longestPrefix, stuckAt: this.stuckAt };
  }

  private finish(status: 'ok' | 'illegal' | 'unknown', by: DecidedBy): PartStatus {
    this.status = status;
    this.decidedBy = by;
    return status;
  }
}

/**
 * Decides parts in one thread: all linear passes first (a plainly illegal part ends everything at once), then
 * the searches, smallest part first, round-robin in slices of `slice` steps. Stops at the first illegal part.
 * `onOutcome` sees every decided part.
 */
export function decideParts<S, I, O>(parts: readonly PartCheck<S, I, O>[], slice: number, onOutcome?: (o: PartOutcome) => void): PartOutcome[] {
  const outcomes: PartOutcome[] = [];
  const done = (p: PartCheck<S, I, O>) => {
    const o = p.outcome();
    outcomes.push(o);
    onOutcome?.(o);
    return o;
  };
  let pending: PartCheck<S, I, O>[] = [];
  for (const p of parts) {
    const s = p.prepare();
    if (s === 'running') pending.push(p);
    else if (done(p).status === 'illegal') return outcomes;
  }
  pending.sort((a, b) => a.ops.length - b.ops.length);
  while (pending.length > 0) {
    const still: PartCheck<S, I, O>[] = [];
    for (const p of pending) {
      if (p.advance(slice) === 'running') still.push(p);
      else if (done(p).status === 'illegal') return outcomes;
    }
    pending = still;
  }
  return outcomes;
}
