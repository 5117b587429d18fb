import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nb05 from '../lib/course/notebook-05';
import { MemoryLog } from '../lib/raft/log';
import { parseLogText, parseSnapshotText } from '../lib/net/raftos-files';
import type { LogEntry } from '../lib/raft/types';

/** Notebook 05's helpers: its demos show what they say, and its checks pass the reference answers and catch wrong ones. */

function keep(log: nb05.CompactedLog, lastIncludedIndex: number, lastIncludedTerm: number): LogEntry[] {
  const at = log.entries[lastIncludedIndex - log.snapshotIndex - 1];
  return at !== undefined && at.term === lastIncludedTerm ? log.entries.slice(lastIncludedIndex - log.snapshotIndex) : [];
}
function receive(received: string | null, chunk: nb05.SnapshotChunk): nb05.ChunkResult {
  let held: string;
  if (chunk.offset === 0) held = chunk.data;
  else if (received !== null && chunk.offset === received.length) held = received + chunk.data;
  else return { received, complete: null };
  return chunk.done ? { received: null, complete: held } : { received: held, complete: null };
}
function restoreState(state: string, base: number, entries: readonly LogEntry[], upTo: number): Record<string, unknown> {
  const out = JSON.parse(state) as Record<string, unknown>;
  for (let i = base + 1; i <= upTo; i++) {
    const command = entries[i - base - 1]!.command;
    if (command !== null) Object.assign(out, command);
  }
  return out;
}

describe('notebook 05 (log compaction): demos and checks', function () {
  this.timeout(60_000);

  it('a follower cut off catches up by InstallSnapshot with snapshots, by AppendEntries alone without', () => {
    const without = nb05.catchUp({ writes: 200 });
    const withSnapshots = nb05.catchUp({ writes: 200, snapshotEvery: 20, chunkChars: 64 });
    for (const run of [without, withSnapshots]) {
      assert.ok(run.caughtUp);
      assert.deepEqual(run.cluster.stateMachine(run.follower).toJSON(), run.cluster.stateMachine(run.leader).toJSON());
    }
    assert.equal(without.messages['InstallSnapshot'] ?? 0, 0);
    assert.equal(without.entriesSent, 200);
    assert.ok(withSnapshots.installs.length >= 2, 'the state goes in several chunks');
    assert.deepEqual(withSnapshots.installs.map((m) => m.offset), withSnapshots.installs.reduce<number[]>((o, m, i) => [...o, i === 0 ? 0 : o[i - 1]! + withSnapshots.installs[i - 1]!.chars], []));
    assert.equal(withSnapshots.installs.at(-1)!.done, true);
    assert.ok(withSnapshots.entriesSent < 64);
    assert.ok(withSnapshots.cluster.raft(withSnapshots.follower)!.snapshotIndex > 0);
  });

  it('footprint: without snapshots every entry stays on disk; with them, about snapshotEvery', () => {
    assert.ok(nb05.footprint(nb05.writeMany(300)).every((f) => f.entriesOnDisk === 300 && f.snapshotIndex === 0));
    assert.ok(nb05.footprint(nb05.writeMany(300, { snapshotEvery: 50 })).every((f) => f.entriesOnDisk <= 60 && f.snapshotIndex + f.entriesOnDisk === 300 && f.snapshotChars > 0));
  });

  it('writeFiles: the .snapshot beside raftos files, the .log naming it, that read back as the node persisted', () => {
    const cluster = nb05.writeMany(37, { snapshotEvery: 10, keys: 4 });
    const id = cluster.ids[1]!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb05-'));
    try {
      const files = nb05.writeFiles(cluster, id, dir);
      const p = cluster.persisted(id);
      const name = id.replace(/:/g, '_');
      assert.deepEqual(parseSnapshotText(files.get(`${name}.snapshot`)!, 's'), p.snapshot);
      const log = parseLogText(files.get(`${name}.log`)!, 'l');
      assert.deepEqual(log.snapshot, { index: p.snapshot!.index, term: p.snapshot!.term });
      assert.deepEqual(log.entries, p.log);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the checks pass the reference answers', () => {
    nb05.checkKeepAfterSnapshot(keep, 1);
    nb05.checkSplit(nb05.splitSnapshot, 1);
    nb05.checkTransfers(nb05.splitSnapshot, receive, 1);
    assert.ok(nb05.checkRestoreOnCluster(restoreState, 1) > 50);
    assert.ok(nb05.checkRestoreOnCluster(nb05.restoreState, 2) > 50);
  });

  it('the checks catch wrong answers', () => {
    assert.throws(() => nb05.checkKeepAfterSnapshot((log, index) => log.entries.slice(Math.max(0, index - log.snapshotIndex)), 1), /expected 0 entries kept/);
    assert.throws(() => nb05.checkKeepAfterSnapshot(() => [], 1), /entries kept, got 0/);
    assert.throws(() => nb05.checkKeepAfterSnapshot((log, i, t) => { const r = keep(log, i, t); (log.entries as LogEntry[]).length = 0; return r; }, 1), /modified/);
    assert.throws(() => nb05.checkSplit((s, n) => nb05.splitSnapshot(s, n).filter((c) => c.data !== ''), 1));
    const appendAll: nb05.ReceiveChunk = (r, c) => { const held = (c.offset === 0 ? '' : r ?? '') + c.data; return c.done ? { received: null, complete: held } : { received: held, complete: null }; };
    assert.throws(() => nb05.checkTransfers(nb05.splitSnapshot, appendAll, 1), /not the start of the state|not the state sent/);
    assert.throws(() => nb05.checkRestoreOnCluster((s, b, e) => restoreState(s, b, e, b + e.length), 1), /applied up to/);
    assert.throws(() => nb05.checkRestoreOnCluster((s, b, e, u) => restoreState('{}', b, e, u), 1));
  });

  it('keepAfterSnapshot is MemoryLog.compact: steps 6-7', () => {
    const e = (term: number): LogEntry => ({ term, command: null });
    const log = { snapshotIndex: 2, snapshotTerm: 1, entries: [e(1), e(2), e(2)] };
    assert.deepEqual(nb05.keepAfterSnapshot(log, 4, 2), [e(2)]);
    assert.deepEqual(nb05.keepAfterSnapshot(log, 4, 3), []);
    assert.deepEqual(nb05.keepAfterSnapshot(log, 9, 2), []);
    const memory = new MemoryLog([e(1)], { index: 2, term: 1 });
    assert.equal(memory.snapshotIndex, 2);
  });
});
