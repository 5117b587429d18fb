/**
 * Notebook 05 (log compaction, section 7 of the paper and Figure 13): how much a log grows without snapshots,
 * a follower far behind catching up by InstallSnapshot (and without it), a text view of logs that start after a
 * snapshot, and the checks that grade the notebook's three exercises against the library and the simulator.
 */
import { strict as assert } from 'node:assert';
import { Cluster } from '../sim/cluster';
import { Rng } from '../sim/rng';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemoryLog } from '../raft/log';
import { FileStorage } from '../net/file-storage';
import type { LogEntry, Message, NodeId } from '../raft/types';

// ---- What the exercises work on ----

/** A follower's log as Figure 13's receiver sees it: its own snapshot's last index and term, and the entries after it. */
export interface CompactedLog {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** entries[0] is at index snapshotIndex + 1. */
  readonly entries: readonly LogEntry[];
}

/** One InstallSnapshot chunk, as far as the transfer goes: where the piece starts, the piece, whether it is the last. */
export interface SnapshotChunk {
  readonly offset: number;
  readonly data: string;
  readonly done: boolean;
}

/** What the receiver holds after a chunk: the snapshot so far (null when none is on its way) and, once done, the whole of it. */
export interface ChunkResult {
  readonly received: string | null;
  readonly complete: string | null;
}

export type KeepAfterSnapshot = (log: CompactedLog, lastIncludedIndex: number, lastIncludedTerm: number) => LogEntry[];
export type SplitSnapshot = (state: string, size: number) => SnapshotChunk[];
export type ReceiveChunk = (received: string | null, chunk: SnapshotChunk) => ChunkResult;
export type RestoreState = (snapshotState: string, snapshotIndex: number, entries: readonly LogEntry[], upTo: number) => Record<string, unknown>;

// ---- Demos ----

export interface Footprint {
  readonly id: NodeId;
  readonly snapshotIndex: number;
  /** Entries on stable storage after the snapshot: what a restart reads and applies again. */
  readonly entriesOnDisk: number;
  /** Characters of the log on disk (one JSON line per entry, as raftos's .log) and of the snapshot's state. */
  readonly logChars: number;
  readonly snapshotChars: number;
}

/** What each node holds on stable storage now. */
export function footprint(cluster: Cluster): Footprint[] {
  return cluster.ids.map((id) => {
    const p = cluster.persisted(id);
    return {
      id,
      snapshotIndex: p.snapshot?.index ?? 0,
      entriesOnDisk: p.log.length,
      logChars: p.log.reduce((n, e) => n + JSON.stringify({ term: e.term, command: e.command }).length + 1, 0),
      snapshotChars: p.snapshot?.state.length ?? 0,
    };
  });
}

/** A 3-node cluster that takes `writes` writes (over `keys` keys), with or without snapshots. */
export function writeMany(writes: number, options: { snapshotEvery?: number; keys?: number; seed?: number } = {}): Cluster {
  const cluster = new Cluster({ nodes: 3, seed: options.seed ?? 1, trace: 'state', preVote: true, ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}) });
  cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 });
  const keys = options.keys ?? 10;
  for (let i = 1; i <= writes; i++) {
    cluster.propose({ [`k${i % keys}`]: i });
    if (i % 10 === 0) cluster.runFor(20);
  }
  cluster.runFor(300);
  return cluster;
}

/** One line per node: role, its snapshot (last included index and term), the indexes of its log, commit, state size. */
export function describeLogs(cluster: Cluster): string {
  const rows = cluster.ids.map((id) => {
    const s = cluster.status(id);
    const core = cluster.raft(id);
    const snap = cluster.persisted(id).snapshot;
    const base = core?.snapshotIndex ?? snap?.index ?? 0;
    const log = s.log.length === 0 ? 'empty' : `${base + 1}..${base + s.log.length} (${s.log.length} entries)`;
    const snapshot = snap ? `≤ ${snap.index} (term ${snap.term}, ${snap.state.length} chars)` : 'none';
    return `${id}  ${s.role.padEnd(12)} snapshot ${snapshot.padEnd(30)} log ${log.padEnd(26)} commit ${s.commitIndex}`;
  });
  return rows.join('\n');
}

