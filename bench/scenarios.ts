/**
 * The scenario suite: how long the course's scenario grading takes (the whole course must run headless in 90 s).
 *
 * - scenarios.<name>.ms_per_seed: wall ms per seed on the reference handlers (mean of the 3 default seeds).
 * - scenarios.all.s: every scenario on the 3 default seeds, reference handlers (what passing costs a notebook).
 * - scenarios.report.<variant>.s: grading a broken implementation until its failure report is ready (first
 *   failing seed, shrinking, traced replay, term timeline and message diagram), with its shrink figures.
 */
import { failureMessages, failureTimeline } from '../lib/course/failure-report';
import { scenarios } from '../lib/course/scenarios/catalog';
import { defaultSeeds, runScenarioChecks } from '../lib/course/scenarios/grade';
import { runScenario } from '../lib/course/scenarios/run';
import { zooVariant } from '../lib/fuzz/zoo';
import type { Metric } from './metrics';

export async function runScenarioBench(options: { readonly log?: (message: string) => void } = {}): Promise<Metric[]> {
  const log = options.log ?? (() => {});
  const metrics: Metric[] = [];
  for (const s of scenarios) runScenario(s, {}, { seed: 99 }); // warm-up
  let total = 0;
  for (const s of scenarios) {
    const start = performance.now();
    let virtual = 0;
    for (const seed of defaultSeeds) virtual += runScenario(s, {}, { seed }).cluster.now;
    const ms = performance.now() - start;
    total += ms;
    metrics.push({ metric: `scenarios.${s.name}.ms_per_seed`, value: ms / defaultSeeds.length, unit: 'ms' });
    metrics.push({ metric: `scenarios.${s.name}.virtual_s_per_seed`, value: virtual / 1000 / defaultSeeds.length, unit: 'virtual s' });
  }
  metrics.push({ metric: 'scenarios.all.s', value: total / 1000, unit: 's', paper: 90, paperNote: 'budget for the whole course, headless' });
  for (const [variant, scenario] of [['commit-earlier-term', 'Figure8'], ['keep-conflicting-suffix', 'Rejoin'], ['vote-twice', 'ManyElections']] as const) {
    log(`scenarios: failure report for ${variant}`);
    const v = zooVariant(variant);
    const start = performance.now();
    const { failures } = runScenarioChecks({ ...(v.rules ? { rules: v.rules } : {}), ...(v.handlers ? { handlers: v.handlers } : {}) }, [scenario]);
    const report = failures[0];
    if (report) {
      await failureTimeline(report);
      await failureMessages(report);
    }
    metrics.push({ metric: `scenarios.report.${variant}.s`, value: (performance.now() - start) / 1000, unit: 's' });
    metrics.push({ metric: `scenarios.report.${variant}.faults_before`, value: report ? report.faultsBefore : NaN, unit: 'faults' });
    metrics.push({ metric: `scenarios.report.${variant}.faults_after`, value: report ? report.faults.length : NaN, unit: 'faults' });
    metrics.push({ metric: `scenarios.report.${variant}.shrink_runs`, value: report ? report.shrinkRuns : NaN, unit: 'runs' });
  }
  return metrics;
}
