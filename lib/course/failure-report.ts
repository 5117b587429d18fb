import type { Cluster } from '../sim/cluster';
import { messageDiagram } from '../viz/message-diagram';
import { termTimelineSpec } from '../viz/term-timeline';
import { renderVegaLite } from '../viz/vega';
import type { Scenario } from './scenarios/catalog';
import { diagnose, type Diagnosis } from './scenarios/diagnose';
import { describeFault, faultsLiteral, type Fault } from './scenarios/plan';
import { runScenario, type RunOptions, type ScenarioFailure } from './scenarios/run';
import { shrinkFaults } from './scenarios/shrink';
import type { StudentImpl } from './student-node';

/**
 * What a student sees when a scenario fails: which scenario and seed, the first broken property or check, the
 * rule of Figure 2 to look at, the faults shrunk to the fewest that still fail, the one line that replays the
 * shrunk run, and its term timeline and message diagram.
 */
export interface FailureReport {
  readonly scenario: string;
  readonly seed: number;
  /** The failure of the shrunk run (as the replay line reproduces it). */
  readonly failure: ScenarioFailure;
  /** The failure as first seen, with every fault. */
  readonly original: ScenarioFailure;
  readonly diagnosis: Diagnosis;
  readonly faultsBefore: number;
  readonly faults: readonly Fault[];
  readonly shrinkRuns: number;
  /** False when the shrinking budget ran out before no single fault could be removed. */
  readonly minimal: boolean;
  /** Paste into a cell to run it again. */
  readonly replay: string;
  /** The shrunk run, traced (trace level 'all'): the pictures are drawn from it. */
  readonly cluster: Cluster;
}

export interface ReportOptions {
  /** How the student's implementation is called in the notebook (for the replay line). Default 'impl'. */
  readonly implName?: string;
  /** Most runs the shrinker may take. Default 100. */
  readonly maxShrinkRuns?: number;
  readonly bugs?: RunOptions['bugs'];
}

export function replayLine(scenario: string, seed: number, faults: readonly Fault[], implName = 'impl'): string {
  return `await replayScenario('${scenario}', ${implName}, { seed: ${seed}, faults: ${faultsLiteral(faults)} })`;
}

/** Shrink a failing run's faults, replay the shrunk run traced, and say which rule it points at. */
export function buildFailureReport(
  scenario: Scenario,
  impl: StudentImpl,
  seed: number,
  failure: ScenarioFailure,
  faults: readonly Fault[],
  options: ReportOptions = {},
): FailureReport {
  const base = { seed, ...(options.bugs ? { bugs: options.bugs } : {}) };
  // A message storm fails whatever the faults, and each run of it is long: not worth shrinking.
  const budget = failure.what === 'storm' ? 0 : options.maxShrinkRuns ?? 100;
  const shrunk = shrinkFaults(faults, failure, (candidate) => runScenario(scenario, impl, { ...base, faults: candidate }).failure, budget);
  const traced = runScenario(scenario, impl, { ...base, faults: shrunk.faults, trace: 'all' });
  // Trace level changes nothing the run decides; if the traced replay does not fail the same way, say so.
  const final = traced.failure ?? shrunk.failure;
  if (!traced.failure) {
    throw new Error(`${scenario.name} seed ${seed}: the shrunk run failed, but its traced replay did not (please report this)`);
  }
  return {
    scenario: scenario.name,
    seed,
    failure: final,
    original: failure,
    diagnosis: diagnose(final, traced.cluster, { restore: impl.restore !== undefined }),
    faultsBefore: faults.length,
    faults: shrunk.faults,
    shrinkRuns: shrunk.runs,
    minimal: shrunk.minimal,
    replay: replayLine(scenario.name, seed, shrunk.faults, options.implName),
    cluster: traced.cluster,
  };
}

/** The first broken property or check, in a line. */
export function describeFailure(f: ScenarioFailure): string {
  const at = `t=${f.time.toFixed(1)} ms`;
  switch (f.kind) {
    case 'safety':
      return `${f.what} violated at ${at}: ${f.detail}`;
    case 'handler':
      return `${f.what} broke the handler contract at ${at}: ${f.detail}`;
    case 'assertion':
      return `${f.detail}`;
    case 'error':
      return `the run stopped at ${at}: ${f.detail}`;
  }
}

/** The report as the lines of a checklist entry: found, the rule, the shrunk faults, the replay line. */
export function formatFailureReport(r: FailureReport): string {
  const lines = [
    `seed ${r.seed} failed: ${describeFailure(r.failure)}`,
    `rule to check: ${r.diagnosis.rule}`,
    `why: ${r.diagnosis.why}`,
    r.faultsBefore === 0
      ? 'faults: none (it fails with no fault at all)'
      : r.faults.length === 0
        ? `faults: shrunk from ${r.faultsBefore} to none: it fails with no fault at all`
        : r.faults.length === r.faultsBefore
          ? `faults: ${r.faults.length}, ${r.minimal ? 'none of which can be removed' : 'not shrunk (the budget ran out)'}:`
          : `faults: shrunk from ${r.faultsBefore} to the ${r.faults.length} that still fail${r.minimal ? '' : ' (shrinking stopped early)'}:`,
    ...r.faults.map(describeFault),
    `replay: ${r.replay}`,
  ];
  return lines.join('\n');
}

/** The term timeline of the failing run, with the failure as a red line. */
export async function failureTimeline(r: FailureReport): Promise<string> {
  const spec = termTimelineSpec(r.cluster, { title: `${r.scenario} seed ${r.seed}: ${r.failure.what}`, width: 640 });
  const layers = spec['layer'] as unknown[];
  const mark = [{ t: r.failure.time, label: r.failure.kind === 'safety' ? r.failure.what : r.failure.step ?? r.failure.what }];
  layers.push(
    { mark: { type: 'rule', color: '#d62728', strokeWidth: 2.5 }, encoding: { x: { field: 't', type: 'quantitative' } }, data: { values: mark } },
    {
      mark: { type: 'text', align: 'right', dx: -4, dy: 4, fontSize: 11, fontWeight: 'bold', color: '#d62728', baseline: 'top' },
      encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
      data: { values: mark },
    },
  );
  return renderVegaLite(spec);
}

/** The message diagram of the last messages before the failure (at most `max`). */
export async function failureMessages(r: FailureReport, max = 60): Promise<string> {
  const sends = r.cluster.trace.events.filter((e) => e.kind === 'send' && e.t <= r.failure.time);
  const from = sends.length > max ? sends[sends.length - max]!.t : 0;
  return messageDiagram(r.cluster, { from, to: r.failure.time, maxMessages: max, title: `${r.scenario} seed ${r.seed}: the last messages before the failure` });
}

/**
 * Show an SVG in the notebook's output when running inside the tslab kernel; elsewhere (tests, scripts) do
 * nothing and return false.
 */
export function showInNotebook(svg: string): boolean {
  let tslab: { display: { svg(s: string): void } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tslab = require('tslab') as typeof tslab;
  } catch {
    return false;
  }
  try {
    tslab.display.svg(svg);
    return true;
  } catch {
    return false;
  }
}
