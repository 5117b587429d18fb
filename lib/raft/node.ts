import { figure2Rules, type LogView, type RaftRules } from './rules';
import type {
  AppendEntries,
  AppendEntriesReply,
  AppliedEntry,
  Command,
  CoreNote,
  HardState,
  LogEntry,
  Message,
  NodeId,
  Outbound,
  PersistentState,
  Ready,
  RequestVote,
  RequestVoteReply,
  Role,
} from './types';

export interface Timings {
  /** Election timeouts are drawn uniformly from [min, max] milliseconds. */
  readonly electionTimeout: { readonly min: number; readonly max: number };
  readonly heartbeatInterval: number;
}

export const defaultTimings: Timings = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 };

/**
 * Known-broken behaviours for the bug zoo: a teaching aid, every one off by default. The fuzzer shows how a
 * random fault schedule exposes each (see lib/fuzz/zoo.ts); no real deployment should turn one on.
 */
export interface RaftBugs {
  /** Keep votedFor when adopting a higher term (Figure 2: currentTerm = T and votedFor = null). */
  readonly keepVoteOnNewTerm?: boolean;
  /**
   * AppendEntries receiver rule 3 broken: a conflicting entry is overwritten in place and the entries after it
   * are kept, instead of deleting the existing entry and all that follow it.
   */
  readonly keepConflictingSuffix?: boolean;
}

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
  /** §8: a new leader appends an empty entry so earlier-term entries commit without waiting for a client. */
  readonly leaderNoop?: boolean;
  readonly maxEntriesPerAppend?: number;
  readonly rules?: Partial<RaftRules>;
  /** Bug zoo only (off by default): see RaftBugs. */
  readonly bugs?: RaftBugs;
}

export type ProposeOutcome =
  | { readonly accepted: true; readonly index: number; readonly term: number; readonly ready: Ready }
  | { readonly accepted: false; readonly leaderId: NodeId | null; readonly ready: Ready };

const emptyState: PersistentState = { currentTerm: 0, votedFor: null, log: [] };

/**
 * One Raft server as a pure state machine (etcd's Step/Tick/Ready shape): no clock, socket, file or
 * Math.random inside. Every call takes the current time and returns a Ready that says what to persist,
 * what to send, and what to apply. Read it against Figure 2 of the paper.
 */
export class RaftNode {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly timings: Timings;
  readonly rules: Readonly<RaftRules>;
  private readonly options: RaftOptions;
  private readonly maxBatch: number;

  // Persistent state on all servers.
  private term: number;
  private vote: NodeId | null;
  private readonly entries: LogEntry[];

  // Volatile state on all servers.
  private commit = 0;
  private applied = 0;
  private currentRole: Role = 'follower';
  private knownLeader: NodeId | null = null;

  // Volatile state on leaders, and the votes of a (pre)candidate.
  private readonly nextIndex = new Map<NodeId, number>();
  private readonly matchIndex = new Map<NodeId, number>();
  private readonly votes = new Set<NodeId>();
  private readonly activePeers = new Set<NodeId>();
  /**
   * Per peer, the nextIndex of the retry sent after its last refusal, until the next heartbeat. Refusals that
   * would not move nextIndex below it are of messages sent before the retry (reordered pipelined
   * AppendEntries): the retry already covers them, so they are not answered with another full resend.
   */
  private readonly retryFrom = new Map<NodeId, number>();

  // Timers, as absolute deadlines on the caller's clock.
  private now: number;
  private electionDeadline = Infinity;
  private heartbeatDeadline = Infinity;
  private quorumDeadline = Infinity;
  private lastLeaderContact = -Infinity;

  // The Ready being built by the current call.
  private hardStateDirty = false;
  private logDirtyFrom = Infinity;
  private outbox: Outbound[] = [];
  private notes: CoreNote[] = [];

  readonly logView: LogView;

