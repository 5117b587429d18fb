import { inspect } from 'node:util';
import { HandlerError } from '../../raft/context';
import type { Check, TaskResult } from '../checklist';
import type { Cluster } from '../../sim/cluster';
import { reportResult } from '../autograder';
import {
  buildFailureReport, describeFailure, failureMessages, failureTimeline, formatFailureReport, showInNotebook,
  type FailureReport,
} from '../failure-report';
import type { StudentImpl } from '../student-node';
import { scenarioByName, scenarioNames } from './catalog';
import { diagnose, type Diagnosis } from './diagnose';
import { describeFault, validateFaults, type Fault } from './plan';
import { runScenario, type RunOptions, type ScenarioFailure } from './run';

export { scenarioNames };

export const defaultSeeds: readonly number[] = Object.freeze([1, 2, 3]);

export interface GradeOptions {
  /** Seeds to run each scenario on (or how many: 1..n). Default 1, 2, 3. */
  readonly seeds?: readonly number[] | number;
  /** Draw the failing run's term timeline and message diagram in the notebook. Default true. */
  readonly pictures?: boolean;
  /** How the implementation is called in the notebook, for the replay line. Default 'impl'. */
  readonly implName?: string;
  /** Where pictures go (default: the notebook's output when in the kernel, else nowhere). */
  readonly show?: (svg: string) => void;
  /** Bug zoo only: a documented bug of the simulator's driver. */
  readonly bugs?: RunOptions['bugs'];
}

export interface ScenarioGrade {
  readonly result: TaskResult;
  /** One per failed scenario. */
  readonly failures: readonly FailureReport[];
}

function check(id: string, max: number, passed: boolean, message: string): Check {
  return { id, points: passed ? max : 0, max, passed, message };
}

function seedsOf(seeds: GradeOptions['seeds']): readonly number[] {
  if (seeds === undefined) return defaultSeeds;
  if (typeof seeds === 'number') {
    if (!(Number.isInteger(seeds) && seeds >= 1)) throw new RangeError(`seeds must be a positive integer or a list, got ${seeds}`);
    return Array.from({ length: seeds }, (_, i) => i + 1);
  }
  if (seeds.length === 0 || !seeds.every((s) => Number.isInteger(s) && s >= 0)) throw new RangeError('seeds must be a non-empty list of non-negative integers');
  return seeds;
}

/**
 * Run the scenarios on every seed and grade them: one check per scenario, worth its points, failed by its first
 * failing seed. Nothing is printed; see gradeScenarios for the notebook cell.
 */
export function runScenarioChecks(impl: StudentImpl, names: readonly string[], options: GradeOptions = {}): ScenarioGrade {
  const seeds = seedsOf(options.seeds);
  const checks: Check[] = [];
  const failures: FailureReport[] = [];
  for (const name of names) {
    const scenario = scenarioByName(name);
    const id = `${scenario.part}.${scenario.name}`;
    let report: FailureReport | null = null;
    let unstarted: string | null = null;
    for (const seed of seeds) {
      let run: ReturnType<typeof runScenario>;
      try {
        run = runScenario(scenario, impl, { seed, ...(options.bugs ? { bugs: options.bugs } : {}) });
      } catch (error) {
        // A server that cannot even start (its code does not load, restore throws on empty files) has no run to shrink.
        if (!(error instanceof HandlerError)) throw error;
        unstarted = `seed ${seed}: the servers could not start: ${error.handler} failed on ${error.node}, ${error.event}: ${error.detail}\nrule to check: ${error.rule}`;
        break;
      }
      if (!run.failure) continue;
      report = buildFailureReport(scenario, impl, seed, run.failure, run.faults, {
        ...(options.implName ? { implName: options.implName } : {}),
        ...(options.bugs ? { bugs: options.bugs } : {}),
      });
      break;
    }
    if (unstarted) {
      checks.push(check(id, scenario.points, false, `${scenario.description}\n${unstarted}`));
    } else if (report) {
      failures.push(report);
      checks.push(check(id, scenario.points, false, `${scenario.description}\n${formatFailureReport(report)}`));
    } else {
      checks.push(check(id, scenario.points, true, `${scenario.description} (seeds ${seeds.join(', ')})`));
    }
  }
  const score = checks.reduce((a, c) => a + c.points, 0);
  const max = checks.reduce((a, c) => a + c.max, 0);
  return { result: { score, max, passed: checks.every((c) => c.passed), checks }, failures };
}

