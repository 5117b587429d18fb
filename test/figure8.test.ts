import { strict as assert } from 'node:assert';
import { Cluster, InvariantViolation, type RaftRules } from '../lib';

/**
 * The paper's Figure 8, scripted step by step on five servers S1-S5. Election timers are long, so only the
 * script's campaign() calls start elections, and the latency is fixed, so every step is exact.
 */
const S1 = 'S1', S2 = 'S2', S3 = 'S3', S4 = 'S4', S5 = 'S5';
const all = [S1, S2, S3, S4, S5];

function figure8Cluster(rules?: Partial<RaftRules>): Cluster {
  return new Cluster({
    nodes: all,
    seed: 8,
    network: { latency: { kind: 'fixed', ms: 1 } },
    timings: { electionTimeout: { min: 60_000, max: 60_000 }, heartbeatInterval: 20 },
    ...(rules ? { rules } : {}),
  });
}

/** Campaign until `id` reaches `term` (a campaign in a term whose votes are already cast fails). */
function elect(c: Cluster, id: string, term: number): void {
  while (c.status(id).term < term) {
    c.campaign(id);
    c.runFor(10);
  }
  assert.equal(c.status(id).role, 'leader', `${id} wins term ${term}`);
  assert.equal(c.status(id).term, term);
}

const terms = (c: Cluster, id: string) => c.status(id).log.map((e) => e.term);

/** Steps (a) to (c): S1 ends as leader of term 4 with its term-2 entry at index 2 on a majority. */
function stepsAtoC(c: Cluster): void {
  elect(c, S2, 1);
  c.propose({ x: 1 });
  c.runFor(50); // index 1 (term 1) everywhere and committed

  // (a) S1 leads term 2 and replicates index 2 only to S2.
  elect(c, S1, 2);
  c.partition([S1, S2], [S3, S4, S5]);
  c.propose({ x: 2 });
  c.runFor(50);
  assert.deepEqual(terms(c, S1), [1, 2]);
  assert.deepEqual(terms(c, S2), [1, 2]);
  assert.deepEqual(terms(c, S3), [1]);
  assert.equal(c.status(S1).commitIndex, 1, 'two copies of five: not committed');

  // (b) S1 crashes; S5 is elected for term 3 by S3, S4 and itself, and takes a different entry at index 2.
  c.crash(S1);
  c.heal();
  elect(c, S5, 3);
  c.disconnect(S5);
  c.propose({ x: 3 });
  c.runFor(50);
  assert.deepEqual(terms(c, S5), [1, 3]);

  // (c) S5 crashes; S1 restarts, is elected for term 4 (S2, S3, S4 vote), and copies its term-2 entry to a majority.
  c.crash(S5);
  c.connect(S5);
  c.restart(S1);
  elect(c, S1, 4);
  c.runFor(50);
  for (const id of [S1, S2, S3, S4]) assert.deepEqual(terms(c, id), [1, 2], id);
}

describe('Figure 8, scripted step by step', () => {
  it('(c) an entry of term 2 stored on a majority is not committed by the leader of term 4', () => {
    const c = figure8Cluster();
    stepsAtoC(c);
    assert.ok(c.status(S1).commitIndex < 2, `commitIndex ${c.status(S1).commitIndex}`);
  });

  it('(d) and rightly so: S5 can still be elected and overwrite it on every server', () => {
    const c = figure8Cluster();
    stepsAtoC(c);
    c.crash(S1);
    c.restart(S5);
    elect(c, S5, 5); // its last log term (3) beats theirs (2)
    c.propose({ x: 5 });
    c.runFor(50);
    for (const id of [S2, S3, S4, S5]) assert.deepEqual(terms(c, id), [1, 3, 5], id);
    assert.deepEqual(c.status(S2).state, { x: 5 });
    assert.deepEqual(c.appliedAt(S2, 2)?.command, { x: 3 });
  });

  it('(e) once an entry of its own term is on a majority, both commit, and S5 can no longer win', () => {
    const c = figure8Cluster();
    stepsAtoC(c);
    c.propose({ x: 4 });
    c.runFor(50);
    assert.equal(c.status(S1).commitIndex, 3, 'index 3 (term 4) commits, and index 2 with it');
    c.crash(S1);
    c.restart(S5);
    c.campaign(S5);
    c.runFor(10);
    assert.notEqual(c.status(S5).role, 'leader', 'S2, S3 and S4 hold term-4 entries: S5 (last term 3) is refused');
    elect(c, S2, c.status(S5).term + 1);
    c.runFor(50);
    assert.deepEqual(terms(c, S5), [1, 2, 4], "S5's term-3 entry is replaced by the committed ones");
  });

  it('with the Figure 8 rule broken (commit by counting), the same script loses a committed entry and the monitor stops it', () => {
    const countsReplicas: Partial<RaftRules> = {
      advanceCommitIndex: ({ matchIndexes, commitIndex }) => {
        const sorted = [...matchIndexes].sort((a, b) => b - a);
        return Math.max(commitIndex, sorted[Math.floor(matchIndexes.length / 2)]!);
      },
    };
    const c = figure8Cluster(countsReplicas);
    stepsAtoC(c);
    assert.equal(c.status(S1).commitIndex, 2, 'the broken rule commits index 2 in step (c)');
    c.crash(S1);
    c.restart(S5);
    assert.throws(
      () => elect(c, S5, 5),
      (e: unknown) => e instanceof InvariantViolation && e.property === 'Leader Completeness' && /S5 became leader of term 5/.test(e.detail),
    );
  });
});
