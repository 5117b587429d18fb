import type { RaftRules } from './rules';
import type { AppendEntries, AppendEntriesReply, Command, LogEntry, Message, NodeId, RequestVote, RequestVoteReply, Role } from './types';

/**
 * Figure 2's log[]: index 1 is the first entry; index 0 is the empty prefix (term 0).
 */
export interface RaftLog {
  readonly lastIndex: number;
  /** The last index a snapshot covers (section 7): entries up to it are compacted away; 0 without a snapshot. */
  readonly snapshotIndex: number;
  /** The term of the last entry, 0 for an empty log. */
  readonly lastTerm: number;
  /** log[index].term; 0 for index 0; undefined past the end or below 0. */
  termAt(index: number): number | undefined;
  entryAt(index: number): LogEntry | undefined;
  /** Copies of the entries from `index` on (at most `max` of them). */
  entriesFrom(index: number, max?: number): LogEntry[];
  /** Append one entry at lastIndex + 1; returns its index. */
  append(entry: LogEntry): number;
  /** Delete the entry at `index` and all that follow it (AppendEntries receiver rule 3). */
  truncateFrom(index: number): void;
  /** The last index holding `term`, or 0 if none does (fast backtracking). */
  lastIndexOfTerm(term: number): number;
}

/** The options a handler may read. */
export interface NodeConfig {
  readonly maxEntriesPerAppend: number;
  /** Dissertation §9.6. */
  readonly preVote: boolean;
  /** Dissertation §6.2. */
  readonly checkQuorum: boolean;
  /** §8: a new leader appends an empty entry. */
  readonly leaderNoop: boolean;
}

/**
 * What a Figure 2 handler is given: the server's state under Figure 2's names, and the actions a server can
 * take. Nothing else: no clock, socket, file or Math.random. State is changed by assigning it
 * (`ctx.currentTerm = t`); persistent state (currentTerm, votedFor, log) must then be `persist()`ed before any
 * message goes out.
 */
export interface NodeContext {
  readonly id: NodeId;
  /** The other members of the cluster. */
  readonly peers: readonly NodeId[];
  readonly role: Role;

  // Persistent state on all servers.
  currentTerm: number;
  votedFor: NodeId | null;
  readonly log: RaftLog;

  // Volatile state on all servers.
  commitIndex: number;
  lastApplied: number;
  /** The leader this server knows of in its term (to redirect clients), or null. */
  leaderId: NodeId | null;

  // Volatile state on leaders (reinitialized after election).
  readonly nextIndex: Map<NodeId, number>;
  readonly matchIndex: Map<NodeId, number>;

  /** Votes granted to this (pre)candidate in its current election, itself included. */
  readonly votes: Set<NodeId>;

  readonly rules: Readonly<RaftRules>;
  readonly config: NodeConfig;

  // Actions.
  send(to: NodeId, message: Message): void;
  /** Write currentTerm, votedFor and the log to stable storage (before any message that depends on them). */
  persist(): void;
  /** Draw a new random election timeout and restart the timer. */
  resetElectionTimer(): void;
  /** Role becomes follower; a leader's volatile state and a candidate's votes are dropped. */
  becomeFollower(reason?: string): void;
  /** Role becomes precandidate (PreVote only); votes are cleared. The term does not change. */
  becomePreCandidate(): void;
  /** Role becomes candidate; votes are cleared and the known leader forgotten. The term does not change. */
  becomeCandidate(): void;
  /** Role becomes leader and the heartbeat timer starts. nextIndex and matchIndex are the handler's to set. */
  becomeLeader(): void;
  /** Hand log[index] to the state machine; indexes must come in order, lastApplied + 1 each time. */
  apply(index: number): void;

  // The node's other handlers (whichever are plugged in: the student's or the reference ones).
  sendAppendEntries(peer: NodeId): void;
  advanceCommitIndex(): void;
  applyCommitted(): void;
}

/**
 * Figure 2 as one handler per event. The driver routes each event to its handler by role (etcd's
 * stepFollower / stepCandidate / stepLeader): a handler is only called in the roles listed.
 */
export interface Handlers {
  /** Followers and candidates: the election timer fired. Become candidate: new term, vote for self, persist, RequestVote to all. */
  onElectionTimeout(ctx: NodeContext): void;
  /** All roles: RequestVote receiver rules 1-2 (a higher term was already adopted by onHigherTerm). */
  onRequestVote(ctx: NodeContext, from: NodeId, request: RequestVote): void;
  /** Candidates: count the vote; with a majority become leader and initialise nextIndex and matchIndex. */
  onRequestVoteReply(ctx: NodeContext, from: NodeId, reply: RequestVoteReply): void;
  /** Leaders: the heartbeat timer fired: AppendEntries to every peer. */
  onHeartbeatTimeout(ctx: NodeContext): void;
  /** Leaders: send `peer` the entries from its nextIndex on, with prevLogIndex and prevLogTerm (empty: a heartbeat). */
  sendAppendEntries(ctx: NodeContext, peer: NodeId): void;
  /** All roles: AppendEntries receiver rules 1-5; steps down to follower and resets the election timer. */
  onAppendEntries(ctx: NodeContext, from: NodeId, request: AppendEntries): void;
  /** Leaders: update matchIndex and nextIndex; on refusal back nextIndex up (with the conflict hint) and retry. */
  onAppendEntriesReply(ctx: NodeContext, from: NodeId, reply: AppendEntriesReply): void;
  /** Leaders: the largest N on a majority with log[N].term == currentTerm becomes commitIndex (Figure 8). */
  advanceCommitIndex(ctx: NodeContext): void;
  /** All servers: while commitIndex > lastApplied, apply log[lastApplied + 1]. */
  applyCommitted(ctx: NodeContext): void;
  /** All servers: a message carries term T > currentTerm: currentTerm = T, votedFor = null, become follower. */
  onHigherTerm(ctx: NodeContext, term: number, from: NodeId, message: Message): void;
  /** Leaders: a client's command: append it to the log, persist, replicate; returns its index. */
  onPropose(ctx: NodeContext, command: Command): number;
}

export type HandlerName = keyof Handlers;


export const handlerNames: readonly HandlerName[] = Object.freeze([
  'onElectionTimeout', 'onRequestVote', 'onRequestVoteReply', 'onHeartbeatTimeout', 'sendAppendEntries',
  'onAppendEntries', 'onAppendEntriesReply', 'advanceCommitIndex', 'applyCommitted', 'onHigherTerm', 'onPropose',
]);

/**
 * A handler broke the contract, threw or ran away: reported with the handler, the event and the rule, never as a
 * stack trace from inside the library.
 */
export class HandlerError extends Error {
  constructor(
    readonly handler: string,
    /** The event being handled, e.g. "RequestVote from 127.0.0.1:8001 (term 3)". */
    readonly event: string,
    /** The rule broken, in Figure 2's words. */
    readonly rule: string,
    /** What happened. */
    readonly detail: string,
    readonly node: NodeId,
  ) {
    super(`${handler} on ${node}, handling ${event}: ${detail}. Rule: ${rule}`);
    this.name = 'HandlerError';
    this.stack = `${this.name}: ${this.message}`;
  }
}
