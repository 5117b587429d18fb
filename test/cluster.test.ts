import { strict as assert } from 'node:assert';
import { Cluster, Rng, labNodeIds, type ClusterOptions } from '../lib';

/** A busy, faulty run: elections, proposals, a crash, a partition, an unreliable network. */
function scriptedRun(seed: number, extra: Partial<ClusterOptions> = {}): Cluster {
  const c = new Cluster({ seed, nodes: 5, network: { loss: 0.05, duplicate: 0.05, reorder: 0.1, reorderWindow: 50 }, ...extra });
  for (let i = 0; i < 20; i++) {
    c.runFor(100);
    c.propose({ k: i });
  }
  const leader = c.leader();
  if (leader) c.crash(leader);
  c.partition([c.ids[0]!, c.ids[1]!], [c.ids[2]!, c.ids[3]!, c.ids[4]!]);
  c.runFor(1500);
  c.heal();
  if (leader) c.restart(leader);
  c.runFor(1500);
  return c;
}

describe('simulated cluster', () => {
  it('names nodes like the lab: 127.0.0.1:8000, :8001, ...', () => {
    assert.deepEqual(new Cluster().ids, ['127.0.0.1:8000', '127.0.0.1:8001', '127.0.0.1:8002']);
    assert.deepEqual(labNodeIds(2, 'localhost', 9000), ['localhost:9000', 'localhost:9001']);
  });

  it('same seed and same actions give the same trace, event for event', () => {
    const a = scriptedRun(42);
    const b = scriptedRun(42);
    assert.ok(a.trace.events.length > 1000);
    assert.equal(JSON.stringify(a.trace.toJSON()), JSON.stringify(b.trace.toJSON()));
    assert.equal(a.trace.toCSV(), b.trace.toCSV());
  });

  it('different seeds give different traces', () => {
    assert.notEqual(JSON.stringify(scriptedRun(1).trace.toJSON()), JSON.stringify(scriptedRun(2).trace.toJSON()));
  });

  it('the trace level changes what is recorded, not what happens', () => {
    const all = scriptedRun(7);
    const state = scriptedRun(7, { trace: 'state' });
    const off = scriptedRun(7, { trace: 'off' });
    const stateKinds = (c: Cluster) => JSON.stringify(c.trace.toJSON().filter((e) => !['send', 'deliver', 'drop'].includes((e as { kind: string }).kind)).map((e) => ({ ...e, seq: 0 })));
    assert.equal(stateKinds(all), stateKinds(state));
    assert.equal(off.trace.events.length, 0);
    assert.equal(off.trace.count, all.trace.count);
    assert.deepEqual(off.statuses(), all.statuses());
  });

  it('the virtual clock is exact: runFor advances by exactly the duration', () => {
    const c = new Cluster({ seed: 3 });
    c.runFor(1234.5);
    assert.equal(c.now, 1234.5);
    c.runFor(0.5);
    assert.equal(c.now, 1235);
  });

  it('runUntil stops as soon as the condition holds, and reports a virtual timeout', () => {
    const c = new Cluster({ seed: 3 });
    assert.ok(c.runUntil((x) => x.leader() !== null));
    const t = c.now;
    assert.ok(t > 150 && t < 1000, `first election at ${t} ms`);
    const never = c.runUntil(() => false, { timeout: 500 });
    assert.equal(never, false);
    assert.equal(c.now, t + 500);
  });

  it('loss drops messages, and every drop is traced with its reason', () => {
    const c = new Cluster({ seed: 4, network: { loss: 0.3 } });
    c.runFor(5000);
    const sends = c.trace.filter('send').length;
    const lost = c.trace.filter('drop').filter((d) => d.reason === 'loss').length;
    assert.ok(lost > sends * 0.2 && lost < sends * 0.4, `${lost} of ${sends} lost`);
    assert.ok(c.leader() !== null, 'a leader still gets elected through 30% loss');
  });

  it('duplication delivers some messages twice', () => {
    const c = new Cluster({ seed: 4, network: { duplicate: 0.5 } });
    c.runFor(2000);
    const sends = c.trace.filter('send').length;
    const delivered = c.trace.filter('deliver').length;
    assert.ok(delivered > sends * 1.3, `${delivered} deliveries for ${sends} sends`);
  });

  it('reordering lets later messages overtake earlier ones on the same link', () => {
    const c = new Cluster({ seed: 4, network: { latency: { kind: 'fixed', ms: 2 }, reorder: 0.3, reorderWindow: 200 } });
    c.runFor(3000);
    const sent = new Map<object, number>();
    c.trace.filter('send').forEach((e, i) => sent.set(e.message, i));
    let overtakes = 0;
    const lastOnLink = new Map<string, number>();
    for (const d of c.trace.filter('deliver')) {
      const key = `${d.from}->${d.node}`;
      const order = sent.get(d.message)!;
      if ((lastOnLink.get(key) ?? -1) > order) overtakes++;
      lastOnLink.set(key, Math.max(order, lastOnLink.get(key) ?? -1));
    }
    assert.ok(overtakes > 10, `${overtakes} overtakes`);
  });

  it('with a fixed latency and no reordering, every link is FIFO', () => {
    const c = new Cluster({ seed: 4, network: { latency: { kind: 'fixed', ms: 2 } } });
    c.runFor(3000);
    const sent = new Map<object, number>();
    c.trace.filter('send').forEach((e, i) => sent.set(e.message, i));
    const lastOnLink = new Map<string, number>();
    for (const d of c.trace.filter('deliver')) {
      const key = `${d.from}->${d.node}`;
      const order = sent.get(d.message)!;
      assert.ok((lastOnLink.get(key) ?? -1) < order);
      lastOnLink.set(key, order);
    }
  });

  it('long delays hold some messages back for hundreds of milliseconds', () => {
    const c = new Cluster({ seed: 4, network: { longDelay: { probability: 0.2, min: 500, max: 1000 } } });
    c.runFor(3000);
    const sentAt = new Map<object, number>();
    for (const e of c.trace.filter('send')) sentAt.set(e.message, e.t);
    const delays = c.trace.filter('deliver').map((d) => d.t - sentAt.get(d.message)!);
    assert.ok(delays.some((d) => d >= 500), 'some delivery took >= 500 ms');
    assert.ok(delays.filter((d) => d < 10).length > delays.length / 2, 'most are fast');
  });

  it('latencyByType gives some message types their own latency (slow replies)', () => {
    const c = new Cluster({
      seed: 4,
      network: { latency: { kind: 'fixed', ms: 2 }, latencyByType: { AppendEntriesReply: { kind: 'fixed', ms: 20 }, RequestVoteReply: { kind: 'fixed', ms: 20 } } },
    });
    c.runFor(2000);
    const sentAt = new Map<object, number>();
    for (const e of c.trace.filter('send')) sentAt.set(e.message, e.t);
    for (const d of c.trace.filter('deliver')) {
      const delay = d.t - sentAt.get(d.message)!;
      assert.equal(delay, d.message.type.endsWith('Reply') ? 20 : 2, d.message.type);
    }
    assert.throws(() => new Cluster({ network: { latencyByType: { Nope: { kind: 'fixed', ms: 1 } } as never } }), /unknown message type "Nope"/);
    assert.throws(() => new Cluster({ network: { latencyByType: { AppendEntries: { kind: 'fixed', ms: -1 } } } }), /latencyByType\.AppendEntries\.ms/);
  });

  it('a symmetric partition leaves the minority without a leader; healing reunites the cluster', () => {
    const c = new Cluster({ seed: 8, nodes: 5 });
    c.runUntil((x) => x.leader() !== null);
    const old = c.leader()!;
    const others = c.ids.filter((id) => id !== old);
    c.partition([old, others[0]!], others.slice(1));
    c.runFor(3000);
    const leaders = c.leaders();
    const majorityLeader = leaders.find((l) => others.slice(1).includes(l.id));
    assert.ok(majorityLeader, 'the majority side elects a leader');
    assert.equal(c.propose({ x: 1 }, old).accepted, true, 'the stale leader still accepts, but cannot commit');
    assert.equal(c.propose({ y: 2 }, majorityLeader.id).accepted, true);
    c.runFor(1000);
    assert.equal(c.status(old).commitIndex, 0);
    c.heal();
    c.runFor(2000);
    assert.equal(c.leaders().length, 1);
    assert.equal(c.status(old).role, 'follower');
    assert.deepEqual(c.status(old).log.map((e) => e.command), [{ y: 2 }], "the stale leader's uncommitted entry was overwritten");
    assert.deepEqual(c.status(old).state, { y: 2 });
  });

  it('a one-way cut: a leader that can send but not hear keeps followers quiet; one that cannot send is replaced', () => {
    const c = new Cluster({ seed: 12 });
    c.runUntil((x) => x.leader() !== null);
    const leader = c.leader()!;
    for (const id of c.ids) if (id !== leader) c.cutLink(id, leader);
    c.runFor(3000);
    assert.equal(c.leader(), leader, 'heartbeats still arrive, so no follower times out');
    c.heal();
    for (const id of c.ids) if (id !== leader) c.cutLink(leader, id);
    c.runFor(3000);
    const current = c.leaders().sort((a, b) => b.term - a.term)[0]!;
    assert.notEqual(current.id, leader);
  });

  it('crash keeps persisted state and loses volatile state; restart carries on', () => {
    const c = new Cluster({ seed: 2 });
    c.runUntil((x) => x.leader() !== null);
    const leader = c.leader()!;
    c.propose({ a: 1 });
    c.runFor(200);
    const before = c.status(leader);
    c.crash(leader);
    const down = c.status(leader);
    assert.equal(down.alive, false);
    assert.equal(down.role, 'down');
    assert.equal(down.term, before.term);
    assert.deepEqual(down.log, before.log);
    assert.equal(c.propose({ b: 2 }, leader).accepted, false);
    c.restart(leader);
    const up = c.status(leader);
    assert.equal(up.role, 'follower');
    assert.equal(up.commitIndex, 0);
    assert.deepEqual(up.state, {});
    c.runFor(1000);
    assert.deepEqual(c.status(leader).state, { a: 1 }, 're-applied once the leader says what is committed');
  });

  it('exports the trace as JSON and CSV with virtual timestamps', () => {
    const c = new Cluster({ seed: 3 });
    c.runUntil((x) => x.leader() !== null);
    c.propose({ data_id: 1 });
    c.runFor(100);
    const json = c.trace.toJSON() as { seq: number; t: number; kind: string }[];
    assert.equal(json.length, c.trace.events.length);
    assert.deepEqual(json.map((e) => e.seq), json.map((_, i) => i));
    assert.ok(json.every((e, i) => i === 0 || e.t >= json[i - 1]!.t), 'timestamps never go back');
    const kinds = new Set(json.map((e) => e.kind));
    for (const k of ['timeout', 'role', 'term', 'vote', 'send', 'deliver', 'append', 'commit', 'apply', 'propose']) assert.ok(kinds.has(k), k);
    const csv = c.trace.toCSV().trimEnd().split('\n');
    assert.equal(csv[0], 'seq,t,node,kind,peer,term,index,detail');
    assert.equal(csv.length, json.length + 1);
    const apply = csv.find((l) => l.includes(',apply,'))!;
    assert.match(apply, /"\{""command"":\{""data_id"":1\}\}"/);
  });

  it('rejects bad options with errors that name the field', () => {
    assert.throws(() => new Cluster({ network: { loss: 2 } }), /network\.loss/);
    assert.throws(() => new Cluster({ nodes: ['a', 'a'] }), /unique/);
    assert.throws(() => new Cluster({ timings: { electionTimeout: { min: 300, max: 100 } } }), /electionTimeout/);
    assert.throws(() => new Cluster().status('nope'), /no node "nope"/);
  });

  it('Rng is reproducible and uniform enough', () => {
    const a = new Rng(99);
    const b = new Rng(99);
    const xs = Array.from({ length: 10000 }, () => a.next());
    assert.deepEqual(xs.slice(0, 100), Array.from({ length: 100 }, () => b.next()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});
