/**
 * A discrete-event scheduler: a binary min-heap ordered by (time, insertion order), so events at the
 * same virtual time run in the order they were scheduled and every run is reproducible.
 *
 * The heap keeps its keys in typed arrays beside the events (no wrapper object per event, no pointer to
 * follow per comparison): the simulator pushes and pops one entry per message.
 */
export interface Scheduled<T> {
  readonly time: number;
  readonly seq: number;
  readonly event: T;
}

export class Scheduler<T> {
  private times = new Float64Array(256);
  private seqs = new Float64Array(256);
  private events: (T | undefined)[] = [];
  private length = 0;
  private counter = 0;
  private clock = 0;

  get now(): number {
    return this.clock;
  }

  get size(): number {
    return this.length;
  }

  /** Time of the next event, or Infinity when nothing is scheduled. */
  peekTime(): number {
    return this.length > 0 ? this.times[0]! : Infinity;
  }

  schedule(time: number, event: T): void {
    if (!(time >= this.clock)) throw new RangeError(`cannot schedule at ${time}, the clock is already at ${this.clock}`);
    if (this.length === this.times.length) this.grow();
    const times = this.times;
    const seqs = this.seqs;
    const events = this.events;
    const seq = this.counter++;
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt < time || (pt === time && seqs[parent]! < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent]!;
      events[i] = events[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    events[i] = event;
  }

  /** Every scheduled event, in no particular order (a copy, for inspection). */
  pending(): readonly Scheduled<T>[] {
    const out: Scheduled<T>[] = [];
    for (let i = 0; i < this.length; i++) out.push({ time: this.times[i]!, seq: this.seqs[i]!, event: this.events[i] as T });
    return out;
  }

  /** Remove the next event and move the clock to its time. */
  pop(): T | undefined {
    const n = this.length - 1;
    if (n < 0) return undefined;
    const times = this.times;
    const seqs = this.seqs;
    const events = this.events;
    const top = events[0];
    this.clock = times[0]!;
    const lastTime = times[n]!;
    const lastSeq = seqs[n]!;
    const last = events[n];
    events[n] = undefined;
    this.length = n;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && (times[r]! < times[l]! || (times[r] === times[l] && seqs[r]! < seqs[l]!))) c = r;
        const ct = times[c]!;
        if (!(ct < lastTime || (ct === lastTime && seqs[c]! < lastSeq))) break;
        times[i] = ct;
        seqs[i] = seqs[c]!;
        events[i] = events[c];
        i = c;
      }
      times[i] = lastTime;
      seqs[i] = lastSeq;
      events[i] = last;
    }
    return top;
  }

  /** Move the clock forward with nothing happening (used by runFor when the heap runs dry). */
  advanceTo(time: number): void {
    if (time > this.clock) this.clock = time;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    times.set(this.times);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
  }
}