  constructor(options: RaftOptions, persisted: PersistentState = emptyState, now = 0) {
    this.options = options;
    this.id = options.id;
    this.peers = options.peers.filter((p) => p !== options.id);
    this.timings = {
      electionTimeout: options.electionTimeout ?? defaultTimings.electionTimeout,
      heartbeatInterval: options.heartbeatInterval ?? defaultTimings.heartbeatInterval,
    };
    if (!(this.timings.electionTimeout.min > 0 && this.timings.electionTimeout.max >= this.timings.electionTimeout.min)) {
      throw new RangeError(`electionTimeout must satisfy 0 < min <= max, got ${JSON.stringify(this.timings.electionTimeout)}`);
    }
    if (!(this.timings.heartbeatInterval > 0)) throw new RangeError('heartbeatInterval must be positive');
    this.rules = { ...figure2Rules, ...options.rules };
    this.maxBatch = options.maxEntriesPerAppend ?? 64;
    this.term = persisted.currentTerm;
    this.vote = persisted.votedFor;
    this.entries = [...persisted.log];
    this.now = now;
    const entries = this.entries;
    this.logView = {
      get lastIndex() {
        return entries.length;
      },
      termAt(index: number) {
        if (index === 0) return 0;
        if (index < 0 || index > entries.length) return undefined;
        return entries[index - 1]!.term;
      },
    };
    this.resetElectionTimer();
  }

  // ---- What a reader may ask ----
  get role(): Role { return this.currentRole; }
  get currentTerm(): number { return this.term; }
  get votedFor(): NodeId | null { return this.vote; }
  get leaderId(): NodeId | null { return this.knownLeader; }
  get commitIndex(): number { return this.commit; }
  get lastApplied(): number { return this.applied; }
  get lastIndex(): number { return this.entries.length; }
  get log(): readonly LogEntry[] { return this.entries; }
  get hardState(): HardState { return { currentTerm: this.term, votedFor: this.vote }; }
  get clusterSize(): number { return this.peers.length + 1; }
  get votesReceived(): ReadonlySet<NodeId> { return this.votes; }
  nextIndexOf(peer: NodeId): number | undefined { return this.nextIndex.get(peer); }
  matchIndexOf(peer: NodeId): number | undefined { return this.matchIndex.get(peer); }
  termAt(index: number): number | undefined { return this.logView.termAt(index); }

  /** The earliest time at which tick() has something to do. */
  nextDeadline(): number {
    if (this.currentRole === 'leader') {
      return this.options.checkQuorum ? Math.min(this.heartbeatDeadline, this.quorumDeadline) : this.heartbeatDeadline;
    }
    return this.electionDeadline;
  }

  // ---- Events in ----

  /** Time has advanced to `now`: fire whichever timers are due. */
  tick(now: number): Ready {
    this.now = now;
    if (this.currentRole === 'leader') {
      if (now >= this.heartbeatDeadline) this.broadcastAppendEntries();
      if (this.options.checkQuorum && now >= this.quorumDeadline) this.checkQuorum();
    } else if (now >= this.electionDeadline) {
      this.notes.push({ kind: 'timeout', role: this.currentRole, term: this.term });
      this.startElection();
    }
    return this.finish();
  }

  /** Start an election now, as if the election timer had fired (skips PreVote, like a leadership transfer). */
  campaign(now: number): Ready {
    this.now = now;
    if (this.currentRole !== 'leader') {
      this.notes.push({ kind: 'timeout', role: this.currentRole, term: this.term });
      this.becomeCandidate();
    }
    return this.finish();
  }

  step(from: NodeId, message: Message, now: number): Ready {
    this.now = now;
    if (message.term > this.term && this.adoptsTermOf(message)) {
      this.becomeFollower(message.term, `saw term ${message.term} from ${from}`, message.type === 'AppendEntries' ? from : null);
    }
    switch (message.type) {
      case 'RequestVote':
        // A vote request with a higher term that we did not adopt arrived during a leader's lease (CheckQuorum).
        if (!message.preVote && message.term > this.term) break;
        this.onRequestVote(from, message);
        break;
      case 'RequestVoteReply':
        this.onRequestVoteReply(from, message);
        break;
      case 'AppendEntries':
        this.onAppendEntries(from, message);
        break;
      case 'AppendEntriesReply':
        this.onAppendEntriesReply(from, message);
        break;
      default: {
        const unknown: never = message;
        throw new TypeError(`unknown message type ${JSON.stringify((unknown as { type?: unknown }).type)}`);
      }
    }
    return this.finish();
  }

  /** A client asks the leader to replicate `command`. Followers refuse and name the leader they know. */
  propose(command: Command, now: number): ProposeOutcome {
    this.now = now;
    if (this.currentRole !== 'leader') {
      return { accepted: false, leaderId: this.knownLeader, ready: this.finish() };
    }
    const index = this.appendToOwnLog(command);
    for (const peer of this.peers) {
      if (this.nextIndex.get(peer) === index) this.sendAppendEntries(peer);
    }
    this.advanceCommitIndex();
    return { accepted: true, index, term: this.term, ready: this.finish() };
  }

