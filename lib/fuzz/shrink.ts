import type { Fault, Schedule } from './schedule';
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

export function shrinkSchedule(
  schedule: Schedule,
  failure: Failure,
  run: (schedule: Schedule) => Failure | null,
  maxRuns = 400,
): ShrinkResult {
  let runs = 0;
  let best: { faults: readonly Fault[]; failure: Failure } = { faults: schedule.faults, failure };
  const fails = (faults: readonly Fault[]): boolean => {
    runs++;
    const f = run({ ...schedule, faults });
    if (f !== null && sameFailure(f, failure)) {
      best = { faults, failure: f };
      return true;
    }
    return false;
  };
  if (best.faults.length > 0) fails([]);
  let n = 2;
  while (best.faults.length > 0 && runs < maxRuns) {
    const faults = best.faults;
    const chunk = Math.ceil(faults.length / n);
    let reduced = false;
    for (let i = 0; i < faults.length && runs < maxRuns; i += chunk) {
      if (fails([...faults.slice(0, i), ...faults.slice(i + chunk)])) {
        reduced = true;
        n = Math.max(n - 1, 2);
        break;
      }
    }
    if (!reduced) {
      if (chunk === 1) return { schedule: { ...schedule, faults: best.faults }, failure: best.failure, runs, minimal: true };
      n = Math.min(faults.length, n * 2);
    }
  }
  return { schedule: { ...schedule, faults: best.faults }, failure: best.failure, runs, minimal: best.faults.length === 0 };
}
