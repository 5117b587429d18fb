import { HandlerError, type Handlers, type HandlerName, type NodeConfig, type NodeContext } from './context';
import { figure2Handlers } from './handlers';
import { MemoryLog } from './log';
import { configCommand, describeConfig, type Configuration } from './membership';
import { figure2Rules, type LogView, type RaftRules } from './rules';
import type {
  AppendEntries, AppendEntriesReply, AppliedEntry, Command, CoreNote, HardState, InstallSnapshot, InstallSnapshotReply, LogEntry, Message,
  NodeId, Outbound, PersistentState, ReadResult, Ready, RequestVote, RequestVoteReply, Role, Snapshot,
} from './types';

export interface Timings {
  /** Election timeouts are drawn uniformly from [min, max] milliseconds. */
  readonly electionTimeout: { readonly min: number; readonly max: number };
  readonly heartbeatInterval: number;
}

export const defaultTimings: Timings = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 };

/** The default largest number of entries in one AppendEntries. */
export const defaultMaxEntriesPerAppend = 64;

export interface RaftOptions extends Partial<Timings> {
  readonly id: NodeId;
  /** The other members of the cluster. */
  readonly peers: readonly NodeId[];
  /** The only source of randomness the core uses (the election timeout). */
  readonly random: () => number;
  /** Dissertation §9.6: ask for a pre-vote before incrementing the term. */
  readonly preVote?: boolean;
  /** Dissertation §6.2: a leader that hears from no majority for an election timeout steps down. */
  readonly checkQuorum?: boolean;
  /**
   * Dissertation 6.4.1: a leader answers reads from its lease, with no round of heartbeats, while a majority
   * acknowledged a heartbeat it sent less than (1 - clockDriftBound) x the minimum election timeout ago. Safe only
   * if clocks drift by less than that bound; needs checkQuorum (voters then refuse votes within that time). Off by default.
   */
  readonly leaseReads?: boolean;
  /** The largest relative clock drift the lease allows for (default 0.1). */
  readonly clockDriftBound?: number;
  /** §8: a new leader appends an empty entry so earlier-term entries commit without waiting for a client. */
  readonly leaderNoop?: boolean;
  readonly maxEntriesPerAppend?: number;
  /** Largest piece of a snapshot's state (characters of its JSON text) in one InstallSnapshot. Default 8192. */
  readonly snapshotChunkChars?: number;
  /**
   * A server added to a running cluster (dissertation 4.2.1): it knows no configuration until its leader's log
   * gives it one, and never campaigns before it is a voter there. `peers` is then ignored.
   */
  readonly joining?: boolean;
  /**
   * Dissertation 10.2.1: the driver writes a leader's new entries while they are sent, and reports each write
   * with logDurable(); the leader counts itself toward a majority only up to the last entry reported durable.
   * Off, the leader counts its whole log (the driver wrote it before handling anything else).
   */
  readonly leaderWritesInParallel?: boolean;
  /** Replacements for Figure 2's small rules (a student's, or a bug-zoo variant's). */
  readonly rules?: Partial<RaftRules>;
  /** Replacements for any of Figure 2's handlers; the others are the reference ones (lib/raft/handlers.ts). */
  readonly handlers?: Partial<Handlers>;
}

export type ProposeOutcome =
  | { readonly accepted: true; readonly index: number; readonly term: number; readonly ready: Ready }
  | { readonly accepted: false; readonly leaderId: NodeId | null; readonly ready: Ready };

/** A read taken by a leader is answered later, in a Ready's `reads`; a follower refuses it and names its leader. */
export type ReadOutcome =
  | { readonly accepted: true; readonly ready: Ready }
  | { readonly accepted: false; readonly leaderId: NodeId | null; readonly ready: Ready };

export type TransferOutcome =
  | { readonly accepted: true; readonly ready: Ready }
  | { readonly accepted: false; readonly reason: string; readonly ready: Ready };

/** A membership change a leader took: its configuration entry is at `index`. */
export type MembershipOutcome =
  | { readonly accepted: true; readonly index: number; readonly ready: Ready }
  | { readonly accepted: false; readonly reason: string; readonly ready: Ready };

/** What a driver (the simulator, the real node) needs of a Raft server: RaftNode, or one run elsewhere. */
export interface RaftCore {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly role: Role;
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly lastIndex: number;
  /** The entries after the snapshot (index snapshotIndex + 1 first). */
  readonly log: readonly LogEntry[];
  /** The last index the latest snapshot covers, 0 without one (section 7). */
  readonly snapshotIndex: number;
  /** Votes granted to this (pre)candidate in its current election, itself included. */
  readonly votesReceived: ReadonlySet<NodeId>;
  nextIndexOf(peer: NodeId): number | undefined;
  matchIndexOf(peer: NodeId): number | undefined;
  nextDeadline(): number;
  tick(now: number): Ready;
  step(from: NodeId, message: Message, now: number): Ready;
  propose(command: Command, now: number): ProposeOutcome;
  campaign(now: number): Ready;
  /** ReadIndex (dissertation 6.4): a linearizable read that writes nothing, answered by `id` in a later Ready. */
  readIndex(id: number, now: number): ReadOutcome;
  /** Dissertation 3.10: bring `to` up to date, then tell it to campaign at once (TimeoutNow). */
  transferLeadership(to: NodeId, now: number): TransferOutcome;
  /**
   * Log compaction (section 7): the application's state after applying entries 1..index is `state` (JSON text);
   * the entries up to `index` are dropped. `index` must be applied and above the current snapshot.
   */
  snapshot(index: number, state: string, now: number): Ready;
  /** The configuration in effect here (the latest in the log): who votes, who only learns. */
  readonly configuration: Configuration;
  /**
   * Dissertation 4.1: add one server, first as a learner that catches up; the leader makes it a voter once it has
   * the committed log. One change at a time, and only once this leader committed an entry of its term.
   */
  addServer(id: NodeId, now: number): MembershipOutcome;
  /** Remove one server (not this leader: transfer the leadership first). */
  removeServer(id: NodeId, now: number): MembershipOutcome;
  /** With RaftOptions.leaderWritesInParallel: this leader's entries up to `index` are on stable storage. */
  logDurable?(index: number, now: number): Ready;
}

/** Builds the server a driver runs: `new RaftNode(...)` by default, a student's isolated one in the course. */
export type CreateNode = (options: RaftOptions, persisted: PersistentState, now: number) => RaftCore;

export const createRaftNode: CreateNode = (options, persisted, now) => new RaftNode(options, persisted, now);

const emptyState: PersistentState = { currentTerm: 0, votedFor: null, log: [] };

/** Which state each handler may change (beyond what the other handlers it calls change). */
const mayChange: Record<HandlerName, { term: boolean; vote: boolean; log: boolean }> = {
  onElectionTimeout: { term: true, vote: true, log: true }, // a one-server cluster's new leader may append a no-op
  onRequestVote: { term: false, vote: true, log: false },
  onRequestVoteReply: { term: false, vote: false, log: true }, // a new leader's no-op entry
  onHeartbeatTimeout: { term: false, vote: false, log: false },
  sendAppendEntries: { term: false, vote: false, log: false },
  onAppendEntries: { term: false, vote: false, log: true },
  onAppendEntriesReply: { term: false, vote: false, log: false },
  advanceCommitIndex: { term: false, vote: false, log: false },
  applyCommitted: { term: false, vote: false, log: false },
  onHigherTerm: { term: true, vote: true, log: false },
  onPropose: { term: false, vote: false, log: true },
};

/** How many arguments each handler takes after the context. */
const handlerArity: Record<HandlerName, 0 | 1 | 2 | 3> = {
  onElectionTimeout: 0, onRequestVote: 2, onRequestVoteReply: 2, onHeartbeatTimeout: 0, sendAppendEntries: 1, onAppendEntries: 2,
  onAppendEntriesReply: 2, advanceCommitIndex: 0, applyCommitted: 0, onHigherTerm: 3, onPropose: 1,
};

