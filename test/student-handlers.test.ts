/**
 * Broken student implementations (each the reference with one rule of Figure 2 changed, and every bug-zoo
 * variant) fail some scenario, and the failure names the broken rule; unit checks on a fakeContext catch single
 * handlers; every student node is built by studentNodeFactory.
 */
import { strict as assert } from 'node:assert';
import { runChecks } from '../lib/course/autograder';
import { fakeContext } from '../lib/course/fake-context';
import { fakeNode, fakePeers } from '../lib/course/fake-node';
import { requestVoteChecks, requestVoteReplyChecks } from '../lib/course/handler-checks';
import { scenarioByName, scenarioNames } from '../lib/course/scenarios/catalog';
import { runScenarioChecks } from '../lib/course/scenarios/grade';
import { runScenario } from '../lib/course/scenarios/run';
import { studentNodeFactory } from '../lib/course/student-node';
import { zooVariants } from '../lib/fuzz/zoo';
import { figure2Handlers, onRequestVote } from '../lib/raft/handlers';
import { Cluster } from '../lib/sim/cluster';
import { brokenFixtures } from './fixtures/broken-handlers/index';

/** Caught by the handler unit checks, not by a scenario: a stale granted vote rarely decides an election. */
const unitOnly = new Set(['no-term-check-on-vote-replies']);

const zooNames: Record<string, RegExp> = {
  'commit-earlier-term': /log\[N\]\.term == currentTerm/,
  'keep-vote-on-new-term': /votedFor = null/,
  'vote-twice': /votedFor is null or candidateId/,
  'answer-before-persisting': /updated on stable storage before responding to RPCs/,
  'no-up-to-date-check': /up-to-date check/,
  'keep-conflicting-suffix': /AppendEntries receiver rule 3/,
};

function failedMessages(result: ReturnType<typeof runScenarioChecks>['result']): string[] {
  return result.checks.filter((c) => !c.passed).map((c) => c.message);
}

describe('broken student implementations', () => {
  for (const variant of zooVariants) {
    it(`bug zoo ${variant.name}: a scenario fails and names the broken rule`, () => {
      const impl = { ...(variant.rules ? { rules: variant.rules } : {}), ...(variant.handlers ? { handlers: variant.handlers } : {}) };
      const { result } = runScenarioChecks(impl, scenarioNames, { ...(variant.bugs ? { bugs: variant.bugs } : {}) });
      const messages = failedMessages(result);
      assert.ok(messages.length > 0, `${variant.name} passed every scenario`);
      const rule = zooNames[variant.name];
      assert.ok(rule, `no expected rule for ${variant.name}`);
      assert.ok(messages.some((m) => rule.test(m)), `${variant.name}: no failure names ${rule}:\n${messages.join('\n---\n')}`);
    });
  }

  it('there are at least ten broken student handlers besides the zoo', () => {
    assert.ok(brokenFixtures.length - unitOnly.size >= 10, `${brokenFixtures.length} fixtures`);
    assert.equal(new Set(brokenFixtures.map((f) => f.name)).size, brokenFixtures.length);
  });

  for (const fixture of brokenFixtures.filter((f) => !unitOnly.has(f.name))) {
    it(`${fixture.name}: a scenario fails and names "${fixture.broken}"`, () => {
      const { result, failures } = runScenarioChecks(fixture.impl, fixture.graded);
      const messages = failedMessages(result);
      assert.ok(messages.length > 0, `${fixture.name} passed ${fixture.graded.join(', ')}`);
      assert.ok(messages.some((m) => fixture.names.test(m)), `${fixture.name}: no failure names ${fixture.names}:\n${messages.join('\n---\n')}`);
      // Each report's shrunk faults still fail the same way, and its replay line carries them.
      for (const r of failures) {
        const again = runScenario(scenarioByName(r.scenario), fixture.impl, { seed: r.seed, faults: r.faults });
        assert.deepEqual(again.failure, r.failure, `${r.scenario} seed ${r.seed}`);
        assert.ok(r.replay.includes(`seed: ${r.seed}`));
      }
    });
  }

  it('the handler unit checks catch what the scenarios miss (a stale vote counted), and pass the reference', async () => {
    const stale = brokenFixtures.find((f) => f.name === 'no-term-check-on-vote-replies')!;
    const broken = await runChecks(requestVoteReplyChecks(stale.impl.handlers!.onRequestVoteReply!));
    assert.equal(broken.passed, false);
    const failed = broken.checks.filter((c) => !c.passed);
    assert.deepEqual(failed.map((c) => c.id), ['votes.stale-term']);
    assert.match(failed[0]!.message, /count only votes of its current term/);
    assert.equal((await runChecks(requestVoteReplyChecks(figure2Handlers.onRequestVoteReply))).passed, true);
    assert.equal((await runChecks(requestVoteChecks(figure2Handlers.onRequestVote))).passed, true);
  });

  it('the RequestVote unit checks name the rule a broken receiver breaks', async () => {
    for (const [name, id, rule] of [
      ['no-persist-before-reply', 'vote.grant', /before responding to RPCs/],
      ['votes-twice', 'vote.once', /one vote per term/],
    ] as const) {
      const fixture = brokenFixtures.find((f) => f.name === name)!;
      const result = await runChecks(requestVoteChecks(fixture.impl.handlers!.onRequestVote!));
      const c = result.checks.find((x) => x.id === id)!;
      assert.equal(c.passed, false, name);
      assert.match(c.message, rule);
    }
  });
});