export interface CatchUp {
  readonly cluster: Cluster;
  readonly leader: NodeId;
  readonly follower: NodeId;
  /** Logs when the follower came back, and once it had caught up. */
  readonly before: string;
  readonly after: string;
  /** Virtual ms from reconnecting to the follower applying everything the leader had committed. */
  readonly ms: number;
  readonly caughtUp: boolean;
  /** Messages delivered while catching up, by type. */
  readonly messages: Readonly<Record<string, number>>;
  /** Log entries carried by AppendEntries to the follower, and characters of snapshot state carried by InstallSnapshot. */
  readonly entriesSent: number;
  /** Characters of those entries (one JSON line each, as in raftos's .log). */
  readonly entryCharsSent: number;
  readonly snapshotCharsSent: number;
  /** The InstallSnapshot messages delivered to the follower, in order. */
  readonly installs: readonly { readonly t: number; readonly lastIncludedIndex: number; readonly lastIncludedTerm: number; readonly offset: number; readonly chars: number; readonly done: boolean }[];
}

/**
 * A follower cut off while the others take `writes` writes, then reconnected: how it catches up. With
 * `snapshotEvery`, the leader has compacted the entries the follower lacks and sends its snapshot instead.
 */
export function catchUp(options: { writes?: number; snapshotEvery?: number; chunkChars?: number; keys?: number; seed?: number } = {}): CatchUp {
  const cluster = new Cluster({
    nodes: 3, seed: options.seed ?? 1, trace: 'all', preVote: true, maxEntriesPerAppend: 64,
    ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}),
    ...(options.chunkChars ? { snapshotChunkChars: options.chunkChars } : {}),
  });
  cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 });
  const leader = cluster.leader()!;
  const follower = cluster.ids.find((id) => id !== leader)!;
  cluster.disconnect(follower);
  const writes = options.writes ?? 200;
  const keys = options.keys ?? 20;
  for (let i = 1; i <= writes; i++) {
    cluster.propose({ [`key${String(i % keys).padStart(2, '0')}`]: i });
    if (i % 10 === 0) cluster.runFor(20);
  }
  cluster.runFor(300);
  const before = describeLogs(cluster);
  const from = cluster.trace.events.length;
  cluster.connect(follower);
  const start = cluster.now;
  const target = cluster.status(leader).commitIndex;
  const caughtUp = cluster.runUntil((c) => c.status(follower).lastApplied >= target, { timeout: 10_000 });
  const ms = cluster.now - start;
  cluster.runFor(100);
  const messages: Record<string, number> = {};
  let entriesSent = 0;
  let entryCharsSent = 0;
  let snapshotCharsSent = 0;
  const installs: CatchUp['installs'][number][] = [];
  for (const e of cluster.trace.events.slice(from)) {
    if (e.kind !== 'deliver' || e.t > start + ms) continue;
    const m: Message = e.message;
    messages[m.type] = (messages[m.type] ?? 0) + 1;
    if (e.node !== follower) continue;
    if (m.type === 'AppendEntries') {
      entriesSent += m.entries.length;
      for (const entry of m.entries) entryCharsSent += JSON.stringify({ term: entry.term, command: entry.command }).length + 1;
    }
    if (m.type === 'InstallSnapshot') {
      snapshotCharsSent += m.data.length;
      installs.push({ t: e.t - start, lastIncludedIndex: m.lastIncludedIndex, lastIncludedTerm: m.lastIncludedTerm, offset: m.offset, chars: m.data.length, done: m.done });
    }
  }
  return { cluster, leader, follower, before, after: describeLogs(cluster), ms, caughtUp, messages, entriesSent, entryCharsSent, snapshotCharsSent, installs };
}

/**
 * What `id` has on stable storage, written through the real node's FileStorage (lib/net/file-storage.ts) into
 * `dir` (emptied first): raftos's .storage and .log, and the .snapshot beside them. Returns each file's text.
 */
