import { strict as assert } from 'node:assert';
import { Cluster, type ClusterOptions } from '../lib';
import { NotLeaderError, NodeStoppedError, ReadTimeoutError } from '../lib/errors';
import { RaftNode } from '../lib/raft/node';
import type { Message, Outbound, Ready } from '../lib/raft/types';
import type { TrackedRead } from '../lib/raft/reads';

/** A cluster with a leader that has committed `{x: 1}` (an entry of its own term). */
function withCommittedWrite(options: ClusterOptions = {}): { c: Cluster; leader: string } {
  const c = new Cluster({ seed: 11, nodes: 3, ...options });
  assert.ok(c.runUntil((x) => x.leader() !== null, { timeout: 5000 }));
  const leader = c.leader()!;
  const p = c.propose({ x: 1 });
  assert.ok(p.accepted);
  assert.ok(c.runUntil((x) => x.ids.every((id) => x.stateMachine(id).get('x') === 1), { timeout: 5000 }));
  return { c, leader };
}

/** Run the clock until `read` settles; its outcome. */
async function settle(c: Cluster, read: TrackedRead, timeout = 3000): Promise<{ index: number } | { error: Error }> {
  c.runUntil(() => read.settled, { timeout });
  if (!read.settled) return { error: new Error('still pending') };
  try {
    return { index: await read.promise };
  } catch (error) {
    return { error: error as Error };
  }
}

describe('ReadIndex (dissertation 6.4): reads that write nothing', () => {
  it('a leader answers a read after one heartbeat round, with its commit index, and writes no entry', async () => {
    const { c, leader } = withCommittedWrite();
    const before = c.raft(leader)!.lastIndex;
    const sentBefore = c.trace.count;
    const read = c.readAndTrack(leader, { timeoutMs: 1000 })!;
    assert.equal(read.settled, false, 'it waits for a majority to confirm the leadership');
    const outcome = await settle(c, read);
    assert.deepEqual(outcome, { index: before });
    assert.equal(c.raft(leader)!.lastIndex, before, 'no log entry for a read');
    assert.ok(c.trace.count > sentBefore);
    for (const id of c.ids) assert.equal(c.raft(id)!.lastIndex, before);
  });

  it('many reads in a row each write nothing', async () => {
    const { c, leader } = withCommittedWrite();
    const before = c.raft(leader)!.lastIndex;
    const reads = Array.from({ length: 50 }, () => c.readAndTrack(leader, { timeoutMs: 1000 })!);
    c.runUntil(() => reads.every((r) => r.settled), { timeout: 1000 });
    for (const r of reads) assert.equal(await r.promise, before);
    assert.equal(c.raft(leader)!.lastIndex, before);
  });

  it('a follower refuses a read and names the leader', async () => {
    const { c, leader } = withCommittedWrite();
    const follower = c.ids.find((id) => id !== leader)!;
    const read = c.readAndTrack(follower, { timeoutMs: 1000 })!;
    const outcome = await settle(c, read);
    assert.ok('error' in outcome && outcome.error instanceof NotLeaderError);
    assert.equal((outcome.error as NotLeaderError).leaderId, leader);
  });

  it('a new leader with no entry of its term yet waits for one (a no-op it appends) before it answers', async () => {
    const c = new Cluster({ seed: 5, nodes: 3, leaderNoop: false });
    assert.ok(c.runUntil((x) => x.leader() !== null, { timeout: 5000 }));
    const leader = c.leader()!;
    assert.equal(c.raft(leader)!.lastIndex, 0);
    const read = c.readAndTrack(leader, { timeoutMs: 1000 })!;
    assert.equal(c.raft(leader)!.lastIndex, 1, 'a no-op of the new term');
    assert.equal(c.raft(leader)!.log[0]!.command, null);
    assert.deepEqual(await settle(c, read), { index: 1 });
  });

  it('a one-server cluster answers at once', async () => {
    const c = new Cluster({ seed: 2, nodes: 1 });
    assert.ok(c.runUntil((x) => x.leader() !== null, { timeout: 5000 }));
    c.propose({ x: 9 });
    const read = c.readAndTrack(c.leader()!, { timeoutMs: 1000 })!;
    assert.equal(read.settled, true);
    assert.equal(await read.promise, 1);
  });

  it('a deposed leader cut off from the majority never answers with its stale state', async () => {
    const { c, leader } = withCommittedWrite();
    const others = c.ids.filter((id) => id !== leader);
    c.partition([leader], others);
    assert.ok(c.runUntil((x) => others.some((id) => x.raft(id)!.role === 'leader'), { timeout: 5000 }));
    const newLeader = others.find((id) => c.raft(id)!.role === 'leader')!;
    c.propose({ x: 2 }, newLeader);
    assert.ok(c.runUntil((x) => x.stateMachine(newLeader).get('x') === 2, { timeout: 5000 }));
    assert.equal(c.raft(leader)!.role, 'leader', 'the old leader does not know yet');
    const stale = c.readAndTrack(leader, { timeoutMs: 500 })!;
    const outcome = await settle(c, stale, 400);
    assert.equal(stale.settled, false, JSON.stringify(outcome));
    c.runFor(200);
    const late = await settle(c, stale);
    assert.ok('error' in late && late.error instanceof ReadTimeoutError, String('error' in late ? late.error : late.index));
    c.heal();
    // Once it hears of the new term it steps down: a read in flight then is refused at once.
    const again = c.readAndTrack(leader, { timeoutMs: 5000 });
    assert.ok(c.runUntil(() => again!.settled, { timeout: 5000 }));
    await assert.rejects(again!.promise, NotLeaderError);
  });

  it('a read pending on a node that crashes rejects with NodeStoppedError', async () => {
    const { c, leader } = withCommittedWrite();
    const read = c.readAndTrack(leader, { timeoutMs: 1000 })!;
    c.crash(leader);
    await assert.rejects(read.promise, NodeStoppedError);
  });

  it('rounds: a reply to a heartbeat sent before the read does not confirm it', () => {
    // Drive three RaftNodes by hand: old heartbeat replies arrive after the read was taken.
    const ids = ['a', 'b', 'c'];
    const rand = () => 0.5;
    const nodes = new Map(ids.map((id) => [id, new RaftNode({ id, peers: ids, random: rand, leaderNoop: true })]));
    const queue: { from: string; out: Outbound }[] = [];
    const push = (from: string, ready: Ready) => { for (const out of ready.messages) queue.push({ from, out }); };
    const deliverAll = (t: number, filter: (m: Message) => boolean = () => true) => {
      while (queue.length > 0) {
        const { from, out } = queue.shift()!;
        if (filter(out.message)) push(out.to, nodes.get(out.to)!.step(from, out.message, t));
      }
    };
    const a = nodes.get('a')!;
    push('a', a.campaign(0));
    deliverAll(1);
    assert.equal(a.role, 'leader');
    // A heartbeat goes out; its replies are held back.
    push('a', a.tick(1000));
    const held = queue.splice(0).map(({ from, out }) => ({ from: out.to, reply: nodes.get(out.to)!.step(from, out.message, 1001) }));
    const taken = a.readIndex(7, 1002);
    assert.ok(taken.accepted);
    const round = taken.ready.messages;
    assert.ok(round.length === 2 && round.every((o) => o.message.type === 'AppendEntries' && o.message.round === 1));
    for (const h of held) {
      for (const out of h.reply.messages) {
        const r = a.step(h.from, out.message, 1003);
        assert.equal(r.reads, undefined, 'an answer to the earlier heartbeat confirms nothing');
      }
    }
    push('a', { ...taken.ready, messages: round } as Ready);
    const answers: Ready[] = [];
    while (queue.length > 0) {
      const { from, out } = queue.shift()!;
      const r = nodes.get(out.to)!.step(from, out.message, 1004);
      if (out.to === 'a') answers.push(r);
      else push(out.to, r);
    }
    const reads = answers.flatMap((r) => r.reads ?? []);
    assert.deepEqual(reads, [{ id: 7, ok: true, index: a.commitIndex }]);
  });
});