/** The arguments a handler takes after the context. */
type HandlerArgs<N extends HandlerName> = Handlers[N] extends (ctx: NodeContext, ...args: infer A) => unknown ? A : never;

const persistenceRule = 'Figure 2: persistent state (currentTerm, votedFor, log[]) is updated on stable storage before responding to RPCs';

/**
 * One Raft server as a pure state machine (etcd's Step/Tick/Ready shape): no clock, socket, file or
 * Math.random inside. Every call takes the current time and returns a Ready that says what to persist, what to
 * send and what to apply. The server's behaviour is Figure 2's handlers (lib/raft/handlers.ts, or
 * replacements) over a NodeContext; this class routes events to them by role, keeps the timers, and checks that
 * every handler keeps the contract.
 */
export class RaftNode implements RaftCore {
  readonly id: NodeId;
  readonly timings: Timings;
  readonly rules: Readonly<RaftRules>;
  readonly handlers: Readonly<Handlers>;
  private readonly options: RaftOptions;
  private readonly ctx: NodeState;
  /**
   * @internal With any handler or rule replaced (a student's, a bug-zoo variant's), messages are frozen as they
   * are sent and received, so such code cannot change another server's state through a shared message, and each
   * send is checked to go to a peer. The reference handlers and rules never mutate a message.
   */
  readonly guardsMessages: boolean;

  // Timers, as absolute deadlines on the caller's clock.
  private now: number;
  private electionDeadline = Infinity;
  private heartbeatDeadline = Infinity;
  private quorumDeadline = Infinity;
  private lastLeaderContact = -Infinity;
  /** Peers that answered this leader since the last CheckQuorum round. */
  private readonly activePeers = new Set<NodeId>();

  // ReadIndex (dissertation 6.4): reads wait for a heartbeat round a majority answered, and for their index.
  private readRound = 0;
  private roundWanted = false;
  private readonly ackedRound = new Map<NodeId, number>();
  private pendingReads: { readonly id: number; readonly index: number; readonly round: number }[] = [];
  /** Lease reads (dissertation 6.4.1): how long a confirmed round's send time vouches for the leadership; 0 = off. */
  private readonly leaseMs: number;
  private readonly roundSentAt = new Map<number, number>();
  /** A TimeoutNow went out this term: its target may win votes at once, so the lease no longer holds. */
  private leaseBroken = false;

  // Membership (dissertation chapter 4): the configuration is the latest one in the log.
  private readonly initialConfig: Configuration;
  private configVersion = -1;
  private cachedConfig: Configuration = { voters: [], learners: [] };
  private cachedPeers: readonly NodeId[] = [];
  private cachedLearners: readonly NodeId[] = [];
  /** The configuration and term the leader's nextIndex/matchIndex were last fitted to. */
  private membershipSyncedTerm = -1;
  private cachedConfigSynced: Configuration | null = null;

  // Log compaction (section 7, Figure 13).
  private latestSnapshot: Snapshot | null;
  private readonly snapshotChunkChars: number;
  /** Per follower: which snapshot is on its way and how much of it the follower has acknowledged. */
  private readonly snapshotSent = new Map<NodeId, { readonly index: number; offset: number }>();
  /** A snapshot arriving in chunks (follower). */
  private incoming: { readonly index: number; readonly term: number; readonly chunks: string[]; length: number } | null = null;

  // Leadership transfer (dissertation 3.10).
  private transferTarget: NodeId | null = null;
  private transferDeadline = Infinity;
  private timeoutNowSent = false;

  constructor(options: RaftOptions, persisted: PersistentState = emptyState, now = 0) {
    this.options = options;
    this.id = options.id;
    this.initialConfig = Object.freeze({ voters: Object.freeze(options.joining ? [] : [...new Set([options.id, ...options.peers])]), learners: Object.freeze([]) });
    this.timings = {
      electionTimeout: options.electionTimeout ?? defaultTimings.electionTimeout,
      heartbeatInterval: options.heartbeatInterval ?? defaultTimings.heartbeatInterval,
    };
    if (!(this.timings.electionTimeout.min > 0 && this.timings.electionTimeout.max >= this.timings.electionTimeout.min)) {
      throw new RangeError(`electionTimeout must satisfy 0 < min <= max, got ${JSON.stringify(this.timings.electionTimeout)}`);
    }
    if (!(this.timings.heartbeatInterval > 0)) throw new RangeError('heartbeatInterval must be positive');
    this.rules = Object.freeze({ ...figure2Rules, ...options.rules });
    this.handlers = Object.freeze({ ...figure2Handlers, ...options.handlers });
    this.guardsMessages = !isReference(this.handlers, figure2Handlers) || !isReference(this.rules, figure2Rules);
    for (const [name, h] of Object.entries(this.handlers)) {
      if (typeof h !== 'function') throw new TypeError(`handler ${name} must be a function, got ${typeof h}`);
    }
    this.now = now;
    const config: NodeConfig = Object.freeze({
      maxEntriesPerAppend: options.maxEntriesPerAppend ?? defaultMaxEntriesPerAppend,
      preVote: options.preVote ?? false,
      checkQuorum: options.checkQuorum ?? false,
      leaderNoop: options.leaderNoop ?? false,
    });
    this.snapshotChunkChars = options.snapshotChunkChars ?? 8192;
    if (!(Number.isInteger(this.snapshotChunkChars) && this.snapshotChunkChars >= 1)) {
      throw new RangeError(`snapshotChunkChars must be a positive integer, got ${String(options.snapshotChunkChars)}`);
    }
    this.latestSnapshot = persisted.snapshot ?? null;
    if (options.leaseReads && !options.checkQuorum) {
      throw new RangeError('leaseReads needs checkQuorum: a lease holds only if voters refuse votes while they hear from a leader');
    }
    const drift = options.clockDriftBound ?? 0.1;
    if (!(drift >= 0 && drift < 1)) throw new RangeError(`clockDriftBound must be in [0, 1), got ${String(options.clockDriftBound)}`);
    this.leaseMs = options.leaseReads ? this.timings.electionTimeout.min * (1 - drift) : 0;
    this.ctx = new NodeState(this, persisted, config);
    this.resetElectionTimer();
  }

  // ---- What a reader may ask ----
  get role(): Role { return this.ctx.role; }
  get currentTerm(): number { return this.ctx.currentTerm; }
  get votedFor(): NodeId | null { return this.ctx.votedFor; }
  get leaderId(): NodeId | null { return this.ctx.leaderId; }
  get commitIndex(): number { return this.ctx.commitIndex; }
  get lastApplied(): number { return this.ctx.appliedUpTo; }
  get lastIndex(): number { return this.ctx.log.lastIndex; }
  get log(): readonly LogEntry[] { return this.ctx.log.all; }
  get snapshotIndex(): number { return this.ctx.log.snapshotIndex; }
  /** The latest snapshot this server took or installed, or null. */
  get currentSnapshot(): Snapshot | null { return this.latestSnapshot; }
  get logView(): LogView { return this.ctx.log; }
  get hardState(): HardState { return { currentTerm: this.ctx.currentTerm, votedFor: this.ctx.votedFor }; }
  get clusterSize(): number { return this.configuration.voters.length; }
  /** @internal RaftOptions.leaderWritesInParallel. */
  get writesInParallel(): boolean { return this.options.leaderWritesInParallel === true; }

  /** The configuration in effect (the latest in the log, committed or not; the initial members before any). */
  get configuration(): Configuration {
    this.refreshConfig();
    return this.cachedConfig;
  }

  /** The other voters of the configuration in effect. */
  get peers(): readonly NodeId[] {
    this.refreshConfig();
    return this.cachedPeers;
  }

  /** Servers that receive the log but do not vote (yet). */
  get learners(): readonly NodeId[] {
    this.refreshConfig();
    return this.cachedLearners;
  }

