/**
 * Figure 2's rules, one table per named function in lib/raft/rules.ts, and proof that RaftNode really
 * calls the rules it is given (a student's version, or the bug zoo's broken one).
 */
import { strict as assert } from 'node:assert';
import {
  advanceCommitIndex,
  checkConsistency,
  electionTimeout,
  figure2Rules,
  grantVote,
  logIsUpToDate,
  type CommitContext,
  type LogView,
  type RaftRules,
  type VoteContext,
} from '../lib/raft/rules';
import { Cluster } from '../lib/sim/cluster';
import {
  appendEntries,
  appendReply,
  leader,
  makeNode,
  n1,
  n2,
  n3,
  onlyMessage,
  persisted,
  requestVote,
} from './helpers/core';

/** A LogView over entries with the given terms (index 1 is the first). */
function logOf(...terms: number[]): LogView {
  return {
    lastIndex: terms.length,
    termAt: (i) => (i === 0 ? 0 : i < 0 || i > terms.length ? undefined : terms[i - 1]),
  };
}

describe('Figure 2 rules (lib/raft/rules.ts)', () => {
  describe('logIsUpToDate (§5.4.1)', () => {
    const mine = { lastLogIndex: 3, lastLogTerm: 2 };
    const cases = [
      { candidate: { lastLogIndex: 1, lastLogTerm: 3 }, expected: true, why: 'higher last term wins even when shorter' },
      { candidate: { lastLogIndex: 9, lastLogTerm: 1 }, expected: false, why: 'lower last term loses even when longer' },
      { candidate: { lastLogIndex: 3, lastLogTerm: 2 }, expected: true, why: 'identical is up to date' },
      { candidate: { lastLogIndex: 4, lastLogTerm: 2 }, expected: true, why: 'same term, longer' },
      { candidate: { lastLogIndex: 2, lastLogTerm: 2 }, expected: false, why: 'same term, shorter' },
      { candidate: { lastLogIndex: 0, lastLogTerm: 0 }, expected: false, why: 'empty against non-empty' },
    ];
    for (const c of cases) {
      it(`${c.why}: ${JSON.stringify(c.candidate)} vs ${JSON.stringify(mine)} -> ${c.expected}`, () => {
        assert.equal(logIsUpToDate(c.candidate, mine), c.expected);
      });
    }
    it('two empty logs are equally up to date', () => {
      assert.equal(logIsUpToDate({ lastLogIndex: 0, lastLogTerm: 0 }, { lastLogIndex: 0, lastLogTerm: 0 }), true);
    });
  });

  describe('grantVote (RequestVote receiver rules 1-2)', () => {
    const ctx = (over: Partial<VoteContext> & { term?: number }): VoteContext => ({
      currentTerm: 3,
      votedFor: null,
      candidateLogUpToDate: true,
      request: requestVote(over.term ?? 3, n2),
      ...over,
    });
    const cases: { ctx: VoteContext; expected: boolean; why: string }[] = [
      { ctx: ctx({}), expected: true, why: 'not voted yet, log up to date' },
      { ctx: ctx({ votedFor: n2 }), expected: true, why: 'already voted for this candidate (a retry)' },
      { ctx: ctx({ votedFor: n3 }), expected: false, why: 'already voted for another candidate this term' },
      { ctx: ctx({ candidateLogUpToDate: false }), expected: false, why: "candidate's log is behind" },
      { ctx: ctx({ term: 2 }), expected: false, why: 'stale term' },
      { ctx: ctx({ term: 2, votedFor: n2 }), expected: false, why: 'stale term even from the candidate voted for' },
    ];
    for (const c of cases) {
      it(`${c.why} -> ${c.expected}`, () => assert.equal(grantVote(c.ctx), c.expected));
    }
  });

  describe('checkConsistency (AppendEntries receiver rule 2, with the fast-backtracking hint)', () => {
    const log = logOf(1, 1, 2, 2, 2, 4);
    const cases = [
      { prev: [0, 0], expected: { ok: true }, why: 'index 0 always matches' },
      { prev: [6, 4], expected: { ok: true }, why: 'last entry matches' },
      { prev: [3, 2], expected: { ok: true }, why: 'a middle entry matches' },
      { prev: [7, 4], expected: { ok: false, conflictIndex: 7 }, why: 'one past the end: conflictIndex = lastIndex + 1' },
      { prev: [20, 9], expected: { ok: false, conflictIndex: 7 }, why: 'far past the end: conflictIndex = lastIndex + 1' },
      { prev: [5, 3], expected: { ok: false, conflictIndex: 3, conflictTerm: 2 }, why: 'term mismatch: the term found and its first index' },
      { prev: [6, 5], expected: { ok: false, conflictIndex: 6, conflictTerm: 4 }, why: 'mismatch on the last entry' },
      { prev: [2, 3], expected: { ok: false, conflictIndex: 1, conflictTerm: 1 }, why: 'mismatch in the first term' },
    ];
    for (const c of cases) {
      it(`${c.why}: prevLogIndex ${c.prev[0]}, prevLogTerm ${c.prev[1]}`, () => {
        assert.deepEqual(checkConsistency(log, c.prev[0]!, c.prev[1]!), c.expected);
      });
    }
    it('an empty log accepts only prevLogIndex 0', () => {
      assert.deepEqual(checkConsistency(logOf(), 0, 0), { ok: true });
      assert.deepEqual(checkConsistency(logOf(), 1, 1), { ok: false, conflictIndex: 1 });
    });
  });

  describe('advanceCommitIndex (Rules for Servers, Leaders, last bullet)', () => {
    const ctx = (matchIndexes: number[], terms: number[], currentTerm: number, commitIndex = 0): CommitContext => ({
      matchIndexes,
      currentTerm,
      commitIndex,
      log: logOf(...terms),
    });
    const cases = [
      { ctx: ctx([3, 3, 0], [1, 1, 1], 1), expected: 3, why: '2 of 3 store index 3 of the current term' },
      { ctx: ctx([3, 0, 0], [1, 1, 1], 1), expected: 0, why: 'only the leader stores it' },
      { ctx: ctx([0, 3, 3], [1, 1, 1], 1), expected: 3, why: 'the order of the servers does not matter' },
      { ctx: ctx([5, 4, 3, 2, 1], [1, 1, 1, 1, 1], 1), expected: 3, why: '5 servers: the median' },
      { ctx: ctx([4, 4, 1, 1], [1, 1, 1, 1], 1), expected: 1, why: '4 servers need 3: two are not a majority' },
      { ctx: ctx([2, 2, 2], [1, 2], 3), expected: 0, why: 'Figure 8: an entry of an earlier term is not committed by counting' },
      { ctx: ctx([3, 3, 2], [1, 2, 3], 3), expected: 3, why: 'a current-term entry commits, and everything below with it' },
      { ctx: ctx([3, 2, 2], [1, 2, 3], 3, 1), expected: 1, why: 'majority only on an old-term entry: unchanged' },
      { ctx: ctx([3, 3, 3], [1, 1, 1], 1, 5), expected: 5, why: 'never goes backwards' },
      { ctx: ctx([2], [1, 1], 1), expected: 2, why: 'a single server is its own majority' },
    ];
    for (const c of cases) {
      it(`${c.why} -> ${c.expected}`, () => assert.equal(advanceCommitIndex(c.ctx), c.expected));
    }
  });

  describe('electionTimeout (§5.2)', () => {
    const cases = [
      { random: 0, expected: 150 },
      { random: 0.5, expected: 225 },
      { random: 0.999, expected: 299.85 },
    ];
    for (const c of cases) {
      it(`maps random() = ${c.random} into [150, 300] -> ${c.expected}`, () => {
        assert.ok(Math.abs(electionTimeout(150, 300, () => c.random) - c.expected) < 1e-9);
      });
    }
    it('a fixed range gives a fixed timeout, and each call draws once', () => {
      let draws = 0;
      assert.equal(electionTimeout(200, 200, () => (draws++, 0.7)), 200);
      assert.equal(draws, 1);
    });
  });

  it('figure2Rules is frozen and holds exactly the five named rules', () => {
    assert.ok(Object.isFrozen(figure2Rules));
    assert.deepEqual(Object.keys(figure2Rules).sort(), ['advanceCommitIndex', 'checkConsistency', 'electionTimeout', 'grantVote', 'logIsUpToDate']);
    assert.equal(figure2Rules.grantVote, grantVote);
    assert.equal(figure2Rules.checkConsistency, checkConsistency);
  });
});

