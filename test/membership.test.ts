import { strict as assert } from 'node:assert';
import { Cluster, type ClusterOptions } from '../lib';
import { Replicated } from '../lib/api/replicated';
import { SimNode } from '../lib/api/sim-node';
import { MembershipError } from '../lib/errors';

const NEW = '127.0.0.1:8003';
const NEWER = '127.0.0.1:8004';

/** A cluster with a leader that committed an entry of its term (a membership change needs one). */
function ready(options: ClusterOptions = {}): { c: Cluster; leader: string } {
  const c = new Cluster({ seed: 4, nodes: 3, leaderNoop: true, ...options });
  assert.ok(c.runUntil((x) => x.leader() !== null && x.raft(x.leader()!)!.commitIndex >= 1, { timeout: 5000 }));
  return { c, leader: c.leader()! };
}

const describeState = (c: Cluster) => {
  const leader = c.leader();
  return leader === null ? 'no leader' : `${leader}: ${JSON.stringify(c.configuration(leader))}, commit ${c.raft(leader)!.commitIndex}/${c.raft(leader)!.lastIndex}`;
};

/** Run until the leader's configuration has these voters and learners, and its entry is committed. */
function settleOn(c: Cluster, voters: readonly string[], learners: readonly string[] = [], timeout = 3000): void {
  const want = JSON.stringify([[...voters].sort(), [...learners].sort()]);
  const ok = c.runUntil((x) => {
    const l = x.leader();
    if (l === null) return false;
    const cfg = x.configuration(l);
    const core = x.raft(l)!;
    return JSON.stringify([[...cfg.voters].sort(), [...cfg.learners].sort()]) === want && core.commitIndex === core.lastIndex;
  }, { timeout });
  assert.ok(ok, `configuration ${want} not reached: ${describeState(c)}`);
}