  private refreshConfig(): void {
    const log = this.ctx.log;
    if (log.configVersion === this.configVersion) return;
    this.configVersion = log.configVersion;
    const latest = log.latestConfig()?.config ?? this.initialConfig;
    if (latest === this.cachedConfig) return;
    this.cachedConfig = latest;
    this.cachedPeers = Object.freeze(latest.voters.filter((p) => p !== this.id));
    this.cachedLearners = Object.freeze(latest.learners.filter((p) => p !== this.id));
  }

  private isVoter(config: Configuration = this.configuration): boolean {
    return config.voters.includes(this.id);
  }

  /** The configuration changed since the start (or this server joined): membership rules are in play. */
  private get membershipChanged(): boolean {
    return this.options.joining === true || this.ctx.log.latestConfig() !== null;
  }
  get votesReceived(): ReadonlySet<NodeId> { return this.ctx.votes; }
  nextIndexOf(peer: NodeId): number | undefined { return this.ctx.nextIndex.get(peer); }
  matchIndexOf(peer: NodeId): number | undefined { return this.ctx.matchIndex.get(peer); }
  termAt(index: number): number | undefined { return this.ctx.log.termAt(index); }

  /** The earliest time at which tick() has something to do. */
  nextDeadline(): number {
    if (this.ctx.role === 'leader') {
      const leading = this.options.checkQuorum ? Math.min(this.heartbeatDeadline, this.quorumDeadline) : this.heartbeatDeadline;
      return Math.min(leading, this.transferDeadline);
    }
    return this.electionDeadline;
  }

  /** The server this leader is handing leadership to, or null. */
  get transferringTo(): NodeId | null {
    return this.transferTarget;
  }

  // ---- Events in ----

  /** Time has advanced to `now`: fire whichever timers are due. */
  tick(now: number): Ready {
    this.begin(now, 'the timers', null);
    if (this.ctx.role === 'leader') {
      if (now >= this.heartbeatDeadline) {
        this.heartbeatDeadline = now + this.timings.heartbeatInterval;
        const start = this.ctx.outboxLength;
        this.invoke('onHeartbeatTimeout', 'the heartbeat timer');
        for (const learner of this.learners) this.ctx.sendAppendEntries(learner);
        if (this.leaseMs > 0) {
          // Lease reads: every heartbeat is a round, whose send time the lease counts from.
          this.readRound += 1;
          this.roundSentAt.set(this.readRound, now);
          this.stampRound(start, this.readRound);
          const confirmed = this.confirmedRound();
          for (const r of this.roundSentAt.keys()) if (r < confirmed || this.roundSentAt.size > 256) this.roundSentAt.delete(r);
        } else if (this.pendingReads.length > 0) {
          // Reads still unconfirmed: the round is asked again (its messages may have been lost).
          this.stampRound(start, this.readRound);
        }
      }
      if (now >= this.transferDeadline) this.abortTransfer(`${this.transferTarget} did not take over within ${this.timings.electionTimeout.max} ms`);
      if (this.options.checkQuorum && this.ctx.role === 'leader' && now >= this.quorumDeadline) this.checkQuorum();
    } else if (now >= this.electionDeadline && !this.isVoter()) {
      // A learner, a server still joining, or one removed from the cluster does not campaign.
      this.resetElectionTimer();
    } else if (now >= this.electionDeadline) {
      this.ctx.note({ kind: 'timeout', role: this.ctx.role, term: this.ctx.currentTerm });
      if (this.options.preVote) this.startPreVote();
      else this.invoke('onElectionTimeout', 'the election timer');
    }
    return this.takeReady();
  }

  /** Start an election now, as if the election timer had fired (skips PreVote, like a leadership transfer). */
  campaign(now: number): Ready {
    this.begin(now, 'a campaign request', null);
    if (this.ctx.role !== 'leader' && this.isVoter()) {
      this.ctx.note({ kind: 'timeout', role: this.ctx.role, term: this.ctx.currentTerm });
      this.invoke('onElectionTimeout', 'a campaign request');
    }
    return this.takeReady();
  }

  step(from: NodeId, message: Message, now: number): Ready {
    // The event's description is only needed for an error message: built then (see NodeState.event).
    const event = null;
    if (this.guardsMessages) freezeMessage(message);
    this.begin(now, event, from, message);
    const ctx = this.ctx;
    if (message.term > ctx.currentTerm && this.adoptsTermOf(message)) {
      this.invoke('onHigherTerm', event, message.term, from, message);
    }
    const start = ctx.outboxLength;
    switch (message.type) {
      case 'RequestVote':
        if (message.preVote) this.answerPreVote(from, message);
        // A vote request with a higher term that we did not adopt arrived during a leader's lease (CheckQuorum).
        else if (message.term <= ctx.currentTerm) this.invoke('onRequestVote', event, from, message);
        break;
      case 'RequestVoteReply':
        if (message.preVote) this.countPreVote(from, message);
        else if (ctx.role === 'candidate') this.invoke('onRequestVoteReply', event, from, message);
        break;
      case 'AppendEntries': {
        const request = this.trimToSnapshot(message);
        this.invoke('onAppendEntries', event, from, request);
        if (message.term === ctx.currentTerm) this.lastLeaderContact = now;
        // Only for this term's leader: a reply to a deposed leader's round, sent in a newer term, would otherwise
        // count for the round of the same number of a later leadership of that sender (rounds restart each term).
        if (message.round !== undefined && message.term === ctx.currentTerm) this.echoRound(start, from, message.round);
        break;
      }
      case 'AppendEntriesReply':
        if (ctx.role !== 'leader') break;
        if (message.term === ctx.currentTerm && ctx.nextIndex.has(from)) {
          this.activePeers.add(from);
          if (message.round !== undefined && message.round > (this.ackedRound.get(from) ?? 0)) this.ackedRound.set(from, message.round);
        }
        this.invoke('onAppendEntriesReply', event, from, message);
        if (this.transferTarget === from && ctx.role === 'leader') this.continueTransfer(false);
        break;
      case 'TimeoutNow':
        if (message.term === ctx.currentTerm && ctx.role !== 'leader') this.campaignOnTransfer(message.leaderId, start);
        break;
      case 'InstallSnapshot':
        this.receiveSnapshotChunk(from, message);
        if (message.term === ctx.currentTerm) this.lastLeaderContact = now;
        break;
      case 'InstallSnapshotReply':
        if (ctx.role !== 'leader' || message.term !== ctx.currentTerm || !ctx.nextIndex.has(from)) break;
        this.activePeers.add(from);
        this.onSnapshotReply(from, message);
        if (this.transferTarget === from && ctx.role === 'leader') this.continueTransfer(false);
        break;
      default: {
        const unknown: never = message;
        throw new TypeError(`unknown message type ${JSON.stringify((unknown as { type?: unknown }).type)}`);
      }
    }
    return this.takeReady();
  }

  /** A client asks the leader to replicate `command`. Followers refuse and name the leader they know. */
  propose(command: Command, now: number): ProposeOutcome {
    this.begin(now, 'a client proposal', null);
    // A leader handing over its leadership takes no new entries (dissertation 3.10): the client retries elsewhere.
    if (this.ctx.role !== 'leader' || this.transferTarget !== null) {
      return { accepted: false, leaderId: this.transferTarget === null ? this.ctx.leaderId : null, ready: this.takeReady() };
    }
    const index = this.appendAsLeader(command, 'a client proposal');
    return { accepted: true, index, term: this.ctx.currentTerm, ready: this.takeReady() };
  }

  private appendAsLeader(command: Command, event: string): number {
    const before = this.ctx.log.lastIndex;
    const index = this.invoke('onPropose', event, command);
    if (index !== before + 1 || this.ctx.log.termAt(index) !== this.ctx.currentTerm) {
      throw this.contractError('onPropose', event, 'Figure 2: a leader appends the command to its log as a new entry of its current term', `returned ${JSON.stringify(index)}, but the new entry should be at index ${before + 1} with term ${this.ctx.currentTerm}`);
    }
    this.syncMembership();
    for (const learner of this.learners) if (this.ctx.nextIndex.get(learner) === index) this.ctx.sendAppendEntries(learner);
    return index;
  }

