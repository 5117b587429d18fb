import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import { SimNode } from '../lib/api/sim-node';
import { EntryOverwrittenError, LeadershipLostError, NodeStoppedError, ProposalTimeoutError, proposalErrors } from '../lib/errors';
import { encodeDatagram } from '../lib/net/codec';
import { freeUdpPorts } from '../lib/net/free-ports';
import { RealNode } from '../lib/net/real-node';
import { parseNodeId } from '../lib/net/udp-transport';
import { ProposalTracker } from '../lib/raft/proposals';
import type { NodeId, Ready } from '../lib/raft/types';
import { Cluster } from '../lib/sim/cluster';

const noReady: Ready = { messages: [], apply: [], notes: [] };
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Settles `promise` into a value the test can look at synchronously after a flush. */
function watch<T>(promise: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const seen: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(seen, { value, done: true }),
    (error: unknown) => Object.assign(seen, { error, done: true }),
  );
  return seen;
}

describe('one proposal tracker (lib/raft/proposals.ts)', () => {
  it('resolves on the apply of its entry; rejects on another term there, on a log write replacing it, on a step-down', async () => {
    const t = new ProposalTracker('a', proposalErrors);
    const applied = watch(t.track(1, 2, 1000).promise);
    const otherTerm = watch(t.track(2, 2, 1000).promise);
    const replaced = watch(t.track(3, 2, 1000).promise);
    const dropped = watch(t.track(4, 2, 1000).promise);
    t.onApplied(1, { term: 2, command: { x: 1 } });
    t.onApplied(2, { term: 3, command: { x: 2 } });
    t.onReady({ ...noReady, log: { from: 3, entries: [{ term: 3, command: null }] } }, 2);
    assert.ok(t.idle, 'the write from 3 replaced entry 3 and dropped entry 4: nothing is left to wait for');
    await flush();
    assert.deepEqual(applied.value, { index: 1, term: 2 });
    assert.ok(otherTerm.error instanceof EntryOverwrittenError);
    assert.ok(replaced.error instanceof EntryOverwrittenError);
    assert.ok(dropped.error instanceof EntryOverwrittenError, 'a write from 3 holding one entry removes entry 4 too');

    const u = new ProposalTracker('b', proposalErrors);
    const committed = watch(u.track(5, 1, 1000).promise);
    const pending = watch(u.track(6, 1, 1000).promise);
    u.onReady({ ...noReady, notes: [{ kind: 'role', role: 'follower', term: 2, reason: 'saw term 2' }] }, 5);
    await flush();
    assert.ok(pending.error instanceof LeadershipLostError, 'not yet committed: rejected at once');
    assert.equal(committed.done, false, 'committed (index <= commitIndex): it waits for its apply');
    u.onApplied(5, { term: 1, command: null });
    await flush();
    assert.deepEqual(committed.value, { index: 5, term: 1 });
    assert.ok(u.idle);
  });

  it('expires with ProposalTimeoutError on its timer, and stopAll rejects the rest with the driver error', async () => {
    const t = new ProposalTracker('a', proposalErrors);
    let fire: (() => void) | null = null;
    let cancelled = 0;
    const timed = watch(t.track(1, 1, 250, (_ms, f) => ((fire = f), () => cancelled++)).promise);
    const stopped = watch(t.track(2, 1, 250).promise);
    fire!();
    t.stopAll(() => new NodeStoppedError('a'));
    await flush();
    assert.ok(timed.error instanceof ProposalTimeoutError);
    assert.match(String(timed.error), /entry 1 was not committed within 250 ms/);
    assert.ok(stopped.error instanceof NodeStoppedError);
    assert.equal(cancelled, 1, 'a settled proposal cancels its timer');
  });
});

