import type { Schedule } from './schedule';
import type { Failure } from './run';

/**
 * Delta debugging (Zeller's ddmin, complement side) over a failing schedule's fault list: keep the seed,
 * the cluster and the clients, remove chunks of faults while the run still fails the same way, halving the
 * chunk size when no chunk can go. Ends 1-minimal (no single fault can be removed) unless the budget runs out.
 */

export interface ShrinkResult {
  readonly schedule: Schedule;
  readonly failure: Failure;
  /** How many runs the shrinking took. */
  readonly runs: number;
  /** False when the run budget ran out before the schedule was 1-minimal. */
  readonly minimal: boolean;
}

/** Two failures are "the same" when they are of the same kind and, for safety, break the same property. */
export function sameFailure(a: Failure, b: Failure): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'safety' || b.kind !== 'safety' || a.property === b.property;
}

/**
 * ddmin over any list: the smallest sublist found for which `run` still fails the same way as `failure`
 * (removing chunks, halving them when none can go). 1-minimal unless `maxRuns` runs out first.
 */
export function ddmin<T, F>(
  items: readonly T[],
  failure: F,
  run: (items: readonly T[]) => F | null,
  same: (a: F, b: F) => boolean,
  maxRuns: number,
): { items: readonly T[]; failure: F; runs: number; minimal: boolean } {
  let runs = 0;
  let best = { items, failure };
  const fails = (candidate: readonly T[]): boolean => {
    runs++;
    const f = run(candidate);
    if (f !== null && same(f, failure)) {
      best = { items: candidate, failure: f };
      return true;
    }
    return false;
  };
  if (best.items.length > 0 && maxRuns > 0) fails([]);
  let n = 2;
  while (best.items.length > 0 && runs < maxRuns) {
    const current = best.items;
    const chunk = Math.ceil(current.length / n);
    let reduced = false;
    for (let i = 0; i < current.length && runs < maxRuns; i += chunk) {
      if (fails([...current.slice(0, i), ...current.slice(i + chunk)])) {
        reduced = true;
        n = Math.max(n - 1, 2);
        break;
      }
    }
    if (!reduced) {
      if (chunk === 1) return { ...best, runs, minimal: true };
      n = Math.min(current.length, n * 2);
    }
  }
  return { ...best, runs, minimal: best.items.length === 0 };
}

export function shrinkSchedule(
  schedule: Schedule,
  failure: Failure,
  run: (schedule: Schedule) => Failure | null,
  maxRuns = 400,
): ShrinkResult {
  const r = ddmin(schedule.faults, failure, (faults) => run({ ...schedule, faults }), sameFailure, maxRuns);
  return { schedule: { ...schedule, faults: r.items }, failure: r.failure, runs: r.runs, minimal: r.minimal };
}