describe('ReadIndex rounds across terms (found by the fuzzer, seeds 70013 and 88270)', () => {
  it("a reply in a newer term to a deposed leader's round does not confirm a round of that server's later leadership", () => {
    const ids = ['a', 'b', 'c'];
    const nodes = new Map(ids.map((id) => [id, new RaftNode({ id, peers: ids, random: () => 0.5, leaderNoop: true })]));
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    const run = (from: string, ready: Ready, t: number, hold?: (o: Outbound) => boolean): Outbound[] => {
      const held: Outbound[] = [];
      const queue = ready.messages.map((out) => ({ from, out }));
      while (queue.length > 0) {
        const { from: f, out } = queue.shift()!;
        if (hold?.(out)) { held.push(out); continue; }
        for (const next of nodes.get(out.to)!.step(f, out.message, t).messages) queue.push({ from: out.to, out: next });
      }
      return held;
    };
    run('a', a.campaign(0), 1);
    assert.equal(a.role, 'leader');
    // Term 1: reads push a's rounds up to 5; the last round's heartbeat to b is held back (a long delay).
    for (let i = 1; i < 5; i++) run('a', a.readIndex(i, 10 + i).ready, 10 + i);
    const late = run('a', a.readIndex(5, 20).ready, 20, (o) => o.to === 'b' && o.message.type === 'AppendEntries');
    assert.ok(late.length === 1 && (late[0]!.message as { round?: number }).round === 5);
    // b campaigns (term 2), then a wins term 3: a's rounds start again from 1.
    run('b', b.campaign(100), 101);
    run('a', a.campaign(200), 201);
    assert.equal(a.role, 'leader');
    assert.equal(a.currentTerm, 3);
    // The held term-1 heartbeat reaches b now; b answers in term 3.
    const stale = b.step('a', late[0]!.message, 300).messages;
    // A read in term 3; its round's heartbeats are lost; only b's answer to the old round arrives.
    const taken = a.readIndex(9, 301);
    assert.ok(taken.accepted);
    const reads = stale.flatMap((o) => a.step('b', o.message, 302).reads ?? []);
    assert.deepEqual(reads, [], 'nothing confirms the read but a majority answering one of its own rounds');
  });
});

