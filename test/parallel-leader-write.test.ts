/**
 * Dissertation 10.2.1: a leader writes its new entries while it sends them, counting itself toward a majority only
 * once they are durable (RaftOptions.leaderWritesInParallel and logDurable(); FileStorage.appendInBackground).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RaftNode } from '../lib/raft/node';
import type { Outbound, Ready } from '../lib/raft/types';
import { FileStorage } from '../lib/net/file-storage';
import { readLogFile } from '../lib/net/raftos-files';
import { Cluster } from '../lib/sim/cluster';
import { runSeed } from '../lib/fuzz/campaign';

/** Three hand-driven servers; `a` leads term 1 with its no-op committed. */
function threeServers(parallel: boolean) {
  const ids = ['a', 'b', 'c'];
  const nodes = new Map(ids.map((id) => [id, new RaftNode({ id, peers: ids, random: () => 0.5, leaderNoop: true, ...(id === 'a' && parallel ? { leaderWritesInParallel: true } : {}) })]));
  const a = nodes.get('a')!;
  /** Deliver every message (and the replies they cause) except those `hold` keeps; the held ones are returned. */
  const run = (from: string, ready: Ready, t: number, hold: (o: Outbound, from: string) => boolean = () => false): Array<{ from: string; out: Outbound }> => {
    const held: Array<{ from: string; out: Outbound }> = [];
    const queue = ready.messages.map((out) => ({ from, out }));
    while (queue.length > 0) {
      const next = queue.shift()!;
      if (hold(next.out, next.from)) { held.push(next); continue; }
      for (const out of nodes.get(next.out.to)!.step(next.from, next.out.message, t).messages) queue.push({ from: next.out.to, out });
    }
    return held;
  };
  run('a', a.campaign(0), 1);
  assert.equal(a.role, 'leader');
  if (parallel) run('a', a.logDurable(a.lastIndex, 2), 2);
  assert.equal(a.commitIndex, 1, 'the no-op is committed');
  return { a, nodes, run };
}

describe('a leader writing in parallel with sending (dissertation 10.2.1)', () => {
  it('counts itself only once its entry is durable: one follower\'s ack is not a majority before that', () => {
    const { a, run } = threeServers(true);
    const p = a.propose({ x: 1 }, 10);
    assert.ok(p.accepted);
    // c's copy never arrives; b's ack does.
    run('a', p.ready, 11, (o) => o.to === 'c');
    assert.equal(a.commitIndex, 1, 'a and b hold entry 2, but a has not stored it yet');
    const durable = a.logDurable(p.index, 12);
    assert.equal(a.commitIndex, 2, 'stored: a and b are a majority');
    assert.ok(durable.notes.some((n) => n.kind === 'commit' && n.commitIndex === 2));
  });

  it('two followers\' acks commit an entry the leader has not stored yet', () => {
    const { a, run } = threeServers(true);
    const p = a.propose({ x: 1 }, 10);
    assert.ok(p.accepted);
    run('a', p.ready, 11);
    assert.equal(a.commitIndex, 2);
  });

  it('without the option a leader counts its whole log, as its driver writes before it reads a reply', () => {
    const { a, run } = threeServers(false);
    const p = a.propose({ x: 1 }, 10);
    assert.ok(p.accepted);
    run('a', p.ready, 11, (o) => o.to === 'c');
    assert.equal(a.commitIndex, 2);
  });

  it('a durability report of an earlier leadership counts for nothing', () => {
    const { a, nodes, run } = threeServers(true);
    const p = a.propose({ x: 1 }, 10);
    assert.ok(p.accepted);
    run('a', p.ready, 11, () => true); // nothing delivered
    run('b', nodes.get('b')!.campaign(100), 101);
    assert.equal(a.role, 'follower');
    const late = a.logDurable(p.index, 102);
    assert.equal(a.commitIndex, 1);
    assert.equal(late.messages.length, 0);
  });
});

describe('FileStorage.appendInBackground', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bg-append-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('appends in call order, sharing writes and fsyncs, and the log is raftos\'s file', async () => {
    const s = new FileStorage(dir, '127.0.0.1:8000');
    s.load();
    const writes = Array.from({ length: 20 }, (_, i) => s.appendInBackground(i + 1, [{ term: 1, command: { x: i } }]));
    assert.equal(s.log.length, 20, 'in the log at once');
    await Promise.all(writes);
    await s.backgroundSettled();
    assert.ok(s.stats.fsyncs < 20, `queued appends share an fsync (${s.stats.fsyncs})`);
    assert.deepEqual(readLogFile(s.files.log).entries, Array.from({ length: 20 }, (_, i) => ({ term: 1, command: { x: i } })));
    s.close();
  });

  it('refuses a write that would overtake an append in flight, and anything but a pure append', async () => {
    const s = new FileStorage(dir, '127.0.0.1:8000');
    s.load();
    assert.throws(() => s.appendInBackground(2, [{ term: 1, command: null }]), /not a pure append/);
    const pending = s.appendInBackground(1, [{ term: 1, command: null }]);
    assert.throws(() => s.saveHardState({ currentTerm: 2, votedFor: null }), /background append is in flight/);
    assert.throws(() => s.writeLog(1, []), /background append is in flight/);
    await pending;
    await s.backgroundSettled();
    s.saveHardState({ currentTerm: 2, votedFor: null });
    s.writeLog(1, [{ term: 2, command: { y: 1 } }]);
    assert.deepEqual(readLogFile(s.files.log).entries, [{ term: 2, command: { y: 1 } }]);
    s.close();
  });
});

describe('the simulator with leaderWriteMs', () => {
  it('commits on the followers\' copies before the leader\'s own write lands; a crash then loses only the leader\'s copy', () => {
    const c = new Cluster({ seed: 4, nodes: 3, leaderWriteMs: 40, leaderNoop: true }); // the next leader commits the entry with its no-op
    assert.ok(c.runUntil((x) => x.leader() !== null, { timeout: 5000 }));
    c.runFor(100); // the no-op's write has landed
    const leader = c.leader()!;
    const p = c.propose({ x: 1 });
    assert.ok(p.accepted);
    assert.ok(c.runUntil((x) => x.raft(leader)!.commitIndex >= p.index, { timeout: 30 }), 'committed within the write time');
    assert.equal(c.persisted(leader).log.length, p.index - 1, 'not on the leader\'s storage yet');
    c.crash(leader);
    c.runFor(100);
    c.restart(leader);
    assert.equal(c.persisted(leader).log.length, p.index - 1, 'the write was lost in the crash');
    assert.ok(c.runUntil((x) => x.ids.every((id) => x.stateMachine(id).get('x') === 1), { timeout: 5000 }), 'the committed entry survives on the others and returns to the old leader');
  });

  it('100 fuzz seeds with leaders writing in parallel: no violation', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const result = runSeed(seed, { leaderWriteMs: 8 });
      assert.equal(result.failure, null, `seed ${seed}: ${JSON.stringify(result.failure)}`);
    }
  });
});
