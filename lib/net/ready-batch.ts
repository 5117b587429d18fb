import type { AppliedEntry, CoreNote, HardState, LogEntry, Message, NodeId, Outbound, ReadResult, Ready, Snapshot } from '../raft/types';

/**
 * Group commit for the real node: every Ready of one event-loop turn merged into one write, and the
 * messages of that turn sent in as few datagrams as Raft allows.
 */

/** Readies merged by mergeReady (a Ready whose parts can grow). */
export interface ReadyBatch {
  hardState?: HardState;
  log?: { from: number; entries: LogEntry[] };
  messages: Outbound[];
  apply: AppliedEntry[];
  notes: CoreNote[];
  reads?: ReadResult[];
  snapshot?: { snapshot: Snapshot; restore: boolean };
}

export function emptyBatch(): ReadyBatch {
  return { messages: [], apply: [], notes: [] };
}

/**
 * Fold `next` into `batch` so that handling the batch once (persist, send, apply) is the same as handling
 * the Readies one after the other: the latest hard state wins, log writes are combined into one (a later
 * write from an earlier index replaces what it covers), messages, applies and notes are concatenated.
 */
export function mergeReady(batch: ReadyBatch, next: Ready): void {
  if (next.snapshot) {
    // A later snapshot covers an earlier one; a received one replaces the state machine, so entries of the
    // batch it covers are not applied on top of it.
    const restore = next.snapshot.restore || (batch.snapshot?.restore ?? false);
    batch.snapshot = { snapshot: next.snapshot.snapshot, restore };
    if (next.snapshot.restore) batch.apply = batch.apply.filter((a) => a.index > next.snapshot!.snapshot.index);
    const cut = next.snapshot.snapshot.index;
    if (batch.log && batch.log.from <= cut) {
      const kept = batch.log.entries.slice(cut + 1 - batch.log.from);
      batch.log = { from: cut + 1, entries: kept };
    }
  }
  if (next.hardState) batch.hardState = next.hardState;
  if (next.log) {
    const { from, entries } = next.log;
    const log = batch.log;
    if (log === undefined || from <= log.from) {
      batch.log = { from, entries: [...entries] };
    } else {
      if (from > log.from + log.entries.length) {
        throw new RangeError(`log write from index ${from} leaves a gap after index ${log.from + log.entries.length - 1}`);
      }
      log.entries.length = from - log.from;
      for (const e of entries) log.entries.push(e);
    }
  }
  for (const m of next.messages) batch.messages.push(m);
  for (const a of next.apply) batch.apply.push(a);
  for (const n of next.notes) batch.notes.push(n);
  if (next.reads) for (const r of next.reads) (batch.reads ??= []).push(r);
}

/**
 * The same messages in fewer datagrams: an AppendEntries that continues the previous message to the same
 * peer (same term, its prevLogIndex/prevLogTerm at the end of that one) is appended to it, up to
 * `maxEntries` entries; a successful AppendEntriesReply replaces the previous message to the same peer when
 * that was a successful reply of the same term with a lower or equal matchIndex. Receiving the result is
 * the same to Raft as receiving the originals in order.
 */
export function coalesceMessages(messages: readonly Outbound[], maxEntries: number): Outbound[] {
  if (messages.length < 2) return [...messages];
  const out: Outbound[] = [];
  const lastTo = new Map<NodeId, number>();
  for (const o of messages) {
    const at = lastTo.get(o.to);
    const prev = at === undefined ? undefined : out[at]!.message;
    const merged = prev === undefined ? null : coalesce(prev, o.message, maxEntries);
    if (merged !== null) {
      out[at!] = { to: o.to, message: merged };
    } else {
      lastTo.set(o.to, out.length);
      out.push(o);
    }
  }
  return out;
}

function coalesce(prev: Message, next: Message, maxEntries: number): Message | null {
  if (prev.type === 'AppendEntries' && next.type === 'AppendEntries') {
    const end = prev.prevLogIndex + prev.entries.length;
    const endTerm = prev.entries.length > 0 ? prev.entries[prev.entries.length - 1]!.term : prev.prevLogTerm;
    if (
      next.term !== prev.term ||
      next.leaderId !== prev.leaderId ||
      next.prevLogIndex !== end ||
      next.prevLogTerm !== endTerm ||
      (next.entries.length > 0 && prev.entries.length + next.entries.length > maxEntries)
    ) {
      return null;
    }
    const round = laterRound(prev.round, next.round);
    return {
      ...prev,
      entries: next.entries.length === 0 ? prev.entries : [...prev.entries, ...next.entries],
      leaderCommit: Math.max(prev.leaderCommit, next.leaderCommit),
      ...(round === undefined ? {} : { round }),
    };
  }
  if (
    prev.type === 'AppendEntriesReply' &&
    next.type === 'AppendEntriesReply' &&
    prev.success &&
    next.success &&
    prev.term === next.term &&
    next.matchIndex >= prev.matchIndex
  ) {
    const round = laterRound(prev.round, next.round);
    return round === next.round ? next : { ...next, round: round! };
  }
  return null;
}

/** A merged message answers (or asks) the latest read round of the two (ReadIndex rounds only grow). */
function laterRound(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
