import { markLibraryCode } from './library-code';
import type { NodeId, RequestVote } from './types';

/**
 * The rules of Figure 2 as small named functions. RaftNode calls them through a RaftRules object,
 * so a notebook can plug in a student's version, and the bug zoo a known-broken one.
 */

/** Read-only view of a log: index 1 is the first entry, termAt(0) is 0, termAt past the end is undefined. */
export interface LogView {
  readonly lastIndex: number;
  termAt(index: number): number | undefined;
}

export interface LogPosition {
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

/** §5.4.1: a log is more up to date if its last term is higher, or the terms match and it is at least as long. */
export function logIsUpToDate(candidate: LogPosition, mine: LogPosition): boolean {
  if (candidate.lastLogTerm !== mine.lastLogTerm) return candidate.lastLogTerm > mine.lastLogTerm;
  return candidate.lastLogIndex >= mine.lastLogIndex;
}

export interface VoteContext {
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly request: RequestVote;
  /** logIsUpToDate(candidate, receiver), already computed. */
  readonly candidateLogUpToDate: boolean;
}

/** RequestVote receiver rules 1 and 2. A higher term has already been adopted by the caller. */
export function grantVote(ctx: VoteContext): boolean {
  if (ctx.request.term < ctx.currentTerm) return false;
  const free = ctx.votedFor === null || ctx.votedFor === ctx.request.candidateId;
  return free && ctx.candidateLogUpToDate;
}

export type ConsistencyResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly conflictIndex: number; readonly conflictTerm?: number };

/**
 * AppendEntries receiver rule 2: refuse unless the log has an entry at prevLogIndex whose term is prevLogTerm.
 * On refusal, a hint so the leader skips a whole term per round trip:
 * - log too short: conflictIndex = lastIndex + 1, no conflictTerm;
 * - term mismatch: conflictTerm = the term found there, conflictIndex = first index holding that term.
 */
export function checkConsistency(log: LogView, prevLogIndex: number, prevLogTerm: number): ConsistencyResult {
  if (prevLogIndex > log.lastIndex) return { ok: false, conflictIndex: log.lastIndex + 1 };
  const found = log.termAt(prevLogIndex) ?? 0;
  if (found === prevLogTerm) return consistent;
  let first = prevLogIndex;
  while (first > 1 && log.termAt(first - 1) === found) first--;
  return { ok: false, conflictIndex: first, conflictTerm: found };
}

/** The one answer when the logs match (every AppendEntries a follower accepts asks): shared, not built each time. */
const consistent: ConsistencyResult = Object.freeze({ ok: true });

export interface CommitContext {
  /** Highest index known replicated on each server, the leader's own last index included. */
  readonly matchIndexes: readonly number[];
  readonly currentTerm: number;
  readonly commitIndex: number;
  readonly log: LogView;
}

/**
 * Rules for Servers, Leaders, last bullet: the largest N stored on a majority with log[N].term == currentTerm.
 * Entries of earlier terms are never committed by counting replicas (Figure 8); they commit with the first
 * current-term entry above them.
 */
export function advanceCommitIndex(ctx: CommitContext): number {
  // N: the largest matchIndex that a majority of matchIndex[i] reach (counted, not sorted: this runs on every ack).
  const matchIndexes = ctx.matchIndexes;
  const count = matchIndexes.length;
  const majority = Math.floor(count / 2) + 1;
  let n = 0;
  for (let i = 0; i < count; i++) {
    const candidate = matchIndexes[i]!;
    if (candidate <= n) continue;
    let reached = 0;
    for (let j = 0; j < count; j++) if (matchIndexes[j]! >= candidate) reached++;
    if (reached >= majority) n = candidate;
  }
  if (n > ctx.commitIndex && ctx.log.termAt(n) === ctx.currentTerm) return n;
  return ctx.commitIndex;
}

/** §5.2: election timeouts are chosen uniformly at random from [min, max]. */
export function electionTimeout(min: number, max: number, random: () => number): number {
  return min + (max - min) * random();
}

export interface RaftRules {
  logIsUpToDate: typeof logIsUpToDate;
  grantVote: typeof grantVote;
  checkConsistency: typeof checkConsistency;
  advanceCommitIndex: typeof advanceCommitIndex;
  electionTimeout: typeof electionTimeout;
}

export const figure2Rules: Readonly<RaftRules> = Object.freeze(markLibraryCode({
  logIsUpToDate,
  grantVote,
  checkConsistency,
  advanceCommitIndex,
  electionTimeout,
}));