  // ---- Beyond Figure 2: membership changes (dissertation chapter 4), one server at a time ----

  addServer(id: NodeId, now: number): MembershipOutcome {
    this.begin(now, 'adding a server', null);
    const config = this.configuration;
    const refusal = this.membershipRefusal() ?? (typeof id !== 'string' || id === '' ? `${JSON.stringify(id)} is not a server id` : null)
      ?? (config.voters.includes(id) || config.learners.includes(id) ? `${id} is already a member (${describeConfig(config)})` : null);
    return this.changeMembership(refusal, { voters: config.voters, learners: [...config.learners, id] }, `adding ${id} as a learner`);
  }

  removeServer(id: NodeId, now: number): MembershipOutcome {
    this.begin(now, 'removing a server', null);
    const config = this.configuration;
    const refusal = this.membershipRefusal()
      ?? (id === this.id ? `${id} leads: transfer the leadership to another server first, then remove it` : null)
      ?? (!config.voters.includes(id) && !config.learners.includes(id) ? `${id} is not a member (${describeConfig(config)})` : null);
    const next = { voters: config.voters.filter((v) => v !== id), learners: config.learners.filter((l) => l !== id) };
    return this.changeMembership(refusal ?? (next.voters.length === 0 ? 'a cluster keeps at least one voter' : null), next, `removing ${id}`);
  }

  private membershipRefusal(): string | null {
    const ctx = this.ctx;
    if (ctx.role !== 'leader') return `${this.id} is not the leader`;
    if (this.transferTarget !== null) return `a leadership transfer to ${this.transferTarget} is under way`;
    const pending = ctx.log.latestConfig();
    if (pending !== null && pending.index > ctx.commitIndex) return `the configuration at index ${pending.index} is not committed yet (one change at a time)`;
    // A leader commits an entry of its own term before it changes the configuration (Ongaro's fix, raft-dev 2015).
    if (ctx.log.termAt(ctx.commitIndex) !== ctx.currentTerm) return `${this.id} has not committed an entry of its term ${ctx.currentTerm} yet`;
    return null;
  }

  private changeMembership(refusal: string | null, next: Configuration, event: string): MembershipOutcome {
    if (refusal !== null) return { accepted: false, reason: refusal, ready: this.takeReady() };
    const index = this.appendAsLeader(configCommand(next), event);
    return { accepted: true, index, ready: this.takeReady() };
  }

  /**
   * A leader's bookkeeping when the configuration changes: nextIndex and matchIndex for new members, none for
   * removed ones; a learner that has the committed log becomes a voter; a leader the committed configuration
   * no longer holds steps down.
   */
  private syncMembership(): void {
    const ctx = this.ctx;
    if (ctx.role !== 'leader') return;
    const config = this.configuration;
    if (ctx.currentTerm !== this.membershipSyncedTerm || config !== this.cachedConfigSynced) {
      this.membershipSyncedTerm = ctx.currentTerm;
      this.cachedConfigSynced = config;
      const members = new Set([...this.peers, ...this.learners]);
      for (const m of members) {
        if (!ctx.nextIndex.has(m)) {
          ctx.nextIndex.set(m, ctx.log.lastIndex + 1);
          ctx.matchIndex.set(m, 0);
        }
      }
      for (const m of [...ctx.nextIndex.keys()]) {
        if (!members.has(m)) {
          ctx.nextIndex.delete(m);
          ctx.matchIndex.delete(m);
        }
      }
    }
    const latest = ctx.log.latestConfig();
    if (latest === null) return; // never changed: nothing to step down from, no learner to promote
    if (latest.index > ctx.commitIndex) return;
    if (!this.isVoter(config)) {
      ctx.becomeFollower(`removed from the cluster by the configuration at index ${latest.index}`);
      ctx.leaderId = null;
      return;
    }
    if (this.transferTarget !== null || this.learners.length === 0) return;
    const ready = this.learners.find((l) => (ctx.matchIndex.get(l) ?? 0) >= ctx.commitIndex);
    if (ready !== undefined) {
      this.appendAsLeader(configCommand({ voters: [...config.voters, ready], learners: config.learners.filter((l) => l !== ready) }), `making learner ${ready} a voter`);
    }
  }

  // ---- Beyond Figure 2: ReadIndex (dissertation 6.4) ----

  /**
   * A read that writes nothing. The leader records its commit index as the read index (once it has committed an
   * entry of its own term: until then it does not know what is committed, so the read waits for an entry of this
   * term, a no-op appended now if there is none), confirms it still leads with one round of heartbeats a majority
   * answers, and answers once it has applied up to the read index.
   */
  readIndex(id: number, now: number): ReadOutcome {
    this.begin(now, 'a read', null);
    const ctx = this.ctx;
    if (ctx.role !== 'leader') return { accepted: false, leaderId: ctx.leaderId, ready: this.takeReady() };
    let index = ctx.commitIndex;
    if (ctx.log.termAt(ctx.commitIndex) !== ctx.currentTerm) {
      if (ctx.log.lastTerm !== ctx.currentTerm) this.appendAsLeader(null, 'a read (a no-op of the new term)');
      // Every committed entry is in this leader's log (Leader Completeness): its last entry bounds them all.
      index = ctx.log.lastIndex;
    }
    if (this.leaseHolds()) {
      this.pendingReads.push({ id, index, round: 0 }); // confirmed by the lease: only the index is awaited
    } else {
      this.pendingReads.push({ id, index, round: this.readRound + 1 });
      this.roundWanted = true;
    }
    return { accepted: true, ready: this.takeReady() };
  }

  /** Lease reads: a majority acknowledged a heartbeat sent recently enough that no other leader can exist yet. */
  private leaseHolds(): boolean {
    if (this.leaseMs === 0 || this.leaseBroken || this.transferTarget !== null) return false;
    const round = this.confirmedRound();
    if (round === Infinity) return true;
    const sentAt = this.roundSentAt.get(round);
    for (const r of this.roundSentAt.keys()) if (r < round) this.roundSentAt.delete(r);
    return sentAt !== undefined && this.now < sentAt + this.leaseMs;
  }

  /** The latest read round that this leader and a majority of the cluster have answered. */
  private confirmedRound(): number {
    const needed = Math.floor(this.clusterSize / 2); // peers besides this leader
    if (needed === 0) return Infinity;
    const acks = this.peers.map((p) => this.ackedRound.get(p) ?? 0).sort((a, b) => b - a);
    return acks[needed - 1]!;
  }

  private releaseReads(): void {
    const ctx = this.ctx;
    const confirmed = this.confirmedRound();
    const waiting: typeof this.pendingReads = [];
    for (const read of this.pendingReads) {
      if (read.round <= confirmed && read.index <= ctx.appliedUpTo) ctx.answerRead({ id: read.id, ok: true, index: read.index });
      else waiting.push(read);
    }
    this.pendingReads = waiting;
  }

  /** Messages the handlers put in the outbox since `start`: AppendEntries carry the read round. */
  private stampRound(start: number, round: number): void {
    this.ctx.rewriteOutbox(start, (out) => (out.message.type === 'AppendEntries' ? { ...out.message, round } : out.message));
  }

  /** A follower's replies to an AppendEntries with a round carry it back (the student's handler need not know). */
  private echoRound(start: number, leader: NodeId, round: number): void {
    this.ctx.rewriteOutbox(start, (out) => (out.to === leader && out.message.type === 'AppendEntriesReply' ? { ...out.message, round } as AppendEntriesReply : out.message));
  }

  // ---- Log compaction (section 7, Figure 13), kept in the driver: the student's handlers never see a snapshot ----