export function writeFiles(cluster: Cluster, id: NodeId, dir: string): Map<string, string> {
  fs.rmSync(dir, { recursive: true, force: true });
  const p = cluster.persisted(id);
  const storage = new FileStorage(dir, id, { fsync: false });
  storage.load();
  storage.saveHardState({ currentTerm: p.currentTerm, votedFor: p.votedFor });
  if (p.snapshot) {
    // The log as it was before compaction, up to the snapshot (its entries' terms are not needed: only the cut).
    storage.writeLog(1, [...Array.from({ length: p.snapshot.index }, () => ({ term: p.snapshot!.term, command: null })), ...p.log]);
    storage.saveSnapshot(p.snapshot);
  } else storage.writeLog(1, p.log);
  storage.close();
  return new Map(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

// ---- Grading the exercises ----

function randomLog(rng: Rng): CompactedLog {
  const snapshotIndex = rng.int(0, 6);
  const snapshotTerm = snapshotIndex === 0 ? 0 : rng.int(1, 2);
  let term = Math.max(1, snapshotTerm);
  const entries: LogEntry[] = [];
  for (let i = rng.int(0, 9); i > 0; i--) {
    if (rng.int(0, 3) === 0) term += rng.int(1, 2);
    entries.push({ term, command: { x: snapshotIndex + entries.length + 1 } });
  }
  return { snapshotIndex, snapshotTerm, entries };
}

/** What the library's MemoryLog.compact (Figure 13, steps 6-7) keeps. */
export function keepAfterSnapshot(log: CompactedLog, lastIncludedIndex: number, lastIncludedTerm: number): LogEntry[] {
  const memory = new MemoryLog(log.entries.map((e) => ({ ...e })), log.snapshotIndex > 0 ? { index: log.snapshotIndex, term: log.snapshotTerm } : undefined);
  memory.compact(lastIncludedIndex, lastIncludedTerm);
  return [...memory.all];
}

/** The student's steps 6-7 against the library's on `cases` random logs and snapshots (a newer snapshot each time). */
export function checkKeepAfterSnapshot(fn: KeepAfterSnapshot, seed: number, cases = 300): void {
  const rng = new Rng(seed);
  for (let k = 0; k < cases; k++) {
    const log = randomLog(rng);
    const last = log.snapshotIndex + log.entries.length;
    const lastIncludedIndex = rng.int(log.snapshotIndex + 1, last + 3);
    const at = log.entries[lastIncludedIndex - log.snapshotIndex - 1];
    const lastIncludedTerm = at && rng.int(0, 2) > 0 ? at.term : rng.int(1, 6);
    const copy: CompactedLog = { ...log, entries: log.entries.map((e) => ({ ...e })) };
    const got = fn(copy, lastIncludedIndex, lastIncludedTerm);
    const expected = keepAfterSnapshot(log, lastIncludedIndex, lastIncludedTerm);
    const show = `log after snapshot ≤ ${log.snapshotIndex} (term ${log.snapshotTerm}): terms [${log.entries.map((e) => e.term).join(', ')}], snapshot lastIncludedIndex ${lastIncludedIndex}, lastIncludedTerm ${lastIncludedTerm}`;
    assert.deepEqual(got, expected, `${show}: expected ${expected.length} entries kept, got ${Array.isArray(got) ? got.length : String(got)}`);
    assert.deepEqual(copy.entries, log.entries, `${show}: the log given was modified (return a new array)`);
  }
}

/** Chunks as the library's leader cuts them (sendSnapshotChunk): pieces of `size`, one empty chunk for an empty state. */
export function splitSnapshot(state: string, size: number): SnapshotChunk[] {
  const chunks: SnapshotChunk[] = [];
  let offset = 0;
  do {
    const data = state.slice(offset, offset + size);
    chunks.push({ offset, data, done: offset + data.length >= state.length });
    offset += data.length;
  } while (offset < state.length);
  return chunks;
}

/** The student's split against the library's, on random states and sizes. */
export function checkSplit(fn: SplitSnapshot, seed: number, cases = 200): void {
  const rng = new Rng(seed);
  for (let k = 0; k < cases; k++) {
    const length = rng.int(0, 3) === 0 ? rng.int(0, 3) : rng.int(1, 200);
    const state = JSON.stringify({ v: 'x'.repeat(length) }).slice(0, length);
    const size = rng.int(1, 40);
    assert.deepEqual(fn(state, size), splitSnapshot(state, size), `a state of ${state.length} characters in chunks of ${size}`);
  }
}

/**
 * A transfer through the student's receiver over a network that drops, duplicates and delays chunks: the sender
 * is the library's (stop-and-wait: it sends the chunk at the offset the receiver last asked for, and again when
 * nothing comes back). Every snapshot the receiver declares complete must be the whole state, and one must be.
 */
export function transferThrough(split: SplitSnapshot, receive: ReceiveChunk, state: string, size: number, seed: number): { complete: number } {
  const rng = new Rng(seed);
  const chunks = split(state, size);
  assert.ok(Array.isArray(chunks) && chunks.length > 0, 'splitSnapshot returned no chunks');
  const at = new Map(chunks.map((c) => [c.offset, c]));
  let received: string | null = null;
  let want = 0;
  let complete = 0;
  const inFlight: SnapshotChunk[] = [];
  for (let round = 0; round < 2000 && complete === 0; round++) {
    const chunk = at.get(want);
    assert.ok(chunk, `the receiver asked for offset ${want}, where no chunk starts`);
    if (rng.int(0, 4) > 0) inFlight.push(chunk); // 1 in 5 is lost
    if (rng.int(0, 3) === 0 && inFlight.length > 0) inFlight.push(inFlight[rng.int(0, inFlight.length - 1)]!); // a duplicate
    // deliver one of the chunks in flight, not always the oldest
    while (inFlight.length > 0 && rng.int(0, 2) > 0) {
      const next = inFlight.splice(rng.int(0, inFlight.length - 1), 1)[0]!;
      const result: ChunkResult = receive(received, next);
      assert.ok(result && 'received' in result && 'complete' in result, 'receiveChunk must return { received, complete }');
      if (result.complete !== null) {
        assert.equal(result.complete, state, `a snapshot declared complete is not the state sent (${String(result.complete).length} of ${state.length} characters)`);
        assert.equal(result.received, null, 'once complete, nothing is on its way: received is null');
        complete++;
      }
      received = result.received;
      if (received !== null) assert.equal(received, state.slice(0, received.length), `what was received so far (${received.length} characters) is not the start of the state: a chunk was written at the wrong place`);
      want = complete > 0 ? 0 : received === null ? 0 : received.length;
    }
  }
  assert.ok(complete > 0, `after 2000 rounds the receiver never completed the snapshot (${chunks.length} chunks; it holds ${received === null ? 'nothing' : `${(received as string).length} characters`})`);
  return { complete };
}

/** transferThrough on random states, chunk sizes and networks. */
export function checkTransfers(split: SplitSnapshot, receive: ReceiveChunk, seed: number, cases = 60): void {
  const rng = new Rng(seed);
  for (let k = 0; k < cases; k++) {
    const keys = rng.int(0, 30);
    const state = JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`key${i}`, rng.int(0, 1000)])));
    transferThrough(split, receive, state, rng.int(1, 64), seed * 1000 + k);
  }
}