  // ---- Elections ----

  private adoptsTermOf(message: Message): boolean {
    if (message.type === 'RequestVote') {
      if (message.preVote) return false;
      return !(this.options.checkQuorum && this.inLeaderLease());
    }
    if (message.type === 'RequestVoteReply' && message.preVote && message.voteGranted) return false;
    return true;
  }

  /** True while this node has reason to believe a leader is alive (it is one, or heard one recently). */
  private inLeaderLease(): boolean {
    if (this.currentRole === 'leader') return true;
    return this.knownLeader !== null && this.now - this.lastLeaderContact < this.timings.electionTimeout.min;
  }

  private startElection(): void {
    if (this.options.preVote) this.becomePreCandidate();
    else this.becomeCandidate();
  }

  private becomePreCandidate(): void {
    this.setRole('precandidate', `election timeout, pre-vote for term ${this.term + 1}`);
    this.knownLeader = null;
    this.votes.clear();
    this.votes.add(this.id);
    this.resetElectionTimer();
    if (this.hasMajority(this.votes.size)) return this.becomeCandidate();
    this.requestVotes(this.term + 1, true);
  }

  private becomeCandidate(): void {
    this.term += 1;
    this.vote = this.id;
    this.hardStateDirty = true;
    this.notes.push({ kind: 'term', term: this.term, from: null });
    this.setRole('candidate', `starts election for term ${this.term}`);
    this.knownLeader = null;
    this.votes.clear();
    this.votes.add(this.id);
    this.resetElectionTimer();
    if (this.hasMajority(this.votes.size)) return this.becomeLeader();
    this.requestVotes(this.term, false);
  }

  private requestVotes(term: number, preVote: boolean): void {
    const lastLogIndex = this.entries.length;
    const lastLogTerm = this.logView.termAt(lastLogIndex)!;
    for (const peer of this.peers) {
      const message: RequestVote = preVote
        ? { type: 'RequestVote', term, candidateId: this.id, lastLogIndex, lastLogTerm, preVote: true }
        : { type: 'RequestVote', term, candidateId: this.id, lastLogIndex, lastLogTerm };
      this.outbox.push({ to: peer, message });
    }
  }

  private onRequestVote(from: NodeId, request: RequestVote): void {
    const mine = { lastLogIndex: this.entries.length, lastLogTerm: this.logView.termAt(this.entries.length)! };
    const upToDate = this.rules.logIsUpToDate(
      { lastLogIndex: request.lastLogIndex, lastLogTerm: request.lastLogTerm },
      mine,
    );
    if (request.preVote) {
      const granted = request.term > this.term && upToDate && !this.inLeaderLease();
      this.notes.push({ kind: 'vote', candidate: request.candidateId, term: request.term, granted, preVote: true });
      this.reply(from, { type: 'RequestVoteReply', term: granted ? request.term : this.term, voteGranted: granted, preVote: true });
      return;
    }
    const granted = this.rules.grantVote({
      currentTerm: this.term,
      votedFor: this.vote,
      request,
      candidateLogUpToDate: upToDate,
    });
    if (granted) {
      if (this.vote !== request.candidateId) {
        this.vote = request.candidateId;
        this.hardStateDirty = true;
      }
      this.resetElectionTimer();
    }
    this.notes.push({ kind: 'vote', candidate: request.candidateId, term: request.term, granted, preVote: false });
    this.reply(from, { type: 'RequestVoteReply', term: this.term, voteGranted: granted });
  }

  private onRequestVoteReply(from: NodeId, reply: RequestVoteReply): void {
    if (!reply.voteGranted) return;
    if (reply.preVote) {
      if (this.currentRole !== 'precandidate' || reply.term !== this.term + 1) return;
      this.votes.add(from);
      if (this.hasMajority(this.votes.size)) this.becomeCandidate();
      return;
    }
    if (this.currentRole !== 'candidate' || reply.term !== this.term) return;
    this.votes.add(from);
    if (this.hasMajority(this.votes.size)) this.becomeLeader();
  }

  private becomeLeader(): void {
    this.setRole('leader', `won the election for term ${this.term} with ${this.votes.size} votes`);
    this.knownLeader = this.id;
    this.votes.clear();
    this.activePeers.clear();
    for (const peer of this.peers) {
      this.nextIndex.set(peer, this.entries.length + 1);
      this.matchIndex.set(peer, 0);
    }
    this.quorumDeadline = this.now + this.timings.electionTimeout.max;
    if (this.options.leaderNoop) this.appendToOwnLog(null);
    this.broadcastAppendEntries();
    this.advanceCommitIndex();
  }