describe('proposals on the simulated cluster (SimNode)', () => {
  function isolatedLeader(seed: number) {
    // A fixed latency: every link is FIFO, so the test knows which message a node sees first.
    const cluster = new Cluster({ seed, network: { latency: { kind: 'fixed', ms: 2 } } });
    assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 }));
    const old = cluster.leader()!;
    const rest = cluster.ids.filter((id) => id !== old);
    cluster.partition([old], rest);
    assert.ok(cluster.runUntil((c) => c.leaders().some((l) => l.id !== old), { timeout: 5000 }), 'the majority elects another leader');
    const next = cluster.leaders().find((l) => l.id !== old)!.id;
    return { cluster, old, next };
  }

  it('a deposed leader rejects its pending proposal at once with LeadershipLostError, not after the timeout', async () => {
    const { cluster, old } = isolatedLeader(4);
    const start = cluster.now;
    cluster.after(300, () => cluster.heal());
    await assert.rejects(new SimNode(cluster, old).propose({ mine: 1 }, { timeoutMs: 60_000 }), (err: unknown) => {
      assert.ok(err instanceof LeadershipLostError, String(err));
      assert.equal(err.nodeId, old);
      return true;
    });
    const waited = cluster.now - start;
    assert.ok(waited >= 300 && waited < 400, `rejected ${waited} virtual ms after proposing (heal at 300)`);
    assert.notEqual(cluster.raft(old)!.role, 'leader');
  });

  it('a proposal whose entry the new leader overwrites is rejected at once with EntryOverwrittenError', async () => {
    const { cluster, old, next } = isolatedLeader(4);
    const index = cluster.raft(old)!.lastIndex + 1;
    assert.equal(cluster.raft(next)!.nextIndexOf(old), index, 'the new leader will send the old one its entry at that index');
    const doomed = watch(new SimNode(cluster, old, { drive: 'external' }).propose({ mine: 1 }, { timeoutMs: 60_000 }));
    cluster.runFor(5);
    // Healed, and at that same instant the new leader appends its own entry at the index: the old leader's first
    // message from it steps it down and replaces its entry in one go.
    cluster.heal();
    const theirs = cluster.propose({ theirs: 1 }, next);
    assert.ok(theirs.accepted && theirs.index === index);
    cluster.runFor(3);
    await flush();
    assert.ok(doomed.error instanceof EntryOverwrittenError, String(doomed.error));
    assert.match(String(doomed.error), new RegExp(`entry ${index} of term \\d+ was overwritten`));
  });

  it('the tracker leaves the run itself alone: the same trace with and without a tracked proposal settled early', async () => {
    const run = async (tracked: boolean) => {
      const { cluster, old } = isolatedLeader(9);
      cluster.after(200, () => cluster.heal());
      if (tracked) await new SimNode(cluster, old).propose({ mine: 1 }, { timeoutMs: 10_000 }).catch(() => undefined);
      else {
        cluster.propose({ mine: 1 }, old);
        cluster.runUntil(() => cluster.raft(old)!.role !== 'leader', { timeout: 10_000 });
      }
      cluster.runFor(1000);
      return JSON.stringify(cluster.trace.toJSON());
    };
    assert.equal(await run(true), await run(false));
  });
});

describe('proposals on real nodes (RealNode)', function () {
  this.timeout(30_000);
  const TIMINGS = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 };
  let running: RealNode[] = [];
  let socket: dgram.Socket | null = null;
  afterEach(async () => {
    await Promise.all(running.map((n) => n.stop()));
    running = [];
    if (socket) await new Promise<void>((resolve) => socket!.close(() => resolve()));
    socket = null;
  });

  async function waitFor<T>(what: string, probe: () => T | null | false, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Three nodes in memory; then the followers stop, so the leader stays leader with a pending proposal. */
  async function loneLeader(): Promise<{ leader: RealNode; follower: NodeId }> {
    const ids = (await freeUdpPorts(3)).map((p) => `127.0.0.1:${p}`);
    for (const id of ids) running.push(await RealNode.start({ id, peers: ids, timings: TIMINGS }));
    const leader = await waitFor('a leader', () => {
      const leaders = running.filter((n) => n.role === 'leader');
      return leaders.length === 1 && running.every((n) => n.leader === leaders[0]!.id) ? leaders[0]! : null;
    });
    const followers = running.filter((n) => n !== leader);
    await Promise.all(followers.map((n) => n.stop()));
    return { leader, follower: followers[0]!.id };
  }

  async function forge(from: NodeId, to: NodeId, message: Parameters<typeof encodeDatagram>[1]): Promise<void> {
    socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket!.bind(0, '127.0.0.1', () => resolve()));
    const { host, port } = parseNodeId(to);
    socket.send(encodeDatagram(from, message), port, host);
  }

  it('a leader that hears a higher term rejects its pending proposal at once with LeadershipLostError', async () => {
    const { leader, follower } = await loneLeader();
    const pending = leader.propose({ mine: 1 }, { timeoutMs: 20_000 });
    const term = leader.term + 1;
    const started = Date.now();
    await forge(follower, leader.id, { type: 'AppendEntries', term, leaderId: follower, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 });
    await assert.rejects(pending, LeadershipLostError);
    assert.ok(Date.now() - started < 10_000, 'long before its 20 s timeout');
    assert.equal(leader.role, 'follower');
  });

  it('a proposal whose entry a new leader overwrites is rejected at once with EntryOverwrittenError', async () => {
    const { leader, follower } = await loneLeader();
    const pending = leader.propose({ mine: 1 }, { timeoutMs: 20_000 });
    const index = leader.log.length;
    const term = leader.term + 1;
    await forge(follower, leader.id, {
      type: 'AppendEntries', term, leaderId: follower, prevLogIndex: index - 1, prevLogTerm: index > 1 ? leader.log[index - 2]!.term : 0,
      entries: [{ term, command: { theirs: 1 } }], leaderCommit: 0,
    });
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof EntryOverwrittenError, String(err));
      assert.equal(err.index, index);
      return true;
    });
    await waitFor('the forged entry in the log', () => leader.log[index - 1]?.term === term);
  });
});
