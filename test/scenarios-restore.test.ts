/**
 * Notebook 03's scenarios: Persist1-3 and Churn with every start and restart going through the student's restore
 * (isolated, like a handler). A correct restore passes on every seed; each way of losing persistent state fails
 * every scenario with a report that names the lost field, shrinks to a crash and a restart, and replays.
 */
import { strict as assert } from 'node:assert';
import { HandlerError } from '../lib/raft/context';
import { replayScenario, runScenarioChecks } from '../lib/course/scenarios/grade';
import { isolatedRestore, raftosFiles, restartDifference, restartThrough, stateProblem, type Restore } from '../lib/course/restore';
import { createRaftNode } from '../lib/raft/node';
import { Cluster } from '../lib/sim/cluster';
import type { PersistentState } from '../lib/raft/types';

const persistTests = ['Persist1', 'Persist2', 'Persist3', 'Churn'];

// Written as a student writes them: self-contained, JSON.parse and string methods only.
function restore(storageText: string, logText: string): PersistentState {
  const storage = storageText.trim() === '' ? {} : JSON.parse(storageText);
  const log = logText.split('\n').filter((l) => l.trim() !== '').map((l) => { const e = JSON.parse(l); return { term: e.term, command: e.command }; });
  return { currentTerm: storage.term ?? 0, votedFor: storage.voted_for ?? null, log };
}
function forgetsVote(storageText: string, logText: string): PersistentState {
  const storage = storageText.trim() === '' ? {} : JSON.parse(storageText);
  const log = logText.split('\n').filter((l) => l.trim() !== '').map((l) => { const e = JSON.parse(l); return { term: e.term, command: e.command }; });
  return { currentTerm: storage.term ?? 0, votedFor: null, log };
}
function dropsLastEntry(storageText: string, logText: string): PersistentState {
  const storage = storageText.trim() === '' ? {} : JSON.parse(storageText);
  const log = logText.split('\n').filter((l) => l.trim() !== '').map((l) => { const e = JSON.parse(l); return { term: e.term, command: e.command }; });
  return { currentTerm: storage.term ?? 0, votedFor: storage.voted_for ?? null, log: log.slice(0, -1) };
}
function termFromLog(storageText: string, logText: string): PersistentState {
  void storageText;
  const log = logText.split('\n').filter((l) => l.trim() !== '').map((l) => { const e = JSON.parse(l); return { term: e.term, command: e.command }; });
  return { currentTerm: log.length > 0 ? log[log.length - 1].term : 0, votedFor: null, log };
}
function dropsCommands(storageText: string, logText: string): PersistentState {
  const storage = storageText.trim() === '' ? {} : JSON.parse(storageText);
  const log = logText.split('\n').filter((l) => l.trim() !== '').map((l) => ({ term: JSON.parse(l).term, command: null }));
  return { currentTerm: storage.term ?? 0, votedFor: storage.voted_for ?? null, log };
}
function throwsOnAnEntry(storageText: string, logText: string): PersistentState {
  if (logText.length > 0) throw new Error('cannot read the log');
  return { currentTerm: storageText.trim() === '' ? 0 : JSON.parse(storageText).term, votedFor: null, log: [] };
}

