/**
 * A discrete-event scheduler: a binary min-heap ordered by (time, insertion order), so events at the
 * same virtual time run in the order they were scheduled and every run is reproducible.
 */
export interface Scheduled<T> {
  readonly time: number;
  readonly seq: number;
  readonly event: T;
}

export class Scheduler<T> {
  private readonly heap: Scheduled<T>[] = [];
  private counter = 0;
  private clock = 0;

  get now(): number {
    return this.clock;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Time of the next event, or Infinity when nothing is scheduled. */
  peekTime(): number {
    return this.heap.length > 0 ? this.heap[0]!.time : Infinity;
  }

  schedule(time: number, event: T): void {
    if (!(time >= this.clock)) throw new RangeError(`cannot schedule at ${time}, the clock is already at ${this.clock}`);
    const item: Scheduled<T> = { time, seq: this.counter++, event };
    const heap = this.heap;
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.time < time || (p.time === time && p.seq < item.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  /** Every scheduled event, in no particular order (a read-only view for inspection). */
  pending(): readonly Scheduled<T>[] {
    return this.heap;
  }

  /** Remove the next event and move the clock to its time. */
  pop(): Scheduled<T> | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && less(heap[r]!, heap[l]!)) c = r;
        if (!less(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    this.clock = top.time;
    return top;
  }

  /** Move the clock forward with nothing happening (used by runFor when the heap runs dry). */
  advanceTo(time: number): void {
    if (time > this.clock) this.clock = time;
  }
}

function less<T>(a: Scheduled<T>, b: Scheduled<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