  snapshot(index: number, state: string, now: number): Ready {
    this.begin(now, 'a snapshot', null);
    const ctx = this.ctx;
    if (!Number.isInteger(index) || index > ctx.appliedUpTo) {
      throw new RangeError(`snapshot(${String(index)}): only applied entries can be compacted (applied up to ${ctx.appliedUpTo})`);
    }
    if (typeof state !== 'string') throw new TypeError('snapshot(): the state must be a JSON text (a string)');
    if (index > ctx.log.snapshotIndex) {
      const config = ctx.log.configAt(index);
      const snapshot: Snapshot = { index, term: ctx.log.termAt(index)!, state, ...(config === null ? {} : { config }) };
      ctx.installSnapshot(snapshot, false);
      this.latestSnapshot = snapshot;
    }
    return this.takeReady();
  }

  /** Dissertation 10.2.1: this leader's own entries up to `index` are durable; they may now count toward a majority. */
  logDurable(index: number, now: number): Ready {
    this.begin(now, 'its own write', null);
    if (this.ctx.noteDurable(index)) this.ctx.advanceCommitIndex();
    return this.takeReady();
  }

  /** @internal A follower needs entries this leader compacted away: it gets the snapshot instead. */
  needsSnapshot(peer: NodeId): boolean {
    const ctx = this.ctx;
    return ctx.role === 'leader' && this.latestSnapshot !== null && (ctx.nextIndex.get(peer) ?? ctx.log.lastIndex + 1) <= ctx.log.snapshotIndex;
  }

  /** @internal The next chunk of the snapshot (stop-and-wait: one chunk in flight, resent on each heartbeat). */
  sendSnapshotChunk(peer: NodeId): void {
    const snapshot = this.latestSnapshot!;
    let sent = this.snapshotSent.get(peer);
    if (sent === undefined || sent.index !== snapshot.index) this.snapshotSent.set(peer, (sent = { index: snapshot.index, offset: 0 }));
    const data = snapshot.state.slice(sent.offset, sent.offset + this.snapshotChunkChars);
    this.ctx.send(peer, {
      type: 'InstallSnapshot',
      term: this.ctx.currentTerm,
      leaderId: this.id,
      lastIncludedIndex: snapshot.index,
      lastIncludedTerm: snapshot.term,
      offset: sent.offset,
      data,
      done: sent.offset + data.length >= snapshot.state.length,
      ...(snapshot.config === undefined ? {} : { config: snapshot.config }),
    });
  }

  /** InstallSnapshot receiver (Figure 13), chunk by chunk; the whole snapshot replaces what it covers. */
  private receiveSnapshotChunk(from: NodeId, m: InstallSnapshot): void {
    const ctx = this.ctx;
    const reply = (nextOffset: number, done: boolean): void =>
      ctx.send(from, { type: 'InstallSnapshotReply', term: ctx.currentTerm, lastIncludedIndex: m.lastIncludedIndex, nextOffset, done });
    if (m.term < ctx.currentTerm) return reply(0, false); // 1. reply immediately if term < currentTerm
    if (ctx.role !== 'follower') ctx.becomeFollower(`heard from leader ${m.leaderId} of term ${m.term}`);
    ctx.leaderId = m.leaderId;
    ctx.resetElectionTimer();
    // Everything it covers is committed here already: nothing to install.
    if (m.lastIncludedIndex <= ctx.commitIndex) return reply(m.offset + m.data.length, true);
    let incoming = this.incoming;
    const same = incoming !== null && incoming.index === m.lastIncludedIndex && incoming.term === m.lastIncludedTerm;
    if (m.offset === 0) incoming = { index: m.lastIncludedIndex, term: m.lastIncludedTerm, chunks: [m.data], length: m.data.length };
    else if (same && incoming!.length === m.offset) {
      incoming!.chunks.push(m.data);
      incoming!.length += m.data.length;
    } else return reply(same ? incoming!.length : 0, false); // 2-4: a chunk out of order: ask from where we are
    this.incoming = incoming;
    if (!m.done) return reply(incoming!.length, false);
    // 5-8: save the snapshot, keep the log after it if it matches, else discard the log; reset the state machine.
    const snapshot: Snapshot = { index: incoming!.index, term: incoming!.term, state: incoming!.chunks.join(''), ...(m.config === undefined ? {} : { config: m.config }) };
    this.incoming = null;
    ctx.installSnapshot(snapshot, true);
    this.latestSnapshot = snapshot;
    reply(snapshot.state.length, true);
  }

  private onSnapshotReply(from: NodeId, r: InstallSnapshotReply): void {
    const ctx = this.ctx;
    const sent = this.snapshotSent.get(from);
    if (r.done) {
      if (r.lastIncludedIndex > (ctx.matchIndex.get(from) ?? 0)) ctx.matchIndex.set(from, Math.min(r.lastIncludedIndex, ctx.log.lastIndex));
      if (r.lastIncludedIndex + 1 > ctx.nextIndex.get(from)!) ctx.nextIndex.set(from, r.lastIncludedIndex + 1);
      if (sent !== undefined && sent.index <= r.lastIncludedIndex) this.snapshotSent.delete(from);
      ctx.advanceCommitIndex();
      if (ctx.role === 'leader' && ctx.nextIndex.get(from)! <= ctx.log.lastIndex) ctx.sendAppendEntries(from);
      return;
    }
    if (sent === undefined || r.lastIncludedIndex !== sent.index || r.nextOffset === sent.offset) return; // stale or a duplicate
    sent.offset = r.nextOffset;
    if (this.needsSnapshot(from)) this.sendSnapshotChunk(from);
  }

  /** An AppendEntries reaching into this follower's snapshot: the committed part it covers is already here. */
  private trimToSnapshot(m: AppendEntries): AppendEntries {
    const log = this.ctx.log;
    const base = log.snapshotIndex;
    if (base === 0 || m.prevLogIndex >= base) return m;
    const trimmed: AppendEntries = { ...m, prevLogIndex: base, prevLogTerm: log.snapshotTerm, entries: m.entries.slice(base - m.prevLogIndex) };
    if (this.guardsMessages) freezeMessage(trimmed);
    return trimmed;
  }

  // ---- Beyond Figure 2: leadership transfer (dissertation 3.10) ----

  transferLeadership(to: NodeId, now: number): TransferOutcome {
    this.begin(now, 'a leadership transfer', null);
    const ctx = this.ctx;
    let refusal: string | null = null;
    if (ctx.role !== 'leader') refusal = `${this.id} is not the leader`;
    else if (to === this.id) refusal = `${this.id} already leads`;
    else if (!this.peers.includes(to)) refusal = `${JSON.stringify(to)} is not a member of the cluster (${this.peers.join(', ')})`;
    else if (this.transferTarget !== null) refusal = `a transfer to ${this.transferTarget} is under way`;
    if (refusal !== null) return { accepted: false, reason: refusal, ready: this.takeReady() };
    this.transferTarget = to;
    this.transferDeadline = now + this.timings.electionTimeout.max;
    this.timeoutNowSent = false;
    ctx.note({ kind: 'transfer', to, term: ctx.currentTerm, step: 'started' });
    this.continueTransfer(true);
    return { accepted: true, ready: this.takeReady() };
  }

  /** Once the target holds the leader's whole log, TimeoutNow; before that, entries (if not already sent). */
  private continueTransfer(sendEntries: boolean): void {
    const ctx = this.ctx;
    const to = this.transferTarget!;
    if ((ctx.matchIndex.get(to) ?? 0) >= ctx.log.lastIndex) {
      if (this.timeoutNowSent) return;
      this.timeoutNowSent = true;
      this.leaseBroken = true;
      ctx.note({ kind: 'transfer', to, term: ctx.currentTerm, step: 'timeout-now' });
      ctx.send(to, { type: 'TimeoutNow', term: ctx.currentTerm, leaderId: this.id });
    } else if (sendEntries) {
      ctx.sendAppendEntries(to);
    }
  }