  private becomeFollower(term: number, reason: string, leader: NodeId | null): void {
    if (term > this.term) {
      this.term = term;
      if (!this.options.bugs?.keepVoteOnNewTerm) this.vote = null;
      this.hardStateDirty = true;
      this.notes.push({ kind: 'term', term, from: leader });
    }
    this.knownLeader = leader;
    if (this.currentRole !== 'follower') {
      const wasLeader = this.currentRole === 'leader';
      this.setRole('follower', reason);
      this.votes.clear();
      this.nextIndex.clear();
      this.matchIndex.clear();
      this.heartbeatDeadline = Infinity;
      this.quorumDeadline = Infinity;
      // A (pre)candidate's election timer keeps running (Figure 2 resets it only on hearing from a leader or
      // granting a vote); a leader had none, so it starts one.
      if (wasLeader) this.resetElectionTimer();
    }
  }

  private checkQuorum(): void {
    if (!this.hasMajority(this.activePeers.size + 1)) {
      this.becomeFollower(this.term, `heard from no majority for ${this.timings.electionTimeout.max} ms (CheckQuorum)`, null);
      return;
    }
    this.activePeers.clear();
    this.quorumDeadline = this.now + this.timings.electionTimeout.max;
  }

  // ---- Log replication ----

  private appendToOwnLog(command: Command): number {
    this.entries.push({ term: this.term, command });
    const index = this.entries.length;
    this.markLogDirty(index);
    return index;
  }

  private broadcastAppendEntries(): void {
    this.retryFrom.clear(); // a lost retry is retried once per heartbeat
    for (const peer of this.peers) this.sendAppendEntries(peer);
    this.heartbeatDeadline = this.now + this.timings.heartbeatInterval;
  }

  /**
   * Send the peer everything from its nextIndex (up to a batch), or an empty heartbeat.
   * nextIndex moves past what was sent at once (pipelining); a refusal's hint moves it back.
   */
  private sendAppendEntries(peer: NodeId): void {
    const next = this.nextIndex.get(peer) ?? this.entries.length + 1;
    const prevLogIndex = next - 1;
    const end = Math.min(this.entries.length, prevLogIndex + this.maxBatch);
    const entries = end > prevLogIndex ? this.entries.slice(prevLogIndex, end) : [];
    const message: AppendEntries = {
      type: 'AppendEntries',
      term: this.term,
      leaderId: this.id,
      prevLogIndex,
      prevLogTerm: this.logView.termAt(prevLogIndex)!,
      entries,
      leaderCommit: this.commit,
    };
    this.outbox.push({ to: peer, message });
    if (entries.length > 0) this.nextIndex.set(peer, end + 1);
  }

  private onAppendEntries(from: NodeId, request: AppendEntries): void {
    if (request.term < this.term) {
      this.reply(from, { type: 'AppendEntriesReply', term: this.term, success: false, matchIndex: 0 });
      return;
    }
    if (this.currentRole !== 'follower') {
      this.becomeFollower(this.term, `heard from leader ${request.leaderId} of term ${request.term}`, request.leaderId);
    }
    this.knownLeader = request.leaderId;
    this.lastLeaderContact = this.now;
    this.resetElectionTimer();

    const check = this.rules.checkConsistency(this.logView, request.prevLogIndex, request.prevLogTerm);
    if (!check.ok) {
      this.reply(from, {
        type: 'AppendEntriesReply',
        term: this.term,
        success: false,
        matchIndex: 0,
        conflictIndex: check.conflictIndex,
        ...(check.conflictTerm === undefined ? {} : { conflictTerm: check.conflictTerm }),
      });
      return;
    }
    // Receiver rules 3 and 4: skip entries already present, cut the log at the first conflict, append the rest.
    const entries = request.entries;
    let i = 0;
    for (; i < entries.length; i++) {
      const index = request.prevLogIndex + 1 + i;
      if (index > this.entries.length) break;
      if (this.entries[index - 1]!.term !== entries[i]!.term) {
        if (this.options.bugs?.keepConflictingSuffix) {
          this.entries[index - 1] = entries[i]!;
          this.markLogDirty(index);
          continue;
        }
        this.entries.length = index - 1;
        this.markLogDirty(index);
        break;
      }
    }
    if (i < entries.length) {
      this.markLogDirty(this.entries.length + 1);
      for (; i < entries.length; i++) this.entries.push(entries[i]!);
    }
    const lastNewIndex = request.prevLogIndex + entries.length;
    if (request.leaderCommit > this.commit) this.setCommitIndex(Math.min(request.leaderCommit, lastNewIndex));
    this.reply(from, { type: 'AppendEntriesReply', term: this.term, success: true, matchIndex: lastNewIndex });
  }

