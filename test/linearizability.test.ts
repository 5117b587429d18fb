import { strict as assert } from 'node:assert';
import { ReadTimeoutError } from '../lib/errors';
import { Cluster, Replicated, ReplicatedDict, SimNode, runVirtual } from '../lib';
import { checkLinearizability, type KvOperation } from '../lib/check/linearizability';
import { runKvWorkload, type KvFault } from '../lib/check/kv-workload';

const put = (client: number, key: string, value: string, call: number, ret?: number): KvOperation => ({ client, op: 'put', key, value, call, return: ret });
const get = (client: number, key: string, value: string | null, call: number, ret?: number): KvOperation => ({ client, op: 'get', key, value, call, return: ret });
const append = (client: number, key: string, value: string, call: number, ret?: number): KvOperation => ({ client, op: 'append', key, value, call, return: ret });

function assertIllegal(history: KvOperation[], key: string): string {
  const r = checkLinearizability(history);
  assert.equal(r.result, 'illegal', `expected a violation, got ${JSON.stringify(r)}`);
  if (r.result !== 'illegal') throw new Error('unreachable');
  assert.equal(r.failure.key, key);
  return r.failure.explanation;
}

function assertOk(history: KvOperation[]): void {
  const r = checkLinearizability(history);
  assert.equal(r.result, 'ok', r.result === 'illegal' ? r.failure.explanation : JSON.stringify(r));
}

describe('linearizability checker: histories it must reject', () => {
  it('stale read: a get after a completed put returns the older value', () => {
    const text = assertIllegal([put(1, 'x', 'a', 0, 10), put(1, 'x', 'b', 20, 30), get(2, 'x', 'a', 40, 50)], 'x');
    assert.match(text, /get\(x\) -> "a"/);
    assert.match(text, /These 3 operations/);
  });

  it('lost write: a completed put is never seen, an earlier value comes back', () => {
    assertIllegal([put(1, 'x', 'a', 0, 5), put(2, 'x', 'b', 10, 15), get(3, 'x', null, 20, 25)], 'x');
    assertIllegal([put(1, 'x', 'a', 0, 5), get(3, 'x', null, 20, 25)], 'x');
  });

  it('read-your-write violated: a client does not see its own completed put', () => {
    assertIllegal([put(1, 'y', 'old', 0, 5), put(2, 'y', 'mine', 10, 20), get(2, 'y', 'old', 21, 22)], 'y');
  });

  it('out of order: two reads see two writes in opposite orders', () => {
    // Writes a and b overlap, so either order is fine, but not both at once.
    assertIllegal([
      put(1, 'z', 'a', 0, 100), put(2, 'z', 'b', 0, 100),
      get(3, 'z', 'a', 110, 120), get(3, 'z', 'b', 130, 140), get(4, 'z', 'a', 150, 160),
    ], 'z');
  });

  it('a value nobody wrote', () => {
    assertIllegal([put(1, 'x', 'a', 0, 10), get(2, 'x', 'q', 20, 30)], 'x');
  });

  it('appends out of order or lost', () => {
    assertIllegal([append(1, 'l', 'a', 0, 10), append(2, 'l', 'b', 20, 30), get(3, 'l', 'ba', 40, 50)], 'l');
    assertIllegal([append(1, 'l', 'a', 0, 10), append(2, 'l', 'b', 20, 30), get(3, 'l', 'b', 40, 50)], 'l');
  });

  it('a timed-out put may take effect late, but not before its call', () => {
    assertIllegal([get(2, 'x', 'late', 0, 10), put(1, 'x', 'late', 20)], 'x');
  });

  it('finds the one bad key among independent good ones, and explains with a minimal subset', () => {
    const history: KvOperation[] = [];
    for (let k = 0; k < 20; k++) {
      history.push(put(k, `k${k}`, `v${k}`, k * 10, k * 10 + 5), get(k + 100, `k${k}`, `v${k}`, k * 10 + 6, k * 10 + 8));
    }
    history.push(put(1, 'k7', 'w', 500, 510), get(2, 'k7', 'v7', 520, 530), get(3, 'k3', 'v3', 540, 550));
    const r = checkLinearizability(history);
    assert.equal(r.result, 'illegal');
    if (r.result !== 'illegal') return;
    assert.equal(r.failure.key, 'k7');
    assert.deepEqual([...r.failure.minimal!].sort((a, b) => a - b), [history.findIndex((o) => o.op === 'put' && o.key === 'k7' && o.value === 'v7'), 40, 41]);
  });
});