describe('leadership transfer (dissertation 3.10)', () => {
  it('to an up-to-date follower: it leads the next term within an election timeout', () => {
    const { c, leader } = withCommittedWrite();
    const target = c.ids.find((id) => id !== leader)!;
    const term = c.raft(leader)!.currentTerm;
    assert.deepEqual(c.transferLeadership(leader, target), { accepted: true });
    assert.ok(c.runUntil((x) => x.leader() === target, { timeout: 100 }), 'within a few message delays, not a timeout');
    c.runFor(20);
    assert.equal(c.raft(target)!.currentTerm, term + 1);
    assert.equal(c.raft(leader)!.role, 'follower');
    assert.ok(c.propose({ x: 3 }, target).accepted);
  });

  it('the old leader takes no proposals while it hands over', () => {
    const { c, leader } = withCommittedWrite();
    const target = c.ids.find((id) => id !== leader)!;
    c.disconnect(target);
    assert.ok(c.transferLeadership(leader, target).accepted);
    const refused = c.propose({ x: 4 }, leader);
    assert.deepEqual(refused, { accepted: false, node: leader, leaderId: null });
  });

  it('to a lagging follower: it is brought up to date first, then leads with every entry', () => {
    // PreVote keeps the cut-off follower from disrupting the cluster with a higher term meanwhile.
    const { c, leader } = withCommittedWrite({ preVote: true });
    const target = c.ids.find((id) => id !== leader)!;
    c.disconnect(target);
    for (let i = 0; i < 20; i++) c.propose({ [`k${i}`]: i }, leader);
    c.runFor(200);
    const last = c.raft(leader)!.lastIndex;
    assert.ok(c.raft(target)!.lastIndex < last);
    c.connect(target);
    assert.ok(c.transferLeadership(leader, target).accepted);
    assert.ok(c.runUntil((x) => x.leader() === target, { timeout: 300 }));
    assert.ok(c.raft(target)!.lastIndex >= last);
    assert.ok(c.runUntil((x) => x.stateMachine(target).get('k19') === 19, { timeout: 1000 }));
  });

  it('to a crashed follower: it times out and the leadership stays, taking proposals again', () => {
    const { c, leader } = withCommittedWrite();
    const target = c.ids.find((id) => id !== leader)!;
    c.crash(target);
    const term = c.raft(leader)!.currentTerm;
    assert.ok(c.transferLeadership(leader, target).accepted);
    c.runFor(400); // past the longest election timeout
    assert.equal(c.leader(), leader);
    assert.equal(c.raft(leader)!.currentTerm, term);
    assert.ok(c.propose({ x: 5 }, leader).accepted);
  });

  it('works past CheckQuorum leases, and refuses what makes no sense, saying why', () => {
    const { c, leader } = withCommittedWrite({ checkQuorum: true, preVote: true });
    const target = c.ids.find((id) => id !== leader)!;
    const follower = c.ids.find((id) => id !== leader && id !== target)!;
    assert.deepEqual(c.transferLeadership(follower, target), { accepted: false, reason: `${follower} is not the leader` });
    assert.deepEqual(c.transferLeadership(leader, leader), { accepted: false, reason: `${leader} already leads` });
    assert.match((c.transferLeadership(leader, 'nobody:1') as { reason: string }).reason, /not a member/);
    assert.ok(c.transferLeadership(leader, target).accepted);
    assert.ok(c.runUntil((x) => x.leader() === target, { timeout: 100 }));
  });
});

describe('lease reads (dissertation 6.4.1, an option)', () => {
  it('need CheckQuorum, and answer from the lease with no round of heartbeats', async () => {
    assert.throws(() => new Cluster({ leaseReads: true }), /leaseReads needs checkQuorum/);
    const { c, leader } = withCommittedWrite({ checkQuorum: true, leaseReads: true });
    c.runFor(60); // a heartbeat round acknowledged
    const sent = c.trace.events.length;
    const read = c.readAndTrack(leader, { timeoutMs: 1000 })!;
    assert.equal(read.settled, true, 'answered at once');
    assert.equal(await read.promise, c.raft(leader)!.commitIndex);
    assert.equal(c.trace.events.slice(sent).filter((e) => e.kind === 'send').length, 0, 'no message for the read');
  });

  it('a leader cut off from the majority stops answering once its lease runs out', async () => {
    const { c, leader } = withCommittedWrite({ checkQuorum: true, leaseReads: true, timings: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 } });
    c.runFor(60);
    c.partition([leader], c.ids.filter((id) => id !== leader));
    c.runFor(150); // longer than the lease (0.9 x 150 ms)
    assert.equal(c.raft(leader)!.role, 'leader', 'CheckQuorum has not deposed it yet');
    const read = c.readAndTrack(leader, { timeoutMs: 1000 })!;
    assert.equal(read.settled, false, 'no lease: it needs a round, which no majority answers');
    read.promise.catch(() => undefined);
    assert.ok(c.runUntil((x) => x.raft(leader)!.role !== 'leader', { timeout: 1000 }), 'CheckQuorum makes it step down');
  });
});