  private onAppendEntriesReply(from: NodeId, reply: AppendEntriesReply): void {
    if (this.currentRole !== 'leader' || reply.term !== this.term || !this.nextIndex.has(from)) return;
    this.activePeers.add(from);
    const match = this.matchIndex.get(from)!;
    if (reply.success) {
      const claimed = Math.min(reply.matchIndex, this.entries.length); // a faulty peer cannot push us past our log
      if (claimed > match) {
        this.matchIndex.set(from, claimed);
        if (this.nextIndex.get(from)! <= claimed) this.nextIndex.set(from, claimed + 1);
        this.advanceCommitIndex();
      }
      if (this.nextIndex.get(from)! <= this.entries.length && this.matchIndex.get(from)! + 1 === this.nextIndex.get(from)) {
        this.sendAppendEntries(from);
      }
      return;
    }
    let next = reply.conflictIndex ?? this.nextIndex.get(from)! - 1;
    if (reply.conflictTerm !== undefined) {
      const last = this.lastIndexOfTerm(reply.conflictTerm);
      if (last > 0) next = last + 1;
    }
    next = Math.max(match + 1, Math.min(next, this.entries.length + 1));
    const retry = this.retryFrom.get(from);
    if (retry !== undefined && next >= retry) return;
    this.retryFrom.set(from, next);
    this.nextIndex.set(from, next);
    this.sendAppendEntries(from);
  }

  private lastIndexOfTerm(term: number): number {
    for (let i = this.entries.length; i >= 1; i--) {
      const t = this.entries[i - 1]!.term;
      if (t === term) return i;
      if (t < term) return 0;
    }
    return 0;
  }

  private advanceCommitIndex(): void {
    const matchIndexes = [this.entries.length];
    for (const peer of this.peers) matchIndexes.push(this.matchIndex.get(peer) ?? 0);
    const next = this.rules.advanceCommitIndex({
      matchIndexes,
      currentTerm: this.term,
      commitIndex: this.commit,
      log: this.logView,
    });
    if (next > this.commit) this.setCommitIndex(Math.min(next, this.entries.length));
  }

  private setCommitIndex(index: number): void {
    if (index <= this.commit) return;
    this.commit = index;
    this.notes.push({ kind: 'commit', commitIndex: index, term: this.term });
  }

  // ---- Plumbing ----

  private hasMajority(count: number): boolean {
    return count * 2 > this.clusterSize;
  }

  private setRole(role: Role, reason: string): void {
    this.currentRole = role;
    this.notes.push({ kind: 'role', role, term: this.term, reason });
  }

  private resetElectionTimer(): void {
    const { min, max } = this.timings.electionTimeout;
    this.electionDeadline = this.now + this.rules.electionTimeout(min, max, this.options.random);
  }

  private reply(to: NodeId, message: Message): void {
    this.outbox.push({ to, message });
  }

  private markLogDirty(index: number): void {
    if (index < this.logDirtyFrom) this.logDirtyFrom = index;
  }

  private finish(): Ready {
    const apply: AppliedEntry[] = [];
    while (this.applied < this.commit) {
      this.applied += 1;
      apply.push({ index: this.applied, entry: this.entries[this.applied - 1]! });
    }
    const ready: {
      hardState?: HardState;
      log?: { from: number; entries: readonly LogEntry[] };
      messages: Outbound[];
      apply: AppliedEntry[];
      notes: CoreNote[];
    } = { messages: this.outbox, apply, notes: this.notes };
    if (this.hardStateDirty) ready.hardState = { currentTerm: this.term, votedFor: this.vote };
    if (this.logDirtyFrom !== Infinity) {
      const from = Math.min(this.logDirtyFrom, this.entries.length + 1);
      ready.log = { from, entries: this.entries.slice(from - 1) };
    }
    this.hardStateDirty = false;
    this.logDirtyFrom = Infinity;
    this.outbox = [];
    this.notes = [];
    return ready;
  }
}