describe('linearizability checker: histories it must accept', () => {
  it('sequential history', () => {
    assertOk([get(1, 'x', null, 0, 1), put(1, 'x', 'a', 2, 3), get(2, 'x', 'a', 4, 5), put(2, 'x', 'b', 6, 7), get(1, 'x', 'b', 8, 9)]);
  });

  it('concurrent overlapping operations may take effect in either order', () => {
    assertOk([put(1, 'x', 'a', 0, 100), put(2, 'x', 'b', 10, 90), get(3, 'x', 'a', 20, 30), get(4, 'x', 'b', 95, 120)]);
    assertOk([put(1, 'x', 'a', 0, 100), get(3, 'x', null, 5, 6), get(4, 'x', 'a', 50, 60), get(5, 'x', 'a', 101, 102)]);
  });

  it('operations that touch (one returns when the next is called) count as concurrent', () => {
    assertOk([put(1, 'x', 'a', 0, 10), get(2, 'x', null, 10, 20)]);
  });

  it('timed-out operations: a put with no return may take effect late or never', () => {
    assertOk([put(1, 'x', 'a', 0, 10), put(2, 'x', 'lost', 20), get(3, 'x', 'a', 30, 40)]);
    assertOk([put(1, 'x', 'a', 0, 10), put(2, 'x', 'late', 20), get(3, 'x', 'a', 30, 40), get(3, 'x', 'late', 1000, 1001)]);
    assertOk([get(1, 'x', 'zzz', 0)]); // a get that never returned says nothing
  });

  it('appends', () => {
    assertOk([append(1, 'l', 'a', 0, 10), append(2, 'l', 'b', 5, 30), get(3, 'l', 'ba', 31, 40)]);
  });

  it('a timed-out put seen only through a later append is kept (the previous checker dropped it and said illegal)', () => {
    assertOk([put(1, 'x', 'a', 0), append(2, 'x', 'b', 5, 10), get(3, 'x', 'ab', 11, 12)]);
  });

  it('bounded work: past maxSteps the answer is unknown, not a guess', () => {
    // Many overlapping writes and reads of one key: a large search space.
    const history: KvOperation[] = [];
    for (let i = 0; i < 40; i++) history.push(put(i, 'x', `v${i}`, 0, 1000));
    for (let i = 0; i < 40; i++) history.push(get(100 + i, 'x', `v${39 - i}`, 0, 1000));
    // Illegal (v0 then v1 with no write between), but only an exhaustive search can tell.
    history.push(get(200, 'x', 'v0', 1001, 1002), get(201, 'x', 'v1', 1003, 1004));
    const r = checkLinearizability(history, { maxSteps: 1000 });
    assert.equal(r.result, 'unknown');
    if (r.result === 'unknown') {
      assert.match(r.reason, /key "x" exceeded 1000 steps/);
      assert.deepEqual(r.unknownKeys, ['x']);
    }
  });

  it('refuses malformed operations with a clear error', () => {
    assert.throws(() => checkLinearizability([put(1, 'x', 'a', 10, 5)]), /history\[0\]\.return \(5\) must be .* not before its call \(10\)/);
    assert.throws(() => checkLinearizability([{ client: 1, op: 'cas' as 'put', key: 'x', value: 'a', call: 0, return: 1 }]), /history\[0\]\.op/);
  });
});

/** Seeds per fault mix; every history must be linearizable. */
const SEEDS = 40;
const mixes: { name: string; faults: KvFault[]; nodes: number }[] = [
  { name: 'no faults', faults: [], nodes: 3 },
  { name: 'partitions', faults: ['partitions'], nodes: 3 },
  { name: 'crashes and restarts', faults: ['crashes'], nodes: 3 },
  { name: 'an unreliable network', faults: ['unreliable'], nodes: 3 },
  { name: 'all of them, 5 nodes', faults: ['partitions', 'crashes', 'unreliable'], nodes: 5 },
];

describe('the key/value store over the simulated cluster is linearizable (reads through the log)', () => {
  for (const mix of mixes) {
    it(`${SEEDS} seeds under ${mix.name}`, async () => {
      let ops = 0;
      let unknown = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const run = await runKvWorkload({ seed, faults: mix.faults, nodes: mix.nodes });
        const r = checkLinearizability(run.history);
        assert.equal(r.result, 'ok', `seed ${seed}: ${r.result === 'illegal' ? r.failure.explanation : JSON.stringify(r)}`);
        assert.ok(run.stats.completed > 20, `seed ${seed}: clients made progress (${run.stats.completed} operations completed)`);
        ops += run.history.length;
        unknown += run.stats.unknown;
      }
      assert.ok(ops > SEEDS * 40);
      if (mix.faults.includes('crashes') || mix.faults.includes('partitions')) assert.ok(unknown > 0, 'faults leave some operations with an unknown outcome');
    });
  }

  it('the same seed gives the same history', async () => {
    const a = await runKvWorkload({ seed: 9, faults: ['partitions', 'crashes', 'unreliable'] });
    const b = await runKvWorkload({ seed: 9, faults: ['partitions', 'crashes', 'unreliable'] });
    assert.deepEqual(a.history, b.history);
  });
});

