/**
 * The SafetyMonitor (Figure 3's five properties): each property caught on a small hand-made history,
 * legal histories left alone, and, in a simulated cluster, known-broken rules caught with the seed and
 * event index that replay them.
 */
import { strict as assert } from 'node:assert';
import type { RaftRules } from '../lib/raft/rules';
import { SafetyMonitor, SafetyViolation, type SafetyProperty } from '../lib/raft/safety';
import type { LogEntry } from '../lib/raft/types';
import { runUnderNemesis } from '../lib/course/notebook-02';
import { Cluster, InvariantViolation } from '../lib/sim/cluster';

const e = (term: number, command: string | null): LogEntry => ({ term, command: command === null ? null : { v: command } });

/** Assert that `fn` raises a SafetyViolation of `property` whose detail matches `detail`. */
function raises(fn: () => void, property: SafetyProperty, detail?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SafetyViolation, `expected a SafetyViolation, got ${String(error)}`);
    assert.equal(error.property, property);
    if (detail) assert.match(error.detail, detail);
    assert.match(error.message, new RegExp(`^${property} violated`));
    return true;
  });
}

/** a leads term 1 and commits x at index 1 on a and b (of a, b, c). */
function committedX(): SafetyMonitor {
  const m = new SafetyMonitor();
  m.onLeader('a', 1);
  m.onLogWrite('a', 1, [e(1, 'x')], true);
  m.onLogWrite('b', 1, [e(1, 'x')], false);
  m.onCommit('a', 1, 1);
  return m;
}

