import { strict as assert } from 'node:assert';
import { nb06, type SessionTable } from '../lib';

/** The reference session table (dissertation 6.3), as the notebook's solution writes it. */
function applyOnce(table: SessionTable, clientId: string, seq: number, execute: () => unknown): { executed: boolean; result: unknown } {
  const session = table.get(clientId);
  if (session !== undefined && seq <= session.seq) return { executed: false, result: seq === session.seq ? session.result : null };
  const result = execute();
  table.set(clientId, { seq, result });
  return { executed: true, result };
}

describe("notebook 06's demos (lib/course/notebook-06.ts)", () => {
  it('addServer: the new server is a learner, not counted, until it has the committed log; then a voter', () => {
    const run = nb06.addServer();
    assert.ok(run.promotedAt > 0);
    const learning = run.samples.filter((s) => s.as === 'learner');
    assert.ok(learning.length > 0, 'sampled while it learns');
    for (const s of learning) assert.equal(s.voters, 3);
    assert.ok(learning.some((s) => s.newLast < s.leaderCommit), 'it starts behind');
    assert.ok(learning[learning.length - 1]!.leaderCommit > learning[0]!.leaderCommit, 'the cluster commits meanwhile');
    const voting = run.samples.filter((s) => s.as === 'voter');
    assert.ok(voting.length > 0);
    for (const s of voting) assert.equal(s.voters, 4);
    assert.ok(voting[0]!.newLast >= learning[learning.length - 1]!.leaderCommit, 'made a voter once caught up');
  });

  it('removeLeader: refused on the leader itself, done after a transfer; the removed one gets nothing more', () => {
    const run = nb06.removeLeader();
    assert.notEqual(run.oldLeader, run.newLeader);
    assert.match(run.steps[0]!, /refused: .*transfer the leadership/);
    assert.deepEqual([...run.cluster.configuration(run.newLeader).voters].sort(), run.cluster.ids.filter((id) => id !== run.oldLeader).sort());
    assert.match(run.steps[run.steps.length - 1]!, /accepted.*never received/);
  });

  it('removedServerCampaigns: the removed server climbs terms, the leader keeps its term and its leadership', () => {
    const run = nb06.removedServerCampaigns();
    assert.ok(run.removedTermAfter > run.leaderTermBefore + 3);
    assert.equal(run.leaderTermAfter, run.leaderTermBefore);
    assert.equal(run.leaderAfter, run.leader);
  });

  it('growAndShrink: 3, 4, 5, 4, 3 voters, one server a step', () => {
    const history = nb06.growAndShrink();
    assert.deepEqual(history.map((h) => h.length), [3, 4, 5, 4, 3]);
    for (let i = 1; i < history.length; i++) {
      const a = new Set(history[i - 1]);
      const b = new Set(history[i]);
      const changed = [...a].filter((x) => !b.has(x)).length + [...b].filter((x) => !a.has(x)).length;
      assert.equal(changed, 1, `step ${i}`);
    }
  });

  it('staleRead: the cut-off leader would answer 1 locally, its ReadIndex times out, the new leader answers 2; no log entry', async () => {
    const run = await nb06.staleRead();
    assert.equal(run.oldBelievesItLeads, true);
    assert.equal(run.localRead, 1);
    assert.match(run.oldReadIndex, /ReadTimeoutError/);
    assert.equal(run.oldLogAfter, run.oldLogBefore);
    assert.equal(run.newRead.value, 2);
    assert.equal(run.newRead.logAfter, run.newRead.logBefore);
  });

  it('retryingClient: the lost reply makes two copies; without a table the deposit counts twice, with one once', () => {
    const without = nb06.retryingClient(null);
    assert.equal(without.copies, 2);
    for (const b of Object.values(without.balances)) assert.equal(b, 25);
    assert.deepEqual(without.replies.map((r) => r.result), [20, 25]);
    const withTable = nb06.retryingClient(applyOnce);
    assert.equal(withTable.copies, 2);
    assert.equal(Object.keys(withTable.balances).length, 3);
    for (const b of Object.values(withTable.balances)) assert.equal(b, 15);
    assert.deepEqual(withTable.replies.map((r) => r.result), [10, 15]);
  });

  it('retryingClient with a table that never filters is caught: the balances are wrong', () => {
    const leaky = (_t: SessionTable, _c: string, _s: number, execute: () => unknown) => ({ executed: true, result: execute() });
    const run = nb06.retryingClient(leaky);
    assert.ok(Object.values(run.balances).every((b) => b === 25));
  });
});
