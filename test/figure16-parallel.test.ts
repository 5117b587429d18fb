import assert from 'node:assert/strict';
import { runFigure16, slowReplies, trialsFor } from '../lib/course/figure16';
import { fuzzSeeds } from '../lib/fuzz/campaign';
import { fuzzParallel } from '../lib/fuzz/parallel';
import { runFigure16Parallel } from '../bench/figure16-parallel';

/** The benchmark's sweeps on worker threads give, trial for trial and seed for seed, what one thread gives. */
describe('worker threads change nothing in the results', () => {
  const ranges = [{ min: 150, max: 150 }, { min: 150, max: 155 }, { min: 12, max: 24 }];

  it('Figure 16 on 2 workers in uneven chunks = Figure 16 in this thread', async () => {
    const options = { ranges, trials: 23, capMs: 3_000 };
    const one = runFigure16(options);
    const many = await runFigure16Parallel({ ...options, workers: 2, chunk: 5 });
    assert.deepEqual(many.ranges.map((r) => r.trials), one.ranges.map((r) => r.trials));
    assert.deepEqual(many.ranges.map((r) => r.samples), one.ranges.map((r) => r.samples));
    assert.deepEqual(many.ranges.map((r) => r.capped), one.ranges.map((r) => r.capped));
    assert.ok(one.ranges[0]!.capped > 0 && one.ranges[2]!.capped < 23, 'not vacuous: capped and elected trials');
    const slow = { ranges: ranges.slice(1), trials: 9, latencyByType: slowReplies };
    assert.deepEqual((await runFigure16Parallel({ ...slow, workers: 2, chunk: 4 })).ranges.map((r) => r.trials), runFigure16(slow).ranges.map((r) => r.trials));
  });

  it("runs the paper's trial counts unless told: 1000 per range, 100 without randomness (both drivers)", async () => {
    assert.equal(trialsFor({ min: 150, max: 150 }), 100);
    assert.equal(trialsFor({ min: 150, max: 151 }), 1000);
    assert.equal(trialsFor({ min: 150, max: 150 }, 7), 7);
    assert.throws(() => trialsFor({ min: 150, max: 155 }, 0), /trials must be a positive integer, got 0/);
    // A short cap keeps 1100 trials cheap; the counts are what is checked.
    const options = { ranges: [{ min: 150, max: 150 }, { min: 12, max: 24 }], capMs: 200 };
    const one = runFigure16(options);
    const many = await runFigure16Parallel({ ...options, workers: 2, chunk: 300 });
    assert.deepEqual(one.ranges.map((r) => r.trials.length), [100, 1000]);
    assert.deepEqual(many.ranges.map((r) => r.samples), one.ranges.map((r) => r.samples));
  });

  it('fuzz seeds on 2 workers in small batches = the same seeds in this thread', async () => {
    const one = fuzzSeeds(1, 120);
    const many = await fuzzParallel(1, 120, { schedule: {}, workers: 2, batch: 17 });
    assert.equal(many.proposed, one.proposed);
    assert.equal(many.acknowledged, one.acknowledged);
    assert.deepEqual(many.failed.map((f) => f.seed).sort((a, b) => a - b), one.failed.map((f) => f.seed));
    assert.ok(one.proposed > 0);
  });
});