describe('Replicated reads and read-modify-writes are linearizable (they once were not)', () => {
  it('Replicated.get() on a leader cut off from the majority refuses instead of serving a stale read', async () => {
    const cluster = new Cluster({ seed: 3, trace: 'off' });
    assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 }));
    const old = cluster.leader()!;
    const x = (id: string) => new Replicated<string>('x', { node: new SimNode(cluster, id) });
    await x(old).set('1');
    cluster.partition([old], cluster.ids.filter((id) => id !== old));
    assert.ok(cluster.runUntil((c) => c.leaders().some((l) => l.id !== old), { timeout: 5000 }));
    const fresh = cluster.leaders().find((l) => l.id !== old)!.id;
    await x(fresh).set('2');
    cluster.runFor(10);
    assert.equal(cluster.status(old).role, 'leader', 'the old leader still believes it leads (no CheckQuorum)');
    const logBefore = cluster.raft(old)!.lastIndex;
    await assert.rejects(x(old).get({ timeoutMs: 2000 }), ReadTimeoutError);
    assert.equal(cluster.raft(old)!.lastIndex, logBefore, 'ReadIndex writes nothing to the log');
    assert.equal(await x(fresh).get(), '2');
  });

  it('the random workload with Replicated.get() reads is linearizable on every seed', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const run = await runKvWorkload({ seed, faults: ['partitions', 'crashes', 'unreliable'], reads: 'leader-local' });
      const verdict = checkLinearizability(run.history);
      assert.equal(verdict.result, 'ok', `seed ${seed}: ${JSON.stringify(verdict).slice(0, 400)}`);
    }
  });

  it('a new leader catches up before it reads: get() sees the acknowledged write and setItem keeps it', async () => {
    // No leader no-op (the default, like raftos): the read barrier commits an entry of the new term first.
    const cluster = new Cluster({ seed: 1, trace: 'off' });
    assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 }));
    const first = cluster.leader()!;
    const dict = (id: string) => new ReplicatedDict<string>('d', { node: new SimNode(cluster, id) });
    const history: KvOperation[] = [];
    let t = cluster.now;
    await dict(first).setItem('a', '1');
    history.push(put(1, 'a', '1', t, cluster.now));
    cluster.crash(first); // right after acknowledging; the followers hold the entry but not yet its commit
    assert.ok(cluster.runUntil((c) => c.leader() !== null && c.leader() !== first, { timeout: 5000 }));
    const next = cluster.leader()!;
    t = cluster.now;
    const seen = await dict(next).get();
    history.push(get(2, 'a', seen['a'] ?? null, t, cluster.now));
    assert.deepEqual(seen, { a: '1' });
    await dict(next).setItem('b', '1');
    const final = await dict(next).get();
    history.push(get(2, 'a', final['a'] ?? null, cluster.now, cluster.now + 1));
    assert.deepEqual(final, { a: '1', b: '1' });
    assert.equal(checkLinearizability(history).result, 'ok');
  });

  it('ReplicatedDict.setItem from two programs on one node keeps both updates', async () => {
    const cluster = new Cluster({ seed: 4, trace: 'off' });
    assert.ok(cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 }));
    const leader = cluster.leader()!;
    const program = () => new ReplicatedDict<string>('d', { node: new SimNode(cluster, leader, { drive: 'external' }) });
    const a = program();
    const b = program();
    let pending = 2;
    void a.setItem('a', '1').then(() => pending--);
    void b.setItem('b', '1').then(() => pending--);
    await runVirtual(cluster, () => pending === 0, { until: cluster.now + 5000 });
    assert.equal(pending, 0, 'both writes were acknowledged');
    let dict: Record<string, string> | undefined;
    void a.get().then((d) => { dict = d; });
    await runVirtual(cluster, () => dict !== undefined, { until: cluster.now + 5000 });
    assert.deepEqual(dict, { a: '1', b: '1' });
  });
});