describe('SafetyMonitor: Figure 3 on hand-made histories', () => {
  describe('each property is detected', () => {
    it('Election Safety: two leaders in one term', () => {
      const m = new SafetyMonitor();
      m.onLeader('a', 2);
      m.onLeader('a', 2); // the same leader reported twice is fine
      m.onLeader('b', 3);
      raises(() => m.onLeader('b', 2), 'Election Safety', /b and a were both leaders of term 2/);
    });

    it('Leader Append-Only: a leader overwriting or deleting its own entries', () => {
      const m = new SafetyMonitor();
      m.onLogWrite('a', 1, [e(1, 'x'), e(1, 'y')], true);
      m.onLogWrite('a', 3, [e(1, 'z')], true); // appending is fine
      raises(() => m.onLogWrite('a', 2, [e(1, 'w')], true), 'Leader Append-Only', /from index 2/);
      const n = new SafetyMonitor();
      n.onLogWrite('a', 1, [e(1, 'x'), e(1, 'y')], true);
      raises(() => n.onLogWrite('a', 2, [], true), 'Leader Append-Only');
    });

    it('Log Matching: same index and term with a different command', () => {
      const m = new SafetyMonitor();
      m.onLogWrite('a', 1, [e(1, 'x')], false);
      raises(() => m.onLogWrite('b', 1, [e(1, 'w')], false), 'Log Matching', /index 1 term 1/);
    });

    it('Log Matching: same index, term and command, but different entries before it', () => {
      const m = new SafetyMonitor();
      m.onLogWrite('a', 1, [e(1, 'x'), e(3, 'y')], false);
      m.onLogWrite('b', 1, [e(2, 'w')], false);
      raises(() => m.onLogWrite('b', 2, [e(3, 'y')], false), 'Log Matching', /differ before it/);
    });

    it('Leader Completeness: a new leader missing a committed entry', () => {
      const m = committedX();
      raises(() => m.onLeader('c', 2), 'Leader Completeness', /c became leader of term 2 without the entries committed up to index 1/);
      // A leader holding a different entry at a committed index is caught too.
      const n = committedX();
      n.onLogWrite('a', 2, [e(1, 'y')], true);
      n.onLogWrite('b', 2, [e(1, 'y')], false);
      n.onCommit('b', 2, 1); // y committed at index 2 in term 1
      n.onLogWrite('d', 1, [e(1, 'x'), e(2, 'q')], false); // d has x, then an entry of term 2 at index 2
      raises(() => n.onLeader('d', 3), 'Leader Completeness', /d became leader of term 3 without the entries committed up to index 2/);
    });

    it('State Machine Safety: two nodes apply different entries at an index', () => {
      const m = new SafetyMonitor();
      m.onLogWrite('a', 1, [e(1, 'x')], false);
      m.onLogWrite('b', 1, [e(2, 'y')], false);
      m.onApply('a', 1, e(1, 'x'));
      raises(() => m.onApply('b', 1, e(2, 'y')), 'State Machine Safety', /b applied .* at index 1, but a applied a different entry/);
    });

    it('State Machine Safety: two nodes commit different entries at an index, or commit past the end of the log', () => {
      const m = new SafetyMonitor();
      m.onLogWrite('a', 1, [e(1, 'x')], false);
      m.onLogWrite('b', 1, [e(2, 'y')], false);
      m.onCommit('a', 1, 1);
      raises(() => m.onCommit('b', 1, 2), 'State Machine Safety', /b committed index 1 with a different log/);
      raises(() => m.onCommit('a', 2, 1), 'State Machine Safety', /beyond its last log index 1/);
      raises(() => m.onApply('a', 2, e(1, 'z')), 'State Machine Safety', /not in its log/);
    });
  });

  describe('legal histories raise nothing', () => {
    it("a follower truncating uncommitted entries to take a new leader's (the committed prefix stays)", () => {
      const m = committedX();
      m.onLogWrite('a', 2, [e(1, 'y')], true); // y: only on a and c, never committed
      m.onLogWrite('c', 1, [e(1, 'x'), e(1, 'y')], false);
      m.onLeader('b', 2); // b lacks y, which is fine: y was not committed
      m.onLogWrite('b', 2, [e(2, 'z')], true);
      m.onLogWrite('c', 2, [e(2, 'z')], false); // c cuts y and takes z
      m.onCommit('b', 2, 2);
      m.onCommit('c', 2, 2);
      for (const node of ['b', 'c']) {
        m.onApply(node, 1, e(1, 'x'));
        m.onApply(node, 2, e(2, 'z'));
      }
      m.onRestart('a'); // the old leader comes back as a follower and is repaired too
      m.onLogWrite('a', 2, [e(2, 'z')], false);
      m.onCommit('a', 2, 2);
      m.onApply('a', 1, e(1, 'x'));
      m.onApply('a', 2, e(2, 'z'));
      assert.equal(m.committedIndex, 2);
      assert.equal(m.leaderOf(2), 'b');
    });

    it('a stale leader of an older term, still appending while a newer leader exists', () => {
      const m = committedX();
      m.onLeader('b', 2);
      m.onLogWrite('a', 2, [e(1, 'y')], true); // a has not heard of term 2 yet
      m.onLogWrite('c', 1, [e(1, 'x'), e(1, 'y')], false);
      m.onLeader('a', 1); // reported again: still the one leader of term 1
      m.onLogWrite('b', 2, [e(2, 'z')], true);
      m.onCommit('b', 2, 2);
      m.onLogWrite('a', 2, [e(2, 'z')], false); // a learns of term 2, steps down, is repaired
      m.onLogWrite('c', 2, [e(2, 'z')], false);
      assert.equal(m.leaderOf(1), 'a');
      assert.equal(m.leaderOf(2), 'b');
    });

    it('restarts that re-commit and re-apply the same entries', () => {
      const m = committedX();
      m.onLogWrite('a', 2, [e(1, 'y')], true);
      m.onLogWrite('b', 2, [e(1, 'y')], false);
      m.onCommit('a', 2, 1);
      m.onCommit('b', 2, 1);
      for (let round = 0; round < 3; round++) {
        for (const node of ['a', 'b']) {
          m.onApply(node, 1, e(1, 'x'));
          m.onApply(node, 2, e(1, 'y'));
          m.onRestart(node);
          m.onCommit(node, 1, 1);
          m.onCommit(node, 2, 1);
        }
      }
      assert.equal(m.committedIndex, 2);
    });

    it('a new leader holding every committed entry, with more uncommitted ones of its own', () => {
      const m = committedX();
      m.onLogWrite('b', 2, [e(1, 'y'), e(1, 'w')], false);
      m.onLeader('b', 2);
      m.onLeader('a', 3); // a has x (committed) but not y, w: fine, they were never committed
      assert.equal(m.leaderOf(3), 'a');
    });
  });
});

