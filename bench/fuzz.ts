/**
 * The fuzz suite: how fast the randomized fault simulation runs, and how many seeds each bug-zoo variant takes.
 *
 * - fuzz.seeds_per_s: seeds (3-5 nodes, 10 virtual s of faults, then the liveness check) per wall second on
 *   every core (one worker thread per core), over 5,000 seeds.
 * - fuzz.seeds_per_s_one_thread: the same in this thread alone, over 1,000 seeds (after a warm-up).
 * - fuzz.violations: failing seeds among those 5,000 with Figure 2's rules (should be 0).
 * - zoo.<variant>.seeds_to_catch: seeds from seed 1 until the variant fails a run (null: not within 1,000).
 */
import { availableParallelism } from 'node:os';
import { fuzzSeeds, seedsToCatch } from '../lib/fuzz/campaign';
import { fuzzParallel } from '../lib/fuzz/parallel';
import { zooVariants } from '../lib/fuzz/zoo';
import type { Metric } from './metrics';

export async function runFuzz(options: { readonly log?: (message: string) => void } = {}): Promise<Metric[]> {
  const log = options.log ?? (() => {});
  const metrics: Metric[] = [];
  const seeds = 5000;
  const workers = availableParallelism();
  log(`fuzz: ${seeds} seeds on ${workers} worker threads`);
  let start = performance.now();
  const parallel = await fuzzParallel(1, seeds, { schedule: {}, workers });
  const parallelS = (performance.now() - start) / 1000;
  metrics.push({ metric: 'fuzz.seeds_per_s', value: seeds / parallelS, unit: 'seeds/s' });
  metrics.push({ metric: 'fuzz.violations', value: parallel.failed.length, unit: 'seeds' });

  log('fuzz: 1,000 seeds in this thread');
  fuzzSeeds(100_001, 200); // warm-up
  start = performance.now();
  fuzzSeeds(1, 1000);
  metrics.push({ metric: 'fuzz.seeds_per_s_one_thread', value: 1000 / ((performance.now() - start) / 1000), unit: 'seeds/s' });

  for (const variant of zooVariants) {
    log(`zoo: ${variant.name}`);
    const caught = seedsToCatch(variant, { from: 1, budget: 1000 });
    metrics.push({ metric: `zoo.${variant.name}.seeds_to_catch`, value: caught ? caught.seeds : NaN, unit: 'seeds' });
  }
  return metrics;
}
