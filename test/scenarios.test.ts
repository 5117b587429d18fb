/**
 * The scenario grader (lib/course/scenarios): the reference handlers pass every scenario on every seed, and on
 * any subset of a scenario's faults (what makes shrinking sound); a failing run is shrunk, still fails, and its
 * replay line reproduces it; gradeScenarios reports through the autograder.
 */
import { strict as assert } from 'node:assert';
import { AutograderFailure } from '../lib/course/autograder';
import { scenarioByName, scenarios } from '../lib/course/scenarios/catalog';
import { defaultSeeds, gradeScenarios, replayScenario, runScenarioChecks, scenarioNames } from '../lib/course/scenarios/grade';
import { validateFaults, type Fault } from '../lib/course/scenarios/plan';
import { runScenario } from '../lib/course/scenarios/run';
import { figure2Handlers } from '../lib/raft/handlers';
import { zooVariant } from '../lib/fuzz/zoo';
import { Rng } from '../lib/sim/rng';

const reference = { handlers: figure2Handlers };
const commitEarlierTerm = { rules: zooVariant('commit-earlier-term').rules! };

/** The faults of a replay line, parsed back from its TypeScript literal. */
function faultsOfReplayLine(line: string): Fault[] {
  const m = /faults: (\[.*\]) \}\)$/.exec(line);
  assert.ok(m, `no faults in ${line}`);
  return JSON.parse(m[1]!.replace(/([a-zA-Z]+):/g, '"$1":').replace(/'/g, '"')) as Fault[];
}

describe('scenario grader', () => {
  it('has the 6.5840 scenarios of 3A, 3B and 3C, with points', () => {
    for (const name of ['InitialElection', 'ReElection', 'ManyElections', 'BasicAgree', 'FailAgree', 'FailNoAgree', 'Rejoin', 'Backup',
      'Figure8', 'UnreliableAgree', 'Figure8Unreliable', 'Persist1', 'Persist2', 'Persist3', 'Churn']) {
      assert.ok(scenarioNames.includes(name), name);
      assert.ok(scenarioByName(name).points > 0);
    }
    assert.throws(() => scenarioByName('Nope'), /no scenario "Nope" \(known: InitialElection/);
  });

  for (const scenario of scenarios) {
    it(`the reference handlers pass ${scenario.name} on every default seed`, () => {
      for (const seed of defaultSeeds) {
        const run = runScenario(scenario, reference, { seed });
        assert.equal(run.failure, null, `${scenario.name} seed ${seed}: ${JSON.stringify(run.failure)}`);
      }
    });
  }

  it('every subset of a scenario\'s faults is a fair scenario: the reference passes random subsets', () => {
    const rng = new Rng(65840);
    for (const scenario of scenarios) {
      const full = runScenario(scenario, reference, { seed: 1 });
      for (let k = 0; k < 4; k++) {
        const keep = rng.uniform(0.1, 0.9);
        const subset = full.faults.filter(() => rng.chance(keep));
        const run = runScenario(scenario, reference, { seed: 1, faults: subset });
        assert.equal(run.failure, null, `${scenario.name} with ${subset.length} of ${full.faults.length} faults: ${JSON.stringify(run.failure)}`);
      }
    }
  });

  it('the same seed and faults give the same run, event for event', () => {
    const a = runScenario(scenarioByName('Figure8Unreliable'), reference, { seed: 2, trace: 'all' });
    const b = runScenario(scenarioByName('Figure8Unreliable'), reference, { seed: 2, trace: 'off' });
    assert.equal(a.events, b.events);
    assert.deepEqual(a.faults, b.faults);
    assert.deepEqual(a.cluster.statuses().map((s) => s.log), b.cluster.statuses().map((s) => s.log));
  });

  it('a failing run is shrunk to fewer faults that still fail, and its replay line reproduces the failure', async () => {
    const { result, failures } = runScenarioChecks(commitEarlierTerm, ['Figure8'], { seeds: [1] });
    assert.equal(result.passed, false);
    const report = failures[0]!;
    assert.equal(report.failure.kind, 'safety');
    assert.equal(report.failure.what, 'Leader Completeness');
    assert.ok(report.faults.length < report.faultsBefore, `${report.faults.length} of ${report.faultsBefore}`);
    assert.ok(report.minimal);
    // The shrunk faults still fail the same way...
    const again = runScenario(scenarioByName('Figure8'), commitEarlierTerm, { seed: 1, faults: report.faults });
    assert.deepEqual(again.failure, report.failure);
    // ...and so does the line printed for the student.
    assert.match(report.replay, /^await replayScenario\('Figure8', impl, \{ seed: 1, faults: \[/);
    const pictures: string[] = [];
    const replay = await replayScenario('Figure8', commitEarlierTerm, { seed: 1, faults: faultsOfReplayLine(report.replay), print: false, show: (svg) => pictures.push(svg) });
    assert.equal(replay.passed, false);
    assert.deepEqual(replay.failure, report.failure);
    assert.match(String(replay), /Figure8 seed 1 with \d+ faults: FAILED: Leader Completeness/);
    assert.equal(pictures.length, 2, 'a term timeline and a message diagram');
    for (const svg of pictures) assert.match(svg, /^<svg/);
    // The reference passes the same replay.
    assert.equal((await replayScenario('Figure8', reference, { seed: 1, faults: report.faults, print: false, pictures: false })).passed, true);
  });

  it('gradeScenarios prints the checklist and passes with the reference handlers', async () => {
    const logged: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => logged.push(args.join(' '));
    try {
      const result = await gradeScenarios('Leader election', reference, ['InitialElection', 'ReElection'], { seeds: 2 });
      assert.equal(result.passed, true);
      assert.equal(result.max, 10);
    } finally {
      console.log = log;
    }
    assert.match(logged.join('\n'), /Autograder: Leader election\n\[x\] 3A.InitialElection +5\/5 .*\(seeds 1, 2\)/);
  });

  it('gradeScenarios fails the cell with the scenario, seed, rule, shrunk faults and replay line, pictures first', async () => {
    const out: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => out.push(args.join(' '));
    let failure: unknown;
    try {
      await gradeScenarios('Log replication', commitEarlierTerm, ['BasicAgree', 'Figure8'], { implName: 'myRaft', show: (svg) => out.push(`SVG ${svg.slice(0, 4)}`) });
    } catch (error) {
      failure = error;
    } finally {
      console.log = log;
    }
    assert.ok(failure instanceof AutograderFailure);
    assert.equal(failure.result.score, 4);
    assert.equal(failure.result.max, 9);
    const text = out.join('\n');
    assert.ok(text.indexOf('SVG <svg') < text.indexOf('Autograder: Log replication'), 'pictures come before the checklist');
    assert.match(text, /\[ \] 3B.Figure8 +0\/5/);
    assert.match(text, /seed 1 failed: Leader Completeness violated/);
    assert.match(text, /rule to check: Rules for Servers, Leaders: commit N only if a majority of matchIndex\[i\] >= N and log\[N\]\.term == currentTerm/);
    assert.match(text, /faults: shrunk from \d+ to the \d+ that still fail:/);
    assert.match(text, /replay: await replayScenario\('Figure8', myRaft, \{ seed: 1, faults: \[\{ at: /);
  });

  it('a message storm ends the run and is reported as one, naming heartbeats and retries', () => {
    const doubling = {
      handlers: {
        onAppendEntriesReply: (ctx: Parameters<typeof figure2Handlers.onAppendEntriesReply>[0], from: string, reply: Parameters<typeof figure2Handlers.onAppendEntriesReply>[2]) => {
          figure2Handlers.onAppendEntriesReply(ctx, from, reply);
          if (ctx.role === 'leader') {
            ctx.sendAppendEntries(from); // every reply answered twice: the traffic doubles each round trip
            ctx.sendAppendEntries(from);
          }
        },
      },
    };
    const { result, failures } = runScenarioChecks(doubling, ['BasicAgree'], { seeds: [1] });
    assert.equal(result.passed, false);
    assert.equal(failures[0]!.failure.what, 'storm');
    assert.match(result.checks[0]!.message, /a message storm/);
    assert.match(result.checks[0]!.message, /repeat them during idle periods/);
  });

  it('replay faults are checked, with errors naming the fault and field', async () => {
    assert.throws(() => validateFaults([{ at: 5, kind: 'crash', node: 7 }], 5), /faults\[0\]\.node must be a server number 0\.\.4/);
    assert.throws(() => validateFaults([{ at: -1, kind: 'crash', node: 1 }], 5), /faults\[0\]\.at must be a time/);
    assert.throws(() => validateFaults([{ at: 1, kind: 'explode', node: 1 }], 5), /faults\[0\]\.kind must be one of/);
    assert.throws(() => validateFaults([{ at: 1, kind: 'network', preset: 'awful' }], 5), /faults\[0\]\.preset must be/);
    await assert.rejects(replayScenario('Figure8', reference, { seed: 1, faults: 'all' as never, print: false }), /faults must be an array/);
  });
});