describe('scenarios on a student restore (notebook 03)', () => {
  it('a correct restore, run isolated, passes Persist1-3 and Churn on every seed', () => {
    const g = runScenarioChecks({ restore }, persistTests, { seeds: [1, 2, 3] });
    assert.equal(g.result.score, g.result.max, JSON.stringify(g.result.checks.filter((c) => !c.passed).map((c) => c.message)));
    assert.equal(g.result.max, 17);
  });

  const broken: [string, Restore, RegExp][] = [
    ['forgets votedFor', forgetsVote, /votedFor null where it saved n\d \(in term \d+\)/],
    ['drops the last entry', dropsLastEntry, /log entries where it saved/],
    ['takes currentTerm from the log', termFromLog, /currentTerm \d+ where it saved \d+|votedFor null where it saved/],
    ['loses the commands', dropsCommands, /log\[1\] = \{"term":\d+,"command":null\} where it saved \{"term":\d+,"command":\{/],
  ];
  for (const [what, bad, lost] of broken) {
    it(`a restore that ${what} fails every Persist test, naming what the restart lost, shrunk and replayable`, async () => {
      const g = runScenarioChecks({ restore: bad }, persistTests, { seeds: [1, 2, 3], implName: '{ restore }' });
      assert.equal(g.result.score, 0);
      assert.equal(g.failures.length, persistTests.length);
      for (const r of g.failures) {
        assert.equal(r.failure.what, 'restart', `${r.scenario}: ${r.failure.detail}`);
        assert.match(r.failure.detail, lost);
        assert.match(r.diagnosis.rule, /persistent state .* survives a crash/);
        assert.doesNotMatch(r.diagnosis.rule + r.diagnosis.why, /JSON\.parse|split\(/, 'the hint names the rule, not the code');
        assert.ok(r.faults.length <= 2 && r.faults.some((f) => f.kind === 'crash'), `${r.scenario} shrunk to ${JSON.stringify(r.faults)}`);
        assert.match(r.replay, new RegExp(`^await replayScenario\\('${r.scenario}', \\{ restore \\}, \\{ seed: ${r.seed}, faults: \\[`));
        const again = await replayScenario(r.scenario, { restore: bad }, { seed: r.seed, faults: r.faults, print: false, pictures: false });
        assert.equal(again.failure?.what, 'restart');
        assert.equal(again.failure?.detail, r.failure.detail);
      }
    });
  }

  it('a restore that throws is reported as restore breaking its contract, with the student\'s frame and none of the host\'s', () => {
    const g = runScenarioChecks({ restore: throwsOnAnEntry }, ['Persist1'], { seeds: [1] });
    const r = g.failures[0]!;
    assert.equal(r.failure.kind, 'handler');
    assert.equal(r.failure.what, 'restore');
    assert.match(r.failure.detail, /restarting 127\.0\.0\.1:80\d\d from its files: Error: cannot read the log/);
    assert.match(r.failure.detail, /throwsOnAnEntry \(restore\.js/);
    assert.doesNotMatch(r.failure.detail, /isolate\.ts|\/lib\//);
  });

  it('a restore that returns something that is not a persistent state fails the check without running, naming the field', () => {
    const g = runScenarioChecks({ restore: function wrongType() { return { currentTerm: '0', votedFor: null, log: [] }; } as unknown as Restore }, ['Persist1'], { seeds: [1] });
    assert.equal(g.result.score, 0);
    assert.match(g.result.checks[0]!.message, /the servers could not start: restore failed on .*currentTerm is "0", not a whole number >= 0.*\nrule to check: a server restarts from exactly the persistent state it saved/);
  });

  it('a student restore reaches nothing but its arguments', () => {
    const peeks = isolatedRestore(function peeks() { return { currentTerm: typeof process === 'undefined' ? 0 : 99, votedFor: null, log: [] }; } as unknown as Restore);
    assert.equal(peeks('', '').currentTerm, 0);
    const usesOutside = isolatedRestore((s, l) => restore(s, l));
    assert.throws(() => usesOutside('', ''), /restore is not defined/);
  });

  it('stateProblem names what is wrong with a restored state', () => {
    const members = ['a', 'b', 'c'];
    assert.equal(stateProblem({ currentTerm: 2, votedFor: 'b', log: [{ term: 1, command: 1 }, { term: 2, command: null }] }, members), null);
    assert.match(stateProblem(null, members)!, /returned null/);
    assert.match(stateProblem({ currentTerm: -1, votedFor: null, log: [] }, members)!, /currentTerm is -1/);
    assert.match(stateProblem({ currentTerm: 1, votedFor: 'z', log: [] }, members)!, /votedFor is "z", not null or a server/);
    assert.match(stateProblem({ currentTerm: 1, votedFor: null, log: {} }, members)!, /log is \{\}/);
    assert.match(stateProblem({ currentTerm: 3, votedFor: null, log: [{ term: 2, command: 1 }, { term: 1, command: 1 }] }, members)!, /log\[2\] has term 1 after an entry of term 2/);
    assert.match(stateProblem({ currentTerm: 1, votedFor: null, log: [{ term: 1 }] }, members)!, /log\[1\] has no command/);
  });

  it('restartDifference names each field a restart changed, and nothing when it changed none', () => {
    const saved = { currentTerm: 3, votedFor: 'b', log: [{ term: 1, command: { x: 1 } }, { term: 3, command: null }] };
    assert.equal(restartDifference(saved, { ...saved, log: saved.log.map((e) => ({ ...e })) }), null);
    assert.equal(restartDifference(saved, { ...saved, votedFor: null }), 'votedFor null where it saved b (in term 3)');
    assert.equal(restartDifference(saved, { ...saved, currentTerm: 0, log: saved.log.slice(0, 1) }), 'currentTerm 0 where it saved 3; 1 log entries where it saved 2');
    assert.equal(restartDifference(saved, { ...saved, log: [{ term: 1, command: { x: 2 } }, saved.log[1]!] }), 'log[1] = {"term":1,"command":{"x":2}} where it saved {"term":1,"command":{"x":1}}');
  });

  it('restartThrough starts each server from what restore read back from raftos\'s files', () => {
    const seen: string[] = [];
    const spy: Restore = (s, l) => {
      seen.push(s);
      return restore(s, l);
    };
    const c = new Cluster({ nodes: 3, seed: 4, createNode: restartThrough(spy, createRaftNode) });
    c.runUntil((x) => x.leader() !== null, { timeout: 3000 });
    c.propose({ data_id: 1 });
    c.runFor(300);
    const id = c.ids[1]!;
    const before = c.status(id);
    c.crash(id);
    c.restart(id);
    assert.equal(seen.at(-1), raftosFiles({ currentTerm: before.term, votedFor: before.votedFor, log: before.log }).storage);
    assert.deepEqual(c.status(id).log, before.log);
    assert.throws(
      () => restartThrough(() => { throw new Error('x'); }, createRaftNode)({ id: 'a', peers: ['a'], random: Math.random } as never, { currentTerm: 0, votedFor: null, log: [] }, 0),
      (e: unknown) => e instanceof HandlerError && e.handler === 'restore' && /without throwing/.test(e.rule),
    );
  });
});
