import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { paperRanges, rangeLabel, runFigure16 } from '../lib/course/figure16';
import { formatJsonLine } from '../bench/metrics';

const root = join(__dirname, '..');

function bench(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bench/index.ts', ...args], { cwd: root, encoding: 'utf8' });
}

// Smoke tests: the benchmark's output format and the Figure 16 harness. Nothing here depends on timing.
describe('bench', () => {
  it('`bench --json sim` prints one {"metric", "value", "unit"} object per line, values finite numbers', function () {
    this.timeout(60_000);
    const run = bench('--json', '--trials', '2', '--virtual-minutes', '0.5', 'sim');
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    const names = new Set<string>();
    for (const line of lines) {
      assert.match(line, /^\{"metric": "[^"]+", "value": [^,]+, "unit": "[^"]+"(, .*)?\}$/, line);
      const m = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(m).slice(0, 3), ['metric', 'value', 'unit'], line);
      assert.equal(typeof m.value, 'number', line);
      assert.ok(Number.isFinite(m.value), line);
      if ('paper' in m) assert.ok(Number.isFinite(m.paper), line);
      assert.ok(!names.has(m.metric as string), `metric ${String(m.metric)} printed twice`);
      names.add(m.metric as string);
    }
    for (const name of [
      'sim.deliveries_per_s',
      'sim.virtual_hour_5nodes_wall_s',
      'sim.virtual_hour_5nodes_full_trace_wall_s',
      'sim.virtual_hour_5nodes_no_trace_wall_s',
      'fig16.wall_s',
    ]) {
      assert.ok(names.has(name), `missing ${name}`);
    }
    for (const range of paperRanges) {
      for (const stat of ['mean_ms', 'median_ms', 'max_ms', 'capped']) {
        const name = `fig16.${rangeLabel(range)}.${stat}`;
        assert.ok(names.has(name), `missing ${name}`);
      }
    }
    const median155 = lines.map((l) => JSON.parse(l) as { metric: string; paper?: number }).find((m) => m.metric === 'fig16.150-155.median_ms');
    assert.equal(median155?.paper, 287, "the paper's figure is printed beside ours");
  });

  it('refuses an unknown suite', function () {
    this.timeout(30_000);
    const run = bench('--json', 'nonsense');
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /unknown suite "nonsense"/);
  });

  it('writes a value that is not a finite number as null, so every line stays JSON', () => {
    const line = formatJsonLine({ metric: 'x', value: Number.NaN, unit: 'ms' });
    assert.equal(line, '{"metric": "x", "value": null, "unit": "ms"}');
  });

  it('runFigure16: the same seed gives the same sweep; every trial is accounted for', () => {
    const ranges = [{ min: 150, max: 155 }, { min: 12, max: 24 }];
    const a = runFigure16({ ranges, trials: 5, seed: 7 });
    const b = runFigure16({ ranges, trials: 5, seed: 7 });
    const c = runFigure16({ ranges, trials: 5, seed: 8 });
    assert.deepEqual(a.ranges.map((r) => r.samples), b.ranges.map((r) => r.samples));
    assert.notDeepEqual(a.ranges.map((r) => r.samples), c.ranges.map((r) => r.samples));
    for (const r of a.ranges) {
      assert.equal(r.samples.length, 5);
      assert.equal(r.label, rangeLabel(r.range));
      assert.equal(r.heartbeatInterval, r.range.min / 2);
      for (const t of r.trials) {
        assert.ok(t.crashOffsetMs >= 0 && t.crashOffsetMs < r.heartbeatInterval, 'crash within the heartbeat interval');
        // The downtime includes at least one election timeout minus the part of the interval already gone.
        assert.ok(t.downtimeMs > r.range.min - r.heartbeatInterval, `downtime ${t.downtimeMs}`);
        assert.ok(t.capped || t.terms >= 1);
      }
    }
  });

  it('runFigure16: a trial that elects nobody within the cap is counted at the cap and reported', () => {
    // Without randomness the votes keep splitting (the paper: "consistently longer than 10 seconds").
    const r = runFigure16({ ranges: [{ min: 150, max: 150 }], trials: 2, capMs: 2_000 }).ranges[0]!;
    assert.ok(r.capped > 0);
    assert.equal(r.capped, r.trials.filter((t) => t.capped).length);
    for (const t of r.trials) if (t.capped) assert.equal(t.downtimeMs, 2_000);
    assert.ok(r.samples.every((s) => s <= 2_000));
  });
});
