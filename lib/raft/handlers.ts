import type { Handlers, NodeContext } from './context';
import { markLibraryCode } from './library-code';
import type { AppendEntries, AppendEntriesReply, Command, Message, NodeId, RequestVote, RequestVoteReply } from './types';

/**
 * The reference handlers: Figure 2 of the paper, one function per event, read beside it. RaftNode composes them
 * (or a student's replacements for any of them) into a server.
 */

// ---- Rules for Servers: all servers ----

/** If RPC request or response contains term T > currentTerm: set currentTerm = T, convert to follower. */
export function onHigherTerm(ctx: NodeContext, term: number, from: NodeId, _message: Message): void {
  ctx.currentTerm = term;
  ctx.votedFor = null;
  ctx.persist();
  ctx.leaderId = null;
  if (ctx.role !== 'follower') ctx.becomeFollower(`saw term ${term} from ${from}`);
}

/** If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to the state machine. */
export function applyCommitted(ctx: NodeContext): void {
  while (ctx.commitIndex > ctx.lastApplied) {
    ctx.lastApplied += 1;
    ctx.apply(ctx.lastApplied);
  }
}

// ---- Followers and candidates: elections ----

/**
 * If election timeout elapses without hearing from a leader or granting a vote: convert to candidate.
 * On conversion to candidate: increment currentTerm, vote for self, reset election timer, send RequestVote RPCs.
 */
export function onElectionTimeout(ctx: NodeContext): void {
  ctx.currentTerm += 1;
  ctx.votedFor = ctx.id;
  ctx.persist();
  ctx.becomeCandidate();
  ctx.votes.add(ctx.id);
  ctx.resetElectionTimer();
  if (hasMajority(ctx, ctx.votes.size)) return winElection(ctx);
  for (const peer of ctx.peers) {
    ctx.send(peer, {
      type: 'RequestVote',
      term: ctx.currentTerm,
      candidateId: ctx.id,
      lastLogIndex: ctx.log.lastIndex,
      lastLogTerm: ctx.log.lastTerm,
    });
  }
}

/**
 * RequestVote receiver: 1. reply false if term < currentTerm; 2. if votedFor is null or candidateId, and the
 * candidate's log is at least as up to date as the receiver's log, grant vote.
 */
export function onRequestVote(ctx: NodeContext, from: NodeId, request: RequestVote): void {
  const candidateLogUpToDate = ctx.rules.logIsUpToDate(
    { lastLogIndex: request.lastLogIndex, lastLogTerm: request.lastLogTerm },
    { lastLogIndex: ctx.log.lastIndex, lastLogTerm: ctx.log.lastTerm },
  );
  const granted = ctx.rules.grantVote({ currentTerm: ctx.currentTerm, votedFor: ctx.votedFor, request, candidateLogUpToDate });
  if (granted) {
    ctx.votedFor = request.candidateId;
    ctx.persist();
    ctx.resetElectionTimer();
  }
  ctx.send(from, { type: 'RequestVoteReply', term: ctx.currentTerm, voteGranted: granted });
}

/** Candidates: if votes received from a majority of servers, become leader. */
export function onRequestVoteReply(ctx: NodeContext, from: NodeId, reply: RequestVoteReply): void {
  if (reply.term !== ctx.currentTerm || !reply.voteGranted) return; // a stale or refused vote
  ctx.votes.add(from);
  if (hasMajority(ctx, ctx.votes.size)) winElection(ctx);
}

/**
 * Upon election: nextIndex for each server = leader last log index + 1, matchIndex = 0; send initial empty
 * AppendEntries RPCs (heartbeat) to each server.
 */
function winElection(ctx: NodeContext): void {
  ctx.becomeLeader();
  for (const peer of ctx.peers) {
    ctx.nextIndex.set(peer, ctx.log.lastIndex + 1);
    ctx.matchIndex.set(peer, 0);
  }
  if (ctx.config.leaderNoop) {
    ctx.log.append({ term: ctx.currentTerm, command: null });
    ctx.persist();
  }
  onHeartbeatTimeout(ctx);
  ctx.advanceCommitIndex();
}

function hasMajority(ctx: NodeContext, count: number): boolean {
  return count * 2 > ctx.peers.length + 1;
}

// ---- Leaders: log replication ----

/** Repeat heartbeats during idle periods to prevent election timeouts. */
export function onHeartbeatTimeout(ctx: NodeContext): void {
  retriesOf(ctx).clear(); // a lost retry is retried once per heartbeat
  for (const peer of ctx.peers) ctx.sendAppendEntries(peer);
}

/**
 * If last log index >= nextIndex for a follower: send AppendEntries with log entries starting at nextIndex
 * (otherwise an empty heartbeat). nextIndex moves past what was sent at once (pipelining); a refusal moves it back.
 */
export function sendAppendEntries(ctx: NodeContext, peer: NodeId): void {
  const next = ctx.nextIndex.get(peer) ?? ctx.log.lastIndex + 1;
  const prevLogIndex = next - 1;
  const entries = ctx.log.entriesFrom(next, ctx.config.maxEntriesPerAppend);
  ctx.send(peer, {
    type: 'AppendEntries',
    term: ctx.currentTerm,
    leaderId: ctx.id,
    prevLogIndex,
    prevLogTerm: ctx.log.termAt(prevLogIndex) ?? 0,
    entries,
    leaderCommit: ctx.commitIndex,
  });
  if (entries.length > 0) ctx.nextIndex.set(peer, prevLogIndex + entries.length + 1);
}

/**
 * AppendEntries receiver: 1. reply false if term < currentTerm; 2. reply false if the log has no entry at
 * prevLogIndex whose term matches prevLogTerm; 3. if an existing entry conflicts with a new one (same index,
 * different terms), delete it and all that follow it; 4. append any new entries not already in the log;
 * 5. if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry).
 */
