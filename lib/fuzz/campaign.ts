import { runSchedule, type Failure, type RunOptions, type RunResult } from './run';
import { generateSchedule, type ScheduleOptions } from './schedule';
import type { ZooVariant } from './zoo';

/** Many seeds in a row, and the bug zoo's "how many seeds until it is caught". */

export interface SeedOptions extends ScheduleOptions {
  readonly variant?: ZooVariant;
  readonly trace?: RunOptions['trace'];
}

export function runSeed(seed: number, options: SeedOptions = {}): RunResult {
  return runSchedule(generateSchedule(seed, options), runOptionsFor(options));
}

export function runOptionsFor(options: SeedOptions): RunOptions {
  const v = options.variant;
  return {
    ...(options.trace ? { trace: options.trace } : {}),
    ...(v?.rules ? { rules: v.rules } : {}),
    ...(v?.handlers ? { handlers: v.handlers } : {}),
    ...(v?.bugs ? { bugs: v.bugs } : {}),
  };
}

export interface FailedSeed {
  readonly seed: number;
  readonly failure: Failure;
}

export interface FuzzSummary {
  readonly from: number;
  readonly seeds: number;
  readonly failed: FailedSeed[];
  readonly proposed: number;
  readonly acknowledged: number;
}

/** Run seeds from, from+1, ... (count of them); `onSeed` after each (progress bars). */
export function fuzzSeeds(
  from: number,
  count: number,
  options: SeedOptions = {},
  onSeed?: (done: number, failedSoFar: number) => void,
): FuzzSummary {
  const failed: FailedSeed[] = [];
  let proposed = 0;
  let acknowledged = 0;
  for (let k = 0; k < count; k++) {
    const seed = from + k;
    const r = runSeed(seed, options);
    proposed += r.proposed;
    acknowledged += r.acknowledged;
    if (r.failure) failed.push({ seed, failure: r.failure });
    onSeed?.(k + 1, failed.length);
  }
  return { from, seeds: count, failed, proposed, acknowledged };
}

/** How many seeds (from `from` on) until the variant fails a run; null if not within `budget`. */
export function seedsToCatch(
  variant: ZooVariant,
  options: ScheduleOptions & { readonly from?: number; readonly budget?: number } = {},
): { seeds: number; seed: number; failure: Failure } | null {
  const from = options.from ?? 1;
  const budget = options.budget ?? 1000;
  for (let k = 0; k < budget; k++) {
    const r = runSeed(from + k, { ...options, variant });
    if (r.failure) return { seeds: k + 1, seed: from + k, failure: r.failure };
  }
  return null;
}