  private abortTransfer(reason: string): void {
    if (this.transferTarget === null) return;
    this.ctx.note({ kind: 'transfer', to: this.transferTarget, term: this.ctx.currentTerm, step: 'aborted', reason });
    this.transferTarget = null;
    this.transferDeadline = Infinity;
  }

  /** The target of a transfer campaigns at once, skipping PreVote; its RequestVotes say why, past CheckQuorum. */
  private campaignOnTransfer(leader: NodeId, start: number): void {
    this.ctx.note({ kind: 'timeout', role: this.ctx.role, term: this.ctx.currentTerm });
    this.invoke('onElectionTimeout', `a TimeoutNow from ${leader}`);
    this.ctx.rewriteOutbox(start, (out) => (out.message.type === 'RequestVote' ? { ...out.message, transfer: true } : out.message));
  }

  // ---- Beyond Figure 2: PreVote and CheckQuorum (dissertation §9.6, §6.2), kept in the driver ----

  private adoptsTermOf(message: Message): boolean {
    if (message.type === 'RequestVote') {
      if (message.preVote) return false;
      if (message.transfer) return true;
      // Dissertation 4.2.3: a server that heard from its leader within the minimum election timeout ignores a
      // vote request (a removed server's, which does not know it was removed, cannot disrupt the cluster).
      return !((this.options.checkQuorum || this.membershipChanged) && this.inLeaderLease());
    }
    if (message.type === 'RequestVoteReply' && message.preVote && message.voteGranted) return false;
    return true;
  }

  /** True while this node has reason to believe a leader is alive (it is one, or heard one recently). */
  private inLeaderLease(): boolean {
    if (this.ctx.role === 'leader') return true;
    return this.ctx.leaderId !== null && this.now - this.lastLeaderContact < this.timings.electionTimeout.min;
  }

  private startPreVote(): void {
    const ctx = this.ctx;
    ctx.becomePreCandidate();
    ctx.votes.add(this.id);
    this.resetElectionTimer();
    if (ctx.votes.size * 2 > this.clusterSize) return this.preVoteWon();
    for (const peer of this.peers) {
      ctx.send(peer, { type: 'RequestVote', term: ctx.currentTerm + 1, candidateId: this.id, lastLogIndex: ctx.log.lastIndex, lastLogTerm: ctx.log.lastTerm, preVote: true });
    }
  }

  private answerPreVote(from: NodeId, request: RequestVote): void {
    const ctx = this.ctx;
    const upToDate = this.rules.logIsUpToDate(
      { lastLogIndex: request.lastLogIndex, lastLogTerm: request.lastLogTerm },
      { lastLogIndex: ctx.log.lastIndex, lastLogTerm: ctx.log.lastTerm },
    );
    const granted = request.term > ctx.currentTerm && upToDate && !this.inLeaderLease();
    ctx.note({ kind: 'vote', candidate: request.candidateId, term: request.term, granted, preVote: true });
    ctx.send(from, { type: 'RequestVoteReply', term: granted ? request.term : ctx.currentTerm, voteGranted: granted, preVote: true });
  }

  private countPreVote(from: NodeId, reply: RequestVoteReply): void {
    const ctx = this.ctx;
    if (!reply.voteGranted || ctx.role !== 'precandidate' || reply.term !== ctx.currentTerm + 1) return;
    ctx.votes.add(from);
    if (ctx.votes.size * 2 > this.clusterSize) this.preVoteWon();
  }

  private preVoteWon(): void {
    this.invoke('onElectionTimeout', 'a won pre-vote');
  }

  private checkQuorum(): void {
    let voters = 0; // learners answer too, but do not count
    for (const p of this.activePeers) if (this.peers.includes(p)) voters++;
    if ((voters + 1) * 2 <= this.clusterSize) {
      this.ctx.becomeFollower(`heard from no majority for ${this.timings.electionTimeout.max} ms (CheckQuorum)`);
      this.ctx.leaderId = null;
      return;
    }
    this.activePeers.clear();
    this.quorumDeadline = this.now + this.timings.electionTimeout.max;
  }

  // ---- What NodeState asks of the driver ----

  /** @internal */
  resetElectionTimer(): void {
    const { min, max } = this.timings.electionTimeout;
    this.electionDeadline = this.now + this.rules.electionTimeout(min, max, this.options.random);
  }

  /** @internal */
  roleChanged(from: Role, to: Role): void {
    if (to === 'leader') {
      this.readRound = 0;
      this.ackedRound.clear();
      this.roundSentAt.clear();
      this.leaseBroken = false;
      this.snapshotSent.clear();
      this.activePeers.clear();
      this.quorumDeadline = this.now + this.timings.electionTimeout.max;
      this.heartbeatDeadline = this.now + this.timings.heartbeatInterval;
    } else if (from === 'leader') {
      this.heartbeatDeadline = Infinity;
      this.quorumDeadline = Infinity;
      this.transferTarget = null;
      this.transferDeadline = Infinity;
      this.roundWanted = false;
      for (const read of this.pendingReads) this.ctx.answerRead({ id: read.id, ok: false, leaderId: null });
      this.pendingReads = [];
      // A (pre)candidate's election timer keeps running (Figure 2 resets it only on hearing from a leader or
      // granting a vote); a leader had none, so it starts one.
      this.resetElectionTimer();
    }
  }

  /** @internal Run one handler on the context and `args`, turning whatever it throws into a HandlerError that names it and the event. */
  invoke<N extends HandlerName>(name: N, event: string | null, ...args: HandlerArgs<N>): ReturnType<Handlers[N]>;
  invoke(name: HandlerName, event: string | null, a?: unknown, b?: unknown, c?: unknown): unknown {
    const ctx = this.ctx;
    const termBefore = ctx.currentTerm;
    const voteBefore = ctx.votedFor;
    const logVersionBefore = ctx.log.version;
    const outer = ctx.handler;
    ctx.handler = name;
    let result: unknown;
    try {
      // Called as before, this.handlers.name(ctx, ...) with the arguments it declares, but with no closure per call.
      const handler = this.handlers[name] as (ctx: NodeContext, ...args: unknown[]) => unknown;
      switch (handlerArity[name]) {
        case 0: result = handler.call(this.handlers, ctx); break;
        case 1: result = handler.call(this.handlers, ctx, a); break;
        case 2: result = handler.call(this.handlers, ctx, a, b); break;
        default: result = handler.call(this.handlers, ctx, a, b, c);
      }
    } catch (error) {
      if (error instanceof HandlerError) throw error;
      throw this.contractError(name, event ?? ctx.event, 'a handler returns normally: it must not throw', `threw ${describeError(error)}`);
    } finally {
      ctx.handler = outer;
    }
    if (ctx.violation) {
      const v = ctx.violation;
      ctx.violation = null;
      throw this.contractError(v.handler, event ?? ctx.event, v.rule, v.detail);
    }
    if (outer === null) {
      const allowed = mayChange[name];
      if (!allowed.term && ctx.currentTerm !== termBefore) {
        throw this.contractError(name, event ?? ctx.event, 'only a new election (onElectionTimeout) or a higher term (onHigherTerm) changes currentTerm', `changed currentTerm from ${termBefore} to ${ctx.currentTerm}`);
      }
      if (!allowed.vote && ctx.votedFor !== voteBefore) {
        throw this.contractError(name, event ?? ctx.event, 'votedFor changes only when voting (onRequestVote, onElectionTimeout) or on a new term (onHigherTerm)', `changed votedFor from ${String(voteBefore)} to ${String(ctx.votedFor)}`);
      }
      if (!allowed.log && ctx.log.version !== logVersionBefore) {
        throw this.contractError(name, event ?? ctx.event, 'only onAppendEntries, onPropose and a new leader change the log', `changed the log (it now ends at index ${ctx.log.lastIndex})`);
      }
    }
    return result;
  }

  /** @internal */
  contractError(handler: string, event: string, rule: string, detail: string): HandlerError {
    return new HandlerError(handler, event, rule, detail, this.id);
  }

  // ---- Plumbing ----

