import { strict as assert } from 'node:assert';
import {
  Cluster, NotLeaderError, ProposalTimeoutError, Replicated, ReplicatedDict, ReplicatedList, SimNode, getLeader, useNode,
} from '../lib';

function electedCluster(seed = 5): { cluster: Cluster; leader: SimNode; followers: SimNode[] } {
  const cluster = new Cluster({ seed });
  assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 }), 'a leader is elected');
  const leaderId = cluster.leader()!;
  const nodes = cluster.ids.map((id) => new SimNode(cluster, id));
  return { cluster, leader: nodes.find((n) => n.id === leaderId)!, followers: nodes.filter((n) => n.id !== leaderId) };
}

describe('raftos-style API on the simulated cluster', () => {
  it('Replicated.set resolves once committed and applied; every node ends up with the value', async () => {
    const { cluster, leader } = electedCluster();
    const dataId = new Replicated<number>('data_id', { node: leader });
    assert.equal(await dataId.set(7), 7);
    assert.equal(await dataId.get(), 7);
    cluster.runFor(200);
    for (const s of cluster.statuses()) assert.deepEqual(s.state, { data_id: 7 }, s.id);
  });

  it('a follower write fails at once with an error that names the leader', async () => {
    const { cluster, leader, followers } = electedCluster();
    cluster.runFor(100); // the followers hear the new leader's first heartbeat
    const onFollower = new Replicated<number>('data_id', { node: followers[0] });
    await assert.rejects(onFollower.set(1), (e: unknown) => {
      assert.ok(e instanceof NotLeaderError);
      assert.equal(e.leaderId, leader.id);
      assert.match(e.message, new RegExp(leader.id.replace(/\./g, '\\.')));
      return true;
    });
  });

  it('set() rejects after its timeout when no majority answers, instead of hanging', async () => {
    const { cluster, leader, followers } = electedCluster();
    for (const f of followers) cluster.crash(f.id);
    const value = new Replicated<number>('x', { node: leader });
    const before = cluster.now;
    await assert.rejects(value.set(1, { timeoutMs: 2000 }), ProposalTimeoutError);
    assert.ok(cluster.now - before >= 2000, 'waited the whole timeout in virtual time');
  });

  it('concurrent writes from one node all resolve and none is lost', async () => {
    const { leader } = electedCluster(9);
    const list = new ReplicatedList<number>('items', { node: leader });
    await Promise.all([1, 2, 3, 4, 5].map((v) => list.append(v)));
    assert.deepEqual(await list.get(), [1, 2, 3, 4, 5]);
    assert.equal(await list.length(), 5);
    assert.equal(await list.pop(), 5);
    await list.remove(2);
    assert.deepEqual(await list.get(), [1, 3, 4]);
  });

  it('ReplicatedDict supports item writes, updates and deletes', async () => {
    const { leader } = electedCluster(11);
    const dict = new ReplicatedDict<number>('scores', { node: leader });
    await dict.setItem('a', 1);
    await dict.update({ b: 2, c: 3 });
    await dict.delete('a');
    assert.deepEqual(await dict.get(), { b: 2, c: 3 });
    assert.equal(await dict.getItem('c'), 3);
    assert.deepEqual((await dict.keys()).sort(), ['b', 'c']);
    await assert.rejects(dict.delete('zzz'), /no key "zzz"/);
  });

  it('getLeader and waitUntilLeader follow raftos: followers report the leader they heard from', async () => {
    const { cluster, leader, followers } = electedCluster();
    cluster.runFor(100);
    useNode(followers[0]!);
    assert.equal(getLeader(), leader.id);
    await leader.stop();
    const next = cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 }) ? cluster.leader()! : null;
    assert.ok(next && next !== leader.id);
    await followers[0]!.waitUntilLeader(next!, { timeoutMs: 2000 });
    assert.equal(getLeader(), next);
  });
});
