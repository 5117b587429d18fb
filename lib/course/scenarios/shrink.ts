import type { Fault } from './plan';
import type { ScenarioFailure } from './run';

/**
 * Delta debugging over a failing run's faults (Zeller's ddmin, complement side, as lib/fuzz/shrink.ts does for
 * the fuzzer's schedules): remove chunks of faults while the run still fails the same way, halving the chunk
 * when none can go. Ends 1-minimal (no single fault can be removed) unless the run budget runs out.
 */

export interface ShrunkFaults {
  readonly faults: readonly Fault[];
  readonly failure: ScenarioFailure;
  readonly runs: number;
  readonly minimal: boolean;
}

/** The same failure: the same kind and the same property, handler or check. */
export function sameFailure(a: ScenarioFailure, b: ScenarioFailure): boolean {
  return a.kind === b.kind && a.what === b.what;
}

export function shrinkFaults(
  faults: readonly Fault[],
  failure: ScenarioFailure,
  run: (faults: readonly Fault[]) => ScenarioFailure | null,
  maxRuns = 100,
): ShrunkFaults {
  let runs = 0;
  let best = { faults, failure };
  const fails = (candidate: readonly Fault[]): boolean => {
    runs++;
    const f = run(candidate);
    if (f !== null && sameFailure(f, failure)) {
      best = { faults: candidate, failure: f };
      return true;
    }
    return false;
  };
  if (best.faults.length > 0 && maxRuns > 0) fails([]);
  let n = 2;
  while (best.faults.length > 0 && runs < maxRuns) {
    const current = best.faults;
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
  return { ...best, runs, minimal: best.faults.length === 0 };
}