  private begin(now: number, event: string | null, from: NodeId | null, message?: Message): void {
    this.now = now;
    this.ctx.beginEvent(event, from, message);
  }

  /** Apply what is committed (Figure 2: all servers), then hand out everything this call decided. */
  private takeReady(): Ready {
    const ctx = this.ctx;
    this.syncMembership();
    if (this.roundWanted && ctx.role === 'leader') {
      // One round of heartbeats for every read taken by this call (a ReadIndex round, dissertation 6.4).
      this.roundWanted = false;
      this.readRound += 1;
      this.roundSentAt.set(this.readRound, this.now);
      this.heartbeatDeadline = this.now + this.timings.heartbeatInterval;
      const start = ctx.outboxLength;
      this.invoke('onHeartbeatTimeout', 'a read round');
      this.stampRound(start, this.readRound);
    }
    if (ctx.commitIndex > ctx.appliedUpTo) {
      this.invoke('applyCommitted', null);
    }
    if (this.pendingReads.length > 0 && ctx.role === 'leader') this.releaseReads();
    return ctx.takeReady();
  }
}

/**
 * The NodeContext a RaftNode's handlers work on: Figure 2's state, and the actions, each checked against the
 * contract as it is used.
 */
class NodeState implements NodeContext {
  readonly id: NodeId;
  readonly log: MemoryLog;
  readonly nextIndex = new Map<NodeId, number>();
  readonly matchIndex = new Map<NodeId, number>();
  readonly votes = new Set<NodeId>();
  readonly rules: Readonly<RaftRules>;
  leaderId: NodeId | null = null;
  lastApplied = 0;

  private term: number;
  private vote: NodeId | null;
  private commit = 0;
  /** With leaderWritesInParallel, the last index of this leader's log known to be on stable storage. */
  private durable = 0;
  private currentRole: Role = 'follower';
  /** Highest index handed to the state machine (what apply() checks against). */
  appliedUpTo = 0;

  // The event being handled, and what it has produced so far.
  /** What is being handled, for error messages ('AppendEntries from 127.0.0.1:8001 (term 3)'). */
  get event(): string {
    if (this.eventLabel === null) {
      const m = this.eventMessage ?? this.describedMessage;
      this.eventLabel = m ? `${m.type} from ${String(this.eventFrom)} (term ${m.term})` : 'an event';
    }
    return this.eventLabel;
  }
  /** Null until asked for: a message's description is built only if an error needs it. */
  private eventLabel: string | null = '';
  private describedMessage: Message | undefined;
  handler: HandlerName | null = null;
  violation: { handler: string; rule: string; detail: string } | null = null;
  private eventFrom: NodeId | null = null;
  private eventMessage: Message | undefined;
  private hardStateChanged = false;
  private hardStateToWrite: HardState | undefined;
  private logToWrite: { from: number; entries: readonly LogEntry[] } | undefined;
  private readonly outbox: Outbound[] = [];
  private readonly notes: CoreNote[] = [];
  private readonly applied: AppliedEntry[] = [];
  private reads: ReadResult[] | null = null;
  private snapshotToWrite: { snapshot: Snapshot; restore: boolean } | undefined;

  constructor(private readonly node: RaftNode, persisted: PersistentState, readonly config: NodeConfig) {
    this.id = node.id;

    this.rules = node.rules;
    this.term = persisted.currentTerm;
    this.vote = persisted.votedFor;
    this.log = new MemoryLog(persisted.log, persisted.snapshot);
    if (persisted.snapshot) {
      // What a snapshot covers is committed and, once the driver restored it, applied.
      this.commit = persisted.snapshot.index;
      this.appliedUpTo = persisted.snapshot.index;
      this.lastApplied = persisted.snapshot.index;
    }
  }

  get role(): Role {
    return this.currentRole;
  }

  /** The other voters of the configuration in effect. */
  get peers(): readonly NodeId[] {
    return this.node.peers;
  }

  /** Who this server may address: the voters and learners of its configuration, and whoever it is answering. */
  private mayAddress(to: NodeId): boolean {
    return this.node.peers.includes(to) || this.node.learners.includes(to) || to === this.eventFrom;
  }

  get currentTerm(): number {
    return this.term;
  }

  set currentTerm(term: number) {
    if (term === this.term) return;
    if (!Number.isInteger(term) || term < this.term) {
      this.fail('Figure 2: currentTerm increases monotonically', `set currentTerm from ${this.term} to ${String(term)}`);
      return;
    }
    this.term = term;
    this.hardStateChanged = true;
    const fromLeader = this.eventMessage?.type === 'AppendEntries' ? this.eventFrom : null;
    this.notes.push({ kind: 'term', term, from: fromLeader });
  }

  get votedFor(): NodeId | null {
    return this.vote;
  }

  set votedFor(candidate: NodeId | null) {
    if (candidate === this.vote) return;
    if (candidate !== null && candidate !== this.id && !this.mayAddress(candidate)) {
      this.fail('votes go to members of the cluster', `set votedFor to ${JSON.stringify(candidate)}, not a member`);
      return;
    }
    this.vote = candidate;
    this.hardStateChanged = true;
  }

  get commitIndex(): number {
    return this.commit;
  }

  set commitIndex(index: number) {
    if (index === this.commit) return;
    if (!Number.isInteger(index) || index < this.commit) {
      this.fail('Figure 2: commitIndex increases monotonically', `set commitIndex from ${this.commit} to ${String(index)}`);
      return;
    }
    if (index > this.log.lastIndex) {
      this.fail('a server commits only entries it has (commitIndex <= index of its last entry)', `set commitIndex to ${index} with ${this.log.lastIndex} entries in the log`);
      return;
    }
    if (this.node.writesInParallel && this.currentRole === 'leader') {
      // Whatever the handler counted, this leader's entries past its durable index are not yet its vote.
      index = Math.min(index, this.durableMajorityIndex());
      if (index <= this.commit) return;
    }
    this.commit = index;
    this.notes.push({ kind: 'commit', commitIndex: index, term: this.term });
  }

  /** A leader's write finished: true if it made more of its log durable. */
  noteDurable(index: number): boolean {
    if (this.currentRole !== 'leader') return false; // a write of an earlier leadership, already stored
    const durable = Math.min(index, this.log.lastIndex);
    if (durable <= this.durable) return false;
    this.durable = durable;
    return true;
  }

  /** Figure 2's commit rule over the matchIndexes, with this leader's own match at its durable index. */
  private durableMajorityIndex(): number {
    const matchIndexes = [this.durable];
    for (const peer of this.peers) matchIndexes.push(this.matchIndex.get(peer) ?? 0);
    return figure2Rules.advanceCommitIndex({ matchIndexes, currentTerm: this.term, commitIndex: this.commit, log: this.log });
  }

  // ---- Actions ----

  send(to: NodeId, message: Message): void {
    if (this.node.guardsMessages && !this.mayAddress(to)) {
      this.fail('messages go to the other members of the cluster only', `sent ${describeType(message)} to ${JSON.stringify(to)}, which is not a peer (peers: ${this.peers.join(', ')})`);
      return;
    }
    if (typeof message !== 'object' || message === null || typeof (message as { type?: unknown }).type !== 'string') {
      this.fail('a message is one of RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply', `sent ${describeType(message)}`);
      return;
    }
    if (this.hardStateChanged || this.log.changed) {
      const what = [this.hardStateChanged ? 'currentTerm/votedFor' : '', this.log.changed ? 'the log' : ''].filter(Boolean).join(' and ');
      this.fail(persistenceRule, `sent ${message.type} to ${to} before persisting ${what} (call ctx.persist() first)`);
      return;
    }
    if (message.type === 'RequestVoteReply' && this.eventMessage?.type === 'RequestVote' && !message.preVote) {
      const request = this.eventMessage;
      this.notes.push({ kind: 'vote', candidate: request.candidateId, term: request.term, granted: message.voteGranted === true, preVote: false });
    }
    if (this.node.guardsMessages) freezeMessage(message);
    this.outbox.push({ to, message });
  }