describe('membership changes (dissertation chapter 4): one server at a time', () => {
  it('adds a server under load: a learner first, a voter once it has the committed log', () => {
    const { c, leader } = ready();
    let n = 0;
    const writer = () => {
      c.propose({ w: n++ });
      if (n < 200) c.after(5, writer);
    };
    writer();
    c.runFor(200);
    const added = c.addServer(NEW);
    assert.ok(added.accepted, JSON.stringify(added));
    assert.deepEqual([...c.configuration(leader).learners], [NEW], 'it learns first');
    assert.equal(c.raft(NEW)!.role, 'follower');
    settleOn(c, [...c.ids.slice(0, 3), NEW]);
    c.runFor(1000);
    const last = c.raft(c.leader()!)!.lastIndex;
    assert.ok(c.runUntil((x) => x.raft(NEW)!.lastApplied === last, { timeout: 2000 }), 'the new server has every entry');
    assert.deepEqual(c.stateMachine(NEW).toJSON(), c.stateMachine(leader).toJSON());
  });

  it('a learner never campaigns, even when it hears from no leader', () => {
    const { c } = ready();
    c.addServer(NEW);
    c.disconnect(NEW);
    c.runFor(3000);
    assert.equal(c.raft(NEW)!.currentTerm, 0);
    assert.equal(c.raft(NEW)!.role, 'follower');
  });

  it('one change at a time, and only after the leader committed an entry of its term', () => {
    const { c, leader } = ready();
    assert.match((c.removeServer(leader) as { reason: string }).reason, /transfer the leadership to another server first/);
    assert.ok(c.addServer(NEW).accepted);
    const second = c.addServer(NEWER);
    assert.equal(second.accepted, false);
    assert.match((second as { reason: string }).reason, /not committed yet \(one change at a time\)/);
    const follower = c.ids.find((id) => id !== leader)!;
    assert.match((c.removeServer(NEWER, follower) as { reason: string }).reason, /is not the leader/);
    const fresh = new Cluster({ seed: 4, nodes: 3, leaderNoop: false });
    assert.ok(fresh.runUntil((x) => x.leader() !== null, { timeout: 5000 }));
    assert.match((fresh.addServer(NEW) as { reason: string }).reason, /has not committed an entry of its term/);
  });

  it('removes a follower: the two left commit on their own, the removed one gets nothing more', () => {
    const { c, leader } = ready();
    const gone = c.ids.find((id) => id !== leader)!;
    assert.ok(c.removeServer(gone).accepted);
    settleOn(c, c.ids.filter((id) => id !== gone));
    const before = c.raft(gone)!.lastIndex;
    const keep = c.ids.filter((id) => id !== gone);
    c.crash(keep.find((id) => id !== leader)!);
    const p = c.propose({ after: 1 }, leader);
    assert.ok(p.accepted);
    // Two voters: both are needed now; with one crashed, nothing commits (and the removed server does not count).
    c.runFor(500);
    assert.equal(c.stateMachine(leader).get('after'), undefined);
    c.restart(keep.find((id) => id !== leader)!);
    assert.ok(c.runUntil((x) => x.stateMachine(leader).get('after') === 1, { timeout: 3000 }));
    assert.ok(c.raft(gone)!.lastIndex <= before + 1);
  });

  it('removes the leader: leadership goes to another server first, then the old leader is removed', () => {
    const { c, leader } = ready();
    const next = c.ids.find((id) => id !== leader)!;
    assert.ok(c.transferLeadership(leader, next).accepted);
    assert.ok(c.runUntil((x) => x.leader() === next && x.raft(next)!.commitIndex === x.raft(next)!.lastIndex, { timeout: 1000 }));
    c.propose({ x: 1 }, next);
    c.runFor(100);
    assert.ok(c.removeServer(leader).accepted);
    settleOn(c, c.ids.filter((id) => id !== leader));
    assert.equal(c.leader(), next);
  });

  it('a removed server that never heard of its removal keeps campaigning, and cannot disrupt the cluster', () => {
    const { c, leader } = ready();
    const gone = c.ids.find((id) => id !== leader)!;
    c.disconnect(gone);
    assert.ok(c.removeServer(gone).accepted);
    settleOn(c, c.ids.filter((id) => id !== gone));
    c.connect(gone);
    const term = c.raft(leader)!.currentTerm;
    c.runFor(5000);
    assert.ok(c.raft(gone)!.currentTerm > term + 3, 'it kept timing out and campaigning');
    assert.equal(c.leader(), leader);
    assert.equal(c.raft(leader)!.currentTerm, term, 'the leader kept its term');
    assert.ok(c.propose({ still: 1 }).accepted);
  });

  it('a change made on a leader cut off in a minority never commits; the majority goes on without it', () => {
    const { c, leader } = ready({ preVote: true });
    const others = c.ids.filter((id) => id !== leader);
    c.partition([leader], others);
    assert.ok(c.addServer(NEW, leader).accepted, 'the cut-off leader takes it');
    assert.ok(c.runUntil((x) => others.some((id) => x.raft(id)!.role === 'leader'), { timeout: 5000 }));
    const majority = others.find((id) => c.raft(id)!.role === 'leader')!;
    c.propose({ y: 1 }, majority);
    c.runFor(500);
    c.heal();
    assert.ok(c.runUntil((x) => x.raft(leader)!.role === 'follower' && x.raft(leader)!.commitIndex === x.raft(majority)!.commitIndex, { timeout: 5000 }));
    assert.deepEqual([...c.configuration(majority).voters].sort(), [...c.ids.slice(0, 3)].sort());
    assert.deepEqual([...c.configuration(leader).learners], [], 'the uncommitted change was overwritten');
  });

  it('grows from 3 servers to 5 and shrinks back to 3, writing all along', () => {
    const { c } = ready({ snapshotEvery: 20 });
    let n = 0;
    const writer = () => {
      c.propose({ w: n++ });
      if (n < 400) c.after(10, writer);
    };
    writer();
    const base = c.ids.slice(0, 3);
    assert.ok(c.addServer(NEW).accepted);
    settleOn(c, [...base, NEW]);
    assert.ok(c.addServer(NEWER).accepted);
    settleOn(c, [...base, NEW, NEWER]);
    for (const id of [base[0]!, base[1]!]) {
      if (c.leader() === id) {
        const to = c.configuration().voters.find((v) => v !== id)!;
        c.transferLeadership(id, to);
        assert.ok(c.runUntil((x) => x.leader() === to && x.raft(to)!.commitIndex === x.raft(to)!.lastIndex, { timeout: 1000 }));
      }
      assert.ok(c.removeServer(id).accepted);
      settleOn(c, c.configuration().voters.filter((v) => v !== id));
    }
    assert.deepEqual([...c.configuration().voters].sort(), [base[2]!, NEW, NEWER].sort());
    c.runFor(5000);
    const leader = c.leader()!;
    for (const id of [base[2]!, NEW, NEWER]) assert.deepEqual(c.stateMachine(id).toJSON(), c.stateMachine(leader).toJSON(), id);
    assert.equal(c.stateMachine(leader).get('w'), 399);
  });
});

describe('membership through the API (SimNode)', () => {
  it('addServer and removeServer, the leader removing itself by handing its leadership over first', async () => {
    const { c, leader } = ready();
    const node = new SimNode(c, leader);
    const x = new Replicated<number>('x', { node });
    await x.set(1);
    await node.addServer(NEW);
    assert.ok(c.configuration().voters.includes(NEW));
    await node.removeServer(leader);
    const now = c.leader()!;
    assert.notEqual(now, leader);
    assert.ok(!c.configuration(now).voters.includes(leader));
    assert.equal(await new Replicated<number>('x', { node: new SimNode(c, now) }).get(), 1);
    await assert.rejects(new SimNode(c, now).addServer(now), MembershipError);
  });

  it('an addition that cannot catch up in time is aborted: the learner is taken out again', async () => {
    const { c, leader } = ready();
    const node = new SimNode(c, leader);
    c.after(0, () => c.crash(NEW)); // the new server stops before anything reaches it
    const adding = node.addServer(NEW, { timeoutMs: 500 });
    await assert.rejects(adding, new RegExp(`timed out after 500 ms waiting for ${NEW} to become a voter; ${NEW} did not catch up, so it was taken out again`));
    assert.deepEqual(c.configuration(leader).learners, []);
    assert.ok(!c.configuration(leader).voters.includes(NEW));
    assert.equal(c.raft(leader)!.commitIndex, c.raft(leader)!.lastIndex, 'the removal is committed');
  });
});
