/**
 * The "overwritten value" pass shared by the kv and register models: a read that returns a value whose only
 * write W0 returned before another write W1 was called, where W1 returned before the read was called. Once W1
 * has taken effect the register never holds that value again (its only write is gone), and the read comes
 * after W1: no order explains it. Linear after a sort: writes by call time, with the earliest return among the
 * writes called after each time.
 */
export interface ValueWrite<V> {
  readonly value: V;
  readonly call: number;
  readonly return: number;
}

/**
 * `writes`: every completed operation that changes the state (the caller decides what counts), each with the
 * value it leaves. `unique(v)`: true when only one operation can ever produce state v (the caller's proof).
 * Returns a predicate over reads: (value read, read's call) -> certainly overwritten.
 */
export function overwrittenReads<V>(writes: readonly ValueWrite<V>[], unique: (v: V) => boolean): (value: V, readCall: number) => boolean {
  const byCall = [...writes].sort((a, b) => a.call - b.call);
  const calls = byCall.map((w) => w.call);
  // suffixMin[i]: the earliest return among writes byCall[i..].
  const suffixMin = new Array<number>(byCall.length + 1).fill(Infinity);
  for (let i = byCall.length - 1; i >= 0; i--) suffixMin[i] = Math.min(suffixMin[i + 1]!, byCall[i]!.return);
  const writerOf = new Map<V, ValueWrite<V>>();
  for (const w of writes) writerOf.set(w.value, w);
  return (value, readCall) => {
    const w0 = writerOf.get(value);
    if (w0 === undefined || !unique(value)) return false;
    // First write called strictly after w0 returned.
    let lo = 0;
    let hi = calls.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (calls[mid]! > w0.return) hi = mid;
      else lo = mid + 1;
    }
    return suffixMin[lo]! < readCall;
  };
}