  persist(): void {
    if (this.hardStateChanged) {
      this.hardStateToWrite = { currentTerm: this.term, votedFor: this.vote };
      this.hardStateChanged = false;
    }
    const changes = this.log.takeChanges();
    if (changes) {
      if (this.logToWrite && this.logToWrite.from < changes.from) {
        this.logToWrite = { from: this.logToWrite.from, entries: this.log.entriesFrom(this.logToWrite.from) };
      } else {
        this.logToWrite = changes;
      }
    }
  }

  resetElectionTimer(): void {
    this.node.resetElectionTimer();
  }

  becomeFollower(reason = `becomes follower in term ${this.term}`): void {
    if (this.currentRole === 'follower') return;
    const was = this.currentRole;
    this.setRole('follower', reason);
    this.votes.clear();
    this.nextIndex.clear();
    this.matchIndex.clear();
    this.node.roleChanged(was, 'follower');
  }

  becomePreCandidate(): void {
    const was = this.currentRole;
    this.setRole('precandidate', `election timeout, pre-vote for term ${this.term + 1}`);
    this.leaderId = null;
    this.votes.clear();
    this.node.roleChanged(was, 'precandidate');
  }

  becomeCandidate(): void {
    const was = this.currentRole;
    this.setRole('candidate', `starts election for term ${this.term}`);
    this.leaderId = null;
    this.votes.clear();
    this.node.roleChanged(was, 'candidate');
  }

  becomeLeader(): void {
    if (this.currentRole !== 'candidate') {
      this.fail('only a candidate that won a majority of votes becomes leader', `became leader as a ${this.currentRole}`);
      return;
    }
    if (this.votes.size * 2 <= this.node.clusterSize) {
      this.fail('Figure 2: a candidate becomes leader only with votes from a majority of servers', `became leader with ${this.votes.size} vote(s) of ${this.node.clusterSize} servers`);
      return;
    }
    const was = this.currentRole;
    // Every entry it has was stored before it could vote for itself (candidates write before they send).
    this.durable = this.log.lastIndex;
    this.setRole('leader', `won the election for term ${this.term} with ${this.votes.size} votes`);
    this.leaderId = this.id;
    this.votes.clear();
    this.node.roleChanged(was, 'leader');
  }

  apply(index: number): void {
    if (index !== this.appliedUpTo + 1) {
      this.fail('Figure 2: entries are applied in log order, each once (lastApplied + 1)', `applied index ${String(index)} after index ${this.appliedUpTo}`);
      return;
    }
    if (index > this.commit) {
      this.fail('Figure 2: only committed entries are applied (index <= commitIndex)', `applied index ${index} with commitIndex ${this.commit}`);
      return;
    }
    this.appliedUpTo = index;
    this.applied.push({ index, entry: this.log.entryAt(index)! });
  }

  sendAppendEntries(peer: NodeId): void {
    if (this.node.needsSnapshot(peer)) this.node.sendSnapshotChunk(peer);
    else this.node.invoke('sendAppendEntries', null, peer);
  }

  /** Compact the log up to the snapshot; a received one also moves commit and apply up to it (Figure 13, 5-8). */
  installSnapshot(snapshot: Snapshot, restore: boolean): void {
    this.log.compact(snapshot.index, snapshot.term, restore ? (snapshot.config ?? null) : undefined);
    if (this.logToWrite && this.logToWrite.from <= snapshot.index) {
      this.logToWrite = { from: snapshot.index + 1, entries: this.log.entriesFrom(snapshot.index + 1) };
    }
    this.persist();
    if (restore) {
      if (snapshot.index > this.commit) {
        this.commit = snapshot.index;
        this.notes.push({ kind: 'commit', commitIndex: snapshot.index, term: this.term });
      }
      this.appliedUpTo = Math.max(this.appliedUpTo, snapshot.index);
      this.lastApplied = Math.max(this.lastApplied, snapshot.index);
    }
    this.snapshotToWrite = { snapshot, restore };
  }

  advanceCommitIndex(): void {
    this.node.invoke('advanceCommitIndex', null);
  }

  applyCommitted(): void {
    this.node.invoke('applyCommitted', null);
  }

  // ---- For the driver ----

  note(note: CoreNote): void {
    this.notes.push(note);
  }

  get outboxLength(): number {
    return this.outbox.length;
  }

  /** Replace the messages sent since `start` by `change(...)` of them (the driver's fields beyond Figure 2). */
  rewriteOutbox(start: number, change: (out: Outbound) => Message): void {
    for (let i = start; i < this.outbox.length; i++) {
      const out = this.outbox[i]!;
      const message = change(out);
      if (message === out.message) continue;
      if (this.node.guardsMessages) freezeMessage(message);
      this.outbox[i] = { to: out.to, message };
    }
  }

  answerRead(result: ReadResult): void {
    (this.reads ??= []).push(result);
  }

  beginEvent(event: string | null, from: NodeId | null, message: Message | undefined): void {
    this.eventLabel = event;
    this.eventFrom = from;
    this.eventMessage = message;
    this.describedMessage = message;
  }

  takeReady(): Ready {
    const ready: {
      hardState?: HardState;
      log?: { from: number; entries: readonly LogEntry[] };
      messages: Outbound[];
      apply: AppliedEntry[];
      notes: CoreNote[];
      reads?: ReadResult[];
      snapshot?: { snapshot: Snapshot; restore: boolean };
    } = {
      messages: this.outbox.length > 0 ? this.outbox.slice() : (noMessages as Outbound[]),
      apply: this.applied.length > 0 ? this.applied.slice() : (noApplies as AppliedEntry[]),
      notes: this.notes.length > 0 ? this.notes.slice() : (noNotes as CoreNote[]),
    };
    if (this.hardStateToWrite) ready.hardState = this.hardStateToWrite;
    if (this.logToWrite) ready.log = this.logToWrite;
    if (this.reads) ready.reads = this.reads;
    this.reads = null;
    if (this.snapshotToWrite) ready.snapshot = this.snapshotToWrite;
    this.snapshotToWrite = undefined;
    this.hardStateToWrite = undefined;
    this.logToWrite = undefined;
    // Most events leave some of these empty: they share one frozen empty array instead of a new one each. The
    // Ready gets copies of the exact size; these three are emptied and reused (a new [] per event would grow
    // a backing store for 17 elements at its first push).
    emptyKeepingCapacity(this.outbox);
    emptyKeepingCapacity(this.notes);
    emptyKeepingCapacity(this.applied);
    this.eventMessage = undefined;
    return ready;
  }

  private setRole(role: Role, reason: string): void {
    this.currentRole = role;
    this.notes.push({ kind: 'role', role, term: this.term, reason });
  }

  /** Record the first broken rule; the driver throws it when the handler returns (a try/catch cannot hide it). */
  private fail(rule: string, detail: string): void {
    this.violation ??= { handler: this.handler ?? 'the driver', rule, detail };
  }
}

/** Remove every element but keep the backing store (`list.length = 0` would free it, for the next push to allocate anew). */
function emptyKeepingCapacity(list: unknown[]): void {
  while (list.length > 0) list.pop();
}

function freezeMessage(message: Message): void {
  if (message.type === 'AppendEntries') Object.freeze(message.entries);
  Object.freeze(message);
}

function isReference<T extends object>(used: Readonly<T>, reference: Readonly<T>): boolean {
  for (const key of Object.keys(reference) as (keyof T)[]) if (used[key] !== reference[key]) return false;
  return true;
}

const noMessages: readonly Outbound[] = Object.freeze([]);
const noApplies: readonly AppliedEntry[] = Object.freeze([]);
const noNotes: readonly CoreNote[] = Object.freeze([]);

function describeType(message: unknown): string {
  if (typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string') return (message as { type: string }).type;
  return typeof message;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split('\n')[0]}`;
  return String(error);
}
