import { ddmin } from '../../fuzz/shrink';
import type { Fault } from './plan';
import type { ScenarioFailure } from './run';

/**
 * Delta debugging over a failing run's faults, with the fuzzer's ddmin (lib/fuzz/shrink.ts): the fewest faults
 * that still fail the same way; 1-minimal unless the run budget runs out.
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
  const r = ddmin(faults, failure, run, sameFailure, maxRuns);
  return { faults: r.items, failure: r.failure, runs: r.runs, minimal: r.minimal };
}