/**
 * The autograder cell of a notebook: run the scenarios, show each failing run's term timeline and message
 * diagram, print the checklist (through reportResult, the single reporting point) and fail the cell when a
 * scenario fails.
 *
 *   await gradeScenarios('Leader election', impl, ['InitialElection', 'ReElection', 'ManyElections']);
 */
export async function gradeScenarios(
  title: string,
  impl: StudentImpl,
  names: readonly string[],
  options: GradeOptions = {},
): Promise<TaskResult> {
  const { result, failures } = runScenarioChecks(impl, names, options);
  if (options.pictures !== false) {
    for (const r of failures) await showPictures(r, options.show);
  }
  return reportResult(title, result);
}

async function showPictures(r: FailureReport, show?: (svg: string) => void): Promise<void> {
  const timeline = await failureTimeline(r);
  const messages = await failureMessages(r).catch(() => null); // a run that failed before any message has none
  const out = show ?? showInNotebook;
  out(timeline);
  if (messages) out(messages);
}

export interface ReplayOptions {
  readonly seed: number;
  /** The faults to run (default: the scenario's own, all of them). */
  readonly faults?: readonly Fault[];
  /** Draw the term timeline and message diagram. Default true. */
  readonly pictures?: boolean;
  readonly show?: (svg: string) => void;
  /** Print the outcome. Default true. */
  readonly print?: boolean;
  readonly bugs?: RunOptions['bugs'];
}

/** The outcome of a replay, printed short in a notebook (the traced cluster is on it for a closer look). */
export class ScenarioReplay {
  constructor(
    readonly scenario: string,
    readonly seed: number,
    readonly faults: readonly Fault[],
    readonly failure: ScenarioFailure | null,
    readonly diagnosis: Diagnosis | null,
    readonly cluster: Cluster,
  ) {}

  get passed(): boolean {
    return this.failure === null;
  }

  toString(): string {
    const head = `${this.scenario} seed ${this.seed} with ${this.faults.length} fault${this.faults.length === 1 ? '' : 's'}`;
    if (!this.failure) return `${head}: passed`;
    return [
      `${head}: FAILED: ${describeFailure(this.failure)}`,
      `rule to check: ${this.diagnosis!.rule}`,
      `why: ${this.diagnosis!.why}`,
      ...this.faults.map(describeFault),
    ].join('\n');
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Run one scenario again on one seed, with the given faults (e.g. the shrunk ones of a failure report), traced:
 * prints what happened and shows the term timeline and message diagram.
 *
 *   await replayScenario('Figure8', impl, { seed: 7, faults: [{ at: 1000, kind: 'disconnect', node: 2 }] })
 */
export async function replayScenario(name: string, impl: StudentImpl, options: ReplayOptions): Promise<ScenarioReplay> {
  const scenario = scenarioByName(name);
  if (!(Number.isInteger(options.seed) && options.seed >= 0)) throw new RangeError(`replayScenario: seed must be a non-negative integer, got ${options.seed}`);
  const servers = scenario.plan(options.seed).servers;
  const faults = options.faults === undefined ? undefined : validateFaults(options.faults, servers);
  const run = runScenario(scenario, impl, {
    seed: options.seed,
    trace: 'all',
    ...(faults ? { faults } : {}),
    ...(options.bugs ? { bugs: options.bugs } : {}),
  });
  const replay = new ScenarioReplay(name, options.seed, run.faults, run.failure, run.failure ? diagnose(run.failure, run.cluster, { restore: impl.restore !== undefined }) : null, run.cluster);
  if (options.print !== false) console.log(replay.toString());
  if (run.failure && options.pictures !== false) {
    const report: FailureReport = {
      scenario: name, seed: options.seed, failure: run.failure, original: run.failure, diagnosis: replay.diagnosis!,
      faultsBefore: run.faults.length, faults: run.faults, shrinkRuns: 0, minimal: false, replay: '', cluster: run.cluster,
    };
    await showPictures(report, options.show);
  }
  return replay;
}