export function onAppendEntries(ctx: NodeContext, from: NodeId, request: AppendEntries): void {
  if (request.term < ctx.currentTerm) {
    ctx.send(from, { type: 'AppendEntriesReply', term: ctx.currentTerm, success: false, matchIndex: 0 });
    return;
  }
  if (ctx.role !== 'follower') ctx.becomeFollower(`heard from leader ${request.leaderId} of term ${request.term}`);
  ctx.leaderId = request.leaderId;
  ctx.resetElectionTimer();

  const check = ctx.rules.checkConsistency(ctx.log, request.prevLogIndex, request.prevLogTerm);
  if (!check.ok) {
    ctx.send(from, {
      type: 'AppendEntriesReply',
      term: ctx.currentTerm,
      success: false,
      matchIndex: 0,
      conflictIndex: check.conflictIndex,
      ...(check.conflictTerm === undefined ? {} : { conflictTerm: check.conflictTerm }),
    });
    return;
  }
  for (let i = 0; i < request.entries.length; i++) {
    const entry = request.entries[i]!;
    const index = request.prevLogIndex + 1 + i;
    const existing = ctx.log.termAt(index);
    if (existing !== undefined && existing !== entry.term) ctx.log.truncateFrom(index); // rule 3
    if (index > ctx.log.lastIndex) ctx.log.append(entry); // rule 4
  }
  ctx.persist();
  const lastNewIndex = request.prevLogIndex + request.entries.length;
  // (A reordered, older AppendEntries may carry fewer entries than are known committed: commitIndex never decreases.)
  if (request.leaderCommit > ctx.commitIndex) ctx.commitIndex = Math.max(ctx.commitIndex, Math.min(request.leaderCommit, lastNewIndex));
  ctx.send(from, { type: 'AppendEntriesReply', term: ctx.currentTerm, success: true, matchIndex: lastNewIndex });
}

/**
 * If successful: update nextIndex and matchIndex for the follower. If AppendEntries fails because of log
 * inconsistency: decrement nextIndex (here: jump back with the follower's conflict hint) and retry.
 */
export function onAppendEntriesReply(ctx: NodeContext, from: NodeId, reply: AppendEntriesReply): void {
  if (reply.term !== ctx.currentTerm || !ctx.nextIndex.has(from)) return; // a reply to an earlier term
  const match = ctx.matchIndex.get(from) ?? 0;
  if (reply.success) {
    const claimed = Math.min(reply.matchIndex, ctx.log.lastIndex); // a faulty peer cannot push us past our log
    if (claimed > match) {
      ctx.matchIndex.set(from, claimed);
      if (ctx.nextIndex.get(from)! <= claimed) ctx.nextIndex.set(from, claimed + 1);
      ctx.advanceCommitIndex();
    }
    const next = ctx.nextIndex.get(from)!;
    if (next <= ctx.log.lastIndex && ctx.matchIndex.get(from)! + 1 === next) ctx.sendAppendEntries(from);
    return;
  }
  let next = reply.conflictIndex ?? ctx.nextIndex.get(from)! - 1;
  if (reply.conflictTerm !== undefined) {
    const last = ctx.log.lastIndexOfTerm(reply.conflictTerm);
    if (last > 0) next = last + 1;
  }
  next = Math.max(match + 1, Math.min(next, ctx.log.lastIndex + 1));
  // Pipelining: refusals of messages sent before the last retry are covered by that retry.
  const retries = retriesOf(ctx);
  const retry = retries.get(from);
  if (retry !== undefined && next >= retry) return;
  retries.set(from, next);
  ctx.nextIndex.set(from, next);
  ctx.sendAppendEntries(from);
}

/**
 * If there exists an N such that N > commitIndex, a majority of matchIndex[i] >= N, and log[N].term ==
 * currentTerm: set commitIndex = N.
 */
export function advanceCommitIndex(ctx: NodeContext): void {
  const matchIndexes = [ctx.log.lastIndex];
  for (const peer of ctx.peers) matchIndexes.push(ctx.matchIndex.get(peer) ?? 0);
  const n = ctx.rules.advanceCommitIndex({ matchIndexes, currentTerm: ctx.currentTerm, commitIndex: ctx.commitIndex, log: ctx.log });
  if (n > ctx.commitIndex) ctx.commitIndex = Math.min(n, ctx.log.lastIndex);
}

/** If command received from client: append entry to local log, respond after entry applied to state machine. */
export function onPropose(ctx: NodeContext, command: Command): number {
  const index = ctx.log.append({ term: ctx.currentTerm, command });
  ctx.persist();
  for (const peer of ctx.peers) {
    if (ctx.nextIndex.get(peer) === index) ctx.sendAppendEntries(peer); // peers not waiting on a retry
  }
  ctx.advanceCommitIndex();
  return index;
}

/**
 * Per peer, the nextIndex of the retry sent after its last refusal, until the next heartbeat: bookkeeping of
 * pipelined replication, not part of Figure 2.
 */
const retryFrom = new WeakMap<NodeContext, Map<NodeId, number>>();
function retriesOf(ctx: NodeContext): Map<NodeId, number> {
  let m = retryFrom.get(ctx);
  if (!m) retryFrom.set(ctx, (m = new Map()));
  return m;
}

export const figure2Handlers: Readonly<Handlers> = Object.freeze(markLibraryCode({
  onElectionTimeout,
  onRequestVote,
  onRequestVoteReply,
  onHeartbeatTimeout,
  sendAppendEntries,
  onAppendEntries,
  onAppendEntriesReply,
  advanceCommitIndex,
  applyCommitted,
  onHigherTerm,
  onPropose,
}));