describe('fakeContext', () => {
  it('records what a handler did, in order: granted, persisted before replying, reset the timer', () => {
    const ctx = fakeContext({ currentTerm: 2, log: [1, 1, 2] });
    onRequestVote(ctx, 'S2', { type: 'RequestVote', term: 2, candidateId: 'S2', lastLogIndex: 3, lastLogTerm: 2 });
    assert.deepEqual(ctx.order(), ['set', 'persist', 'resetElectionTimer', 'send']);
    assert.equal(ctx.sent('RequestVoteReply')[0]!.message.voteGranted, true);
    assert.deepEqual(ctx.sentBeforePersist(), []);
    assert.equal(ctx.persisted.votedFor, 'S2');
    assert.deepEqual(ctx.logTerms(), [1, 1, 2]);
  });

  it('flags a message sent before the state it depends on was persisted', () => {
    const ctx = fakeContext({ currentTerm: 1 });
    ctx.currentTerm = 2;
    ctx.send('S2', { type: 'RequestVoteReply', term: 2, voteGranted: false });
    assert.deepEqual(ctx.sentBeforePersist().map((e) => e.unpersisted), [['currentTerm']]);
    ctx.persist();
    ctx.clearEvents();
    ctx.send('S2', { type: 'RequestVoteReply', term: 2, voteGranted: false });
    assert.deepEqual(ctx.sentBeforePersist(), []);
  });

  it('records role changes, applies (in order or not) and the calls of other handlers', () => {
    const ctx = fakeContext({ role: 'leader', currentTerm: 3, log: [1, 3, 3], commitIndex: 3, nextIndex: { S2: 2, S3: 4 }, matchIndex: { S2: 1, S3: 3 } });
    figure2Handlers.onHeartbeatTimeout(ctx);
    const appends = ctx.sent('AppendEntries');
    assert.deepEqual(appends.map((a) => [a.to, a.message.prevLogIndex, a.message.entries.length]), [['S2', 1, 2], ['S3', 3, 0]]);
    assert.equal(ctx.count('call'), 2);
    figure2Handlers.applyCommitted(ctx);
    assert.deepEqual(ctx.appliedIndexes(), [1, 2, 3]);
    ctx.apply(3);
    assert.deepEqual(ctx.events.at(-1), { kind: 'apply', index: 3, entry: ctx.log.entryAt(3), inOrder: false });
    ctx.becomeFollower('test');
    assert.equal(ctx.role, 'follower');
    assert.equal(ctx.nextIndex.size, 0);
  });
});

describe('studentNodeFactory', () => {
  it('builds every node of a cluster on the student\'s handlers (the rest are the reference ones)', () => {
    const calls: string[] = [];
    const cluster = new Cluster({
      nodes: 3,
      seed: 4,
      createNode: studentNodeFactory({
        inProcess: true,
        handlers: { onElectionTimeout: (ctx) => { calls.push(ctx.id); figure2Handlers.onElectionTimeout(ctx); } },
      }),
    });
    assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 3000 }));
    assert.ok(calls.length > 0);
    assert.ok(calls.every((id) => cluster.ids.includes(id)));
  });

  it('runs a student\'s code isolated: only its source is used, so a name from outside it is not there', () => {
    const calls: string[] = [];
    const cluster = new Cluster({
      nodes: 3,
      seed: 4,
      createNode: studentNodeFactory({ handlers: { onElectionTimeout: (ctx) => { calls.push(ctx.id); } } }),
    });
    assert.throws(() => cluster.runFor(3000), /calls is not defined/);
    assert.equal(calls.length, 0);
  });

  it('a student handler that throws is reported naming the handler, not as a stack trace', () => {
    const run = runScenario(scenarioByName('InitialElection'), { handlers: { onElectionTimeout: () => { throw new Error('not written yet'); } } }, { seed: 1 });
    assert.equal(run.failure?.kind, 'handler');
    assert.equal(run.failure?.what, 'onElectionTimeout');
    assert.match(run.failure!.detail, /not written yet/);
  });
});

describe('fakeNode (the notebooks\' view of fakeContext)', () => {
  it('lab ids, events without the field assignments, persists with the log length, copies of what was sent', () => {
    const ctx = fakeNode({ log: [1] });
    assert.equal(ctx.id, '127.0.0.1:8000');
    assert.deepEqual(ctx.peers, [...fakePeers]);
    onRequestVote(ctx, fakePeers[0], { type: 'RequestVote', term: 1, candidateId: fakePeers[0], lastLogIndex: 1, lastLogTerm: 1 });
    assert.deepEqual(ctx.events.map((e) => e.kind), ['persist', 'resetElectionTimer', 'send']);
    assert.deepEqual(ctx.events[0], { kind: 'persist', currentTerm: 1, votedFor: fakePeers[0], logLength: 1 });
    assert.equal(ctx.persists, 1);
    assert.ok(ctx.first('persist') < ctx.first('send'));
    const reply = ctx.sent('RequestVoteReply')[0]!.message as { voteGranted: boolean };
    assert.equal(reply.voteGranted, true);
    assert.deepEqual(ctx.log.entryAt(1), { term: 1, command: { i: 1 } });
  });

  it('records the calls of the other handlers, and runs them only when wired', () => {
    const lead = (wire?: true) => fakeNode({ role: 'leader', currentTerm: 3, log: [1, 3], nextIndex: { [fakePeers[0]]: 2, [fakePeers[1]]: 3 }, ...(wire ? { wire } : {}) });
    const recorded = lead();
    recorded.sendAppendEntries(fakePeers[0]);
    assert.deepEqual(recorded.events, [{ kind: 'sendAppendEntries', peer: fakePeers[0] }]);
    const wired = lead(true);
    wired.sendAppendEntries(fakePeers[0]);
    assert.deepEqual(wired.events.map((e) => e.kind), ['sendAppendEntries', 'send']);
    assert.deepEqual(wired.sent('AppendEntries').map((s) => s.to), [fakePeers[0]]);
  });
});