/** What a KeyValueStateMachine holds after a snapshot's state and the entries after it up to `upTo`. */
export function restoreState(snapshotState: string, snapshotIndex: number, entries: readonly LogEntry[], upTo: number): Record<string, unknown> {
  const state: Record<string, unknown> = JSON.parse(snapshotState) as Record<string, unknown>;
  for (const e of entries.slice(0, Math.max(0, upTo - snapshotIndex))) if (e.command !== null) Object.assign(state, e.command);
  return state;
}

/**
 * Runs with snapshots, crashes and a follower cut off: at many moments, every live node's snapshot plus its log
 * up to what it applied, through the student's function, must be exactly its state machine.
 */
export function checkRestoreOnCluster(fn: RestoreState, seed: number): number {
  const cluster = new Cluster({ nodes: 3, seed, trace: 'off', preVote: true, snapshotEvery: 5 + (seed % 4), snapshotChunkChars: 32 });
  const rng = new Rng(seed * 31 + 7);
  let checked = 0;
  for (let round = 0; round < 60; round++) {
    cluster.runFor(rng.int(10, 120));
    const choice = rng.int(0, 9);
    const down = cluster.ids.filter((id) => !cluster.isAlive(id));
    if (choice <= 5) for (let k = rng.int(1, 5); k > 0; k--) cluster.propose({ [`k${rng.int(0, 6)}`]: rng.int(0, 99) });
    else if (choice === 6 && down.length === 0) cluster.crash(rng.pick(cluster.ids));
    else if (choice === 7 && down.length > 0) cluster.restart(rng.pick(down));
    else if (choice === 8) cluster.disconnect(rng.pick(cluster.ids));
    else cluster.heal();
    for (const id of cluster.ids) {
      if (!cluster.isAlive(id)) continue;
      const p = cluster.persisted(id);
      const applied = cluster.status(id).lastApplied;
      const base = p.snapshot?.index ?? 0;
      if (applied < base) continue;
      const state = p.snapshot?.state ?? '{}';
      const entries = p.log.map((e) => ({ ...e }));
      const got = fn(state, base, entries, applied);
      const expected = cluster.stateMachine(id).toJSON();
      assert.deepEqual(got, expected, `${id} at t=${cluster.now.toFixed(0)}: snapshot ≤ ${base} (${state.length} chars) and ${p.log.length} entries after it, applied up to ${applied}`);
      checked++;
    }
  }
  return checked;
}