describe('RaftNode uses the rules it is given (options.rules)', () => {
  it('replacing one rule keeps Figure 2 for the others', () => {
    const never: RaftRules['grantVote'] = () => false;
    const node = makeNode(n1, { rules: { grantVote: never } });
    assert.equal(node.rules.grantVote, never);
    assert.equal(node.rules.logIsUpToDate, figure2Rules.logIsUpToDate);
    assert.equal(node.rules.advanceCommitIndex, figure2Rules.advanceCommitIndex);
  });

  it('a grantVote that always refuses: elections keep happening and no leader is ever elected', () => {
    const cluster = new Cluster({ nodes: 3, seed: 11, rules: { grantVote: () => false }, trace: 'state' });
    cluster.runFor(5000);
    assert.deepEqual(cluster.leaders(), []);
    assert.ok(cluster.statuses().every((s) => s.term >= 5), 'nodes time out and campaign again and again');
    const votes = cluster.trace.filter('vote');
    assert.ok(votes.length > 0 && votes.every((v) => !v.granted));
    // The same cluster with Figure 2's rule elects a leader quickly.
    const control = new Cluster({ nodes: 3, seed: 11, trace: 'off' });
    assert.ok(control.runUntil((c) => c.leader() !== null, { timeout: 1000 }));
  });

  it('grantVote receives the vote context the node computed', () => {
    const seen: VoteContext[] = [];
    const node = makeNode(n1, { persisted: persisted(2, [1, 2], n3), rules: { grantVote: (ctx) => (seen.push(ctx), grantVote(ctx)) } });
    node.step(n2, requestVote(2, n2, 1, 1), 1);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], { currentTerm: 2, votedFor: n3, request: requestVote(2, n2, 1, 1), candidateLogUpToDate: false });
  });

  it('an electionTimeout returning a constant is used for every timer reset', () => {
    const calls: [number, number][] = [];
    const node = makeNode(n1, {
      electionTimeout: { min: 100, max: 400 },
      rules: { electionTimeout: (min, max) => (calls.push([min, max]), 123) },
    });
    assert.equal(node.nextDeadline(), 123);
    node.tick(123); // becomes candidate, timer reset
    assert.equal(node.nextDeadline(), 246);
    node.step(n2, appendEntries({ term: 1, leaderId: n2 }), 300); // heard from a leader
    assert.equal(node.nextDeadline(), 423);
    assert.ok(calls.length >= 3);
    assert.ok(calls.every(([min, max]) => min === 100 && max === 400), 'the rule receives the configured range');
    // In a cluster, every node times out at exactly 123 ms: the first election starts then.
    const cluster = new Cluster({ nodes: 3, seed: 3, rules: { electionTimeout: () => 123 }, trace: 'state' });
    cluster.runFor(200);
    const timeouts = cluster.trace.filter('timeout');
    assert.ok(timeouts.length > 0);
    assert.equal(timeouts[0]!.t, 123);
  });

  it('logIsUpToDate: a replacement decides the comparison (an always-false rule refuses even an identical log)', () => {
    const args: unknown[] = [];
    const node = makeNode(n1, {
      persisted: persisted(1, [1]),
      rules: { logIsUpToDate: (candidate, mine) => (args.push({ candidate, mine }), false) },
    });
    const ready = node.step(n2, requestVote(2, n2, 1, 1), 1);
    assert.equal(onlyMessage(ready, 'RequestVoteReply').voteGranted, false);
    assert.deepEqual(args, [{ candidate: { lastLogIndex: 1, lastLogTerm: 1 }, mine: { lastLogIndex: 1, lastLogTerm: 1 } }]);
  });

  it('checkConsistency: a replacement is consulted by followers, and its hint steers the leader', () => {
    const refuseAll: RaftRules['checkConsistency'] = () => ({ ok: false, conflictIndex: 1 });
    const follower = makeNode(n2, { rules: { checkConsistency: refuseAll } });
    const reply = onlyMessage(follower.step(n1, appendEntries({ term: 1, leaderId: n1, entries: [{ term: 1, command: null }] }), 1), 'AppendEntriesReply');
    assert.deepEqual(reply, appendReply(1, false, 0, { conflictIndex: 1 }));
    assert.equal(follower.lastIndex, 0);
    // In a cluster, followers that always refuse never store or commit anything.
    const cluster = new Cluster({ nodes: 3, seed: 5, rules: { checkConsistency: refuseAll }, trace: 'off' });
    assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 2000 }));
    const proposal = cluster.propose({ k: 1 });
    assert.ok(proposal.accepted);
    cluster.runFor(500);
    for (const s of cluster.statuses()) {
      assert.equal(s.commitIndex, 0, s.id);
      if (s.role !== 'leader') assert.equal(s.lastIndex, 0, s.id);
    }
  });

  it('advanceCommitIndex: a replacement decides commitment (one that never advances commits nothing), and sees every matchIndex', () => {
    const seen: CommitContext[] = [];
    const { node } = leader(n1, { rules: { advanceCommitIndex: (ctx) => (seen.push({ ...ctx, matchIndexes: [...ctx.matchIndexes] }), ctx.commitIndex) } });
    node.propose({ x: 1 }, 1);
    node.step(n2, appendReply(1, true, 1), 2);
    node.step(n3, appendReply(1, true, 1), 3);
    assert.equal(node.commitIndex, 0);
    const last = seen[seen.length - 1]!;
    assert.deepEqual(last.matchIndexes, [1, 1, 1], "the leader's own last index first, then each peer's matchIndex");
    assert.equal(last.currentTerm, 1);
    const cluster = new Cluster({ nodes: 3, seed: 5, rules: { advanceCommitIndex: (ctx) => ctx.commitIndex }, trace: 'off' });
    assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 2000 }));
    cluster.propose({ k: 1 });
    cluster.runFor(500);
    assert.ok(cluster.statuses().every((s) => s.commitIndex === 0 && s.lastIndex === 1));
  });
});