/** The broken rules of the bug zoo. */
const votesTwice: Partial<RaftRules> = {
  // Forgets "votedFor is null or candidateId": votes for every up-to-date candidate of the term.
  grantVote: (ctx) => ctx.request.term >= ctx.currentTerm && ctx.candidateLogUpToDate,
};
const commitsOldTermsByCounting: Partial<RaftRules> = {
  // Forgets Figure 8: commits whatever a majority stores, whatever its term.
  advanceCommitIndex: (ctx) => {
    const sorted = [...ctx.matchIndexes].sort((a, b) => b - a);
    return Math.max(sorted[Math.floor(ctx.matchIndexes.length / 2)] ?? 0, ctx.commitIndex);
  },
};
const anyLogIsUpToDate: Partial<RaftRules> = { logIsUpToDate: () => true };

/** The nemesis notebook 02 uses too: every 10-300 ms it proposes, crashes the leader, restarts, cuts off or heals. */
const underNemesis = (seed: number, rules?: Partial<RaftRules>) => runUnderNemesis(seed, rules);

const searchedSeeds = Array.from({ length: 150 }, (_, i) => i + 1);

describe('SafetyMonitor in a simulated cluster: known-broken rules are caught, with seed and event index', () => {
  const zoo: { name: string; rules: Partial<RaftRules>; property: SafetyProperty }[] = [
    { name: 'grantVote ignoring votedFor (votes twice in a term)', rules: votesTwice, property: 'Election Safety' },
    { name: 'advanceCommitIndex counting replicas of earlier-term entries (Figure 8)', rules: commitsOldTermsByCounting, property: 'Leader Completeness' },
    { name: 'logIsUpToDate always true (any log can win)', rules: anyLogIsUpToDate, property: 'Leader Completeness' },
  ];
  for (const bug of zoo) {
    it(`${bug.name} -> ${bug.property}`, () => {
      // A bounded, deterministic search: the first seed in 1..150 whose run breaks an invariant.
      let found: { seed: number; violation: InvariantViolation; cluster: Cluster } | null = null;
      for (const seed of searchedSeeds) {
        const { violation, cluster } = underNemesis(seed, bug.rules);
        if (violation) {
          found = { seed, violation, cluster };
          break;
        }
      }
      assert.ok(found, `no violation in seeds ${searchedSeeds[0]}..${searchedSeeds[searchedSeeds.length - 1]}`);
      const { seed, violation, cluster } = found;
      assert.equal(violation.property, bug.property, violation.message);
      assert.equal(violation.seed, seed);
      assert.match(violation.message, new RegExp(`${bug.property} violated at event #${violation.eventIndex} .*seed ${seed}\\)`));
      assert.ok(violation.excerpt.length > 0, 'the failure shows the last events');
      // The event index names the event where it happened: for these properties, a node becoming leader.
      assert.ok(Number.isInteger(violation.eventIndex) && violation.eventIndex < cluster.trace.count);
      const event = cluster.trace.events.find((ev) => ev.seq === violation.eventIndex);
      assert.ok(event && event.kind === 'role' && event.role === 'leader', `event #${violation.eventIndex} is ${JSON.stringify(event)}`);
      assert.ok(violation.detail.includes(event.node), 'the detail names the new leader');
      // The cluster refuses to carry on after a violation.
      assert.throws(() => cluster.step(), (err) => err === violation);
      // Same seed, same run: the violation replays exactly.
      const again = underNemesis(seed, bug.rules).violation;
      assert.ok(again);
      assert.equal(again.eventIndex, violation.eventIndex);
      assert.equal(again.detail, violation.detail);
      assert.equal(again.time, violation.time);
      // And it is the rule's fault: Figure 2's rules survive the very same nemesis.
      assert.equal(underNemesis(seed).violation, null);
    });
  }

  it("Figure 2's rules survive the nemesis on every searched seed", () => {
    for (const seed of searchedSeeds) {
      const { violation, cluster } = underNemesis(seed);
      assert.equal(violation, null, violation?.message);
      assert.ok(cluster.safety!.committedIndex > 0, `seed ${seed} committed nothing: the nemesis is too strong to test anything`);
    }
  });
});
