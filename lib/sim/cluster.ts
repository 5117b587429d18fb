import type { Handlers } from '../raft/context';
import { createRaftNode, type CreateNode, type RaftCore, type Timings } from '../raft/node';
import type { RaftRules } from '../raft/rules';
import { NodeStoppedError, proposalErrors, readErrors } from '../errors';
import { ReadTracker, type TrackedRead } from '../raft/reads';
import type { Configuration } from '../raft/membership';
import { ProposalTracker, type StartTimer, type TrackedProposal } from '../raft/proposals';
import { raftOptionsFor } from '../raft/options';
import { SafetyMonitor, SafetyViolation, type SafetyProperty } from '../raft/safety';
import { KeyValueStateMachine } from '../raft/state-machine';
import { MemoryStorage, persistReady } from '../raft/storage';
import type { Command, LogEntry, Message, NodeId, PersistentState, Ready, Role } from '../raft/types';
import { Links, reliableNetwork, sampleLatency, validateNetwork, type NetworkOptions } from './network';
import { Rng } from './rng';
import { Scheduler } from './scheduler';
import { formatEvent, Trace, type TraceKind, type TraceLevel } from './trace';

export interface ClusterOptions {
  /** How many nodes (named 127.0.0.1:8000, :8001, ... like the lab's), or their ids. Default 3. */
  readonly nodes?: number | readonly NodeId[];
  /** Every random choice (timeouts, latency, loss) comes from this seed. Default 1. */
  readonly seed?: number;
  readonly network?: Partial<NetworkOptions>;
  readonly timings?: Partial<Timings>;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly leaderNoop?: boolean;
  /** Lease reads (dissertation 6.4.1; needs checkQuorum): reads answered without a round while the lease holds. */
  readonly leaseReads?: boolean;
  readonly clockDriftBound?: number;
  readonly maxEntriesPerAppend?: number;
  /**
   * Log compaction (section 7): a node snapshots its state machine once its log holds more than this many
   * entries after its last snapshot. Off by default.
   */
  readonly snapshotEvery?: number;
  /** Characters of state per InstallSnapshot chunk (default 8192). */
  readonly snapshotChunkChars?: number;
  /**
   * Dissertation 10.2.1: a leader sends its new entries at once and they reach its storage this many virtual ms
   * later (a crash in between loses them); it counts itself toward a majority only once they have. Off by default:
   * every write is on storage before the Ready's messages go out.
   */
  readonly leaderWriteMs?: number;
  /** Replace any of Figure 2's rules (a student's version, or a known-broken one). */
  readonly rules?: Partial<RaftRules>;
  /** Replace any of Figure 2's handlers (a student's, or a bug-zoo variant's); the rest are the reference ones. */
  readonly handlers?: Partial<Handlers>;
  /** Build each node's server (default: a RaftNode in this process). */
  readonly createNode?: CreateNode;
  /** Default 'all'. 'state' leaves out message traffic; 'off' records nothing (fastest). */
  readonly trace?: TraceLevel;
  /** Check Figure 3's properties on every event. Default true. */
  readonly checkSafety?: boolean;
  /** Start some nodes with a persisted state (term, vote, log), as if restarted. */
  readonly initialState?: Readonly<Record<NodeId, PersistentState>>;
  /** Lines of trace shown when an invariant fails. Default 25. */
  readonly excerptSize?: number;
  /** Bug zoo only (a teaching aid, off by default): known-broken behaviours of the driver. */
  readonly bugs?: ClusterBugs;
}

export interface ClusterBugs {
  /**
   * Answer before persisting: send a Ready's messages (and apply) at once, and write its term, vote and log
   * entries to storage this many virtual ms later. A crash in between loses the write, though the vote or
   * the acknowledgement has already gone out.
   */
  readonly answerBeforePersistingMs?: number;
}

export class InvariantViolation extends Error {
  constructor(
    readonly property: SafetyProperty,
    readonly detail: string,
    readonly seed: number,
    readonly eventIndex: number,
    readonly time: number,
    readonly excerpt: string,
  ) {
    super(
      `${property} violated at event #${eventIndex} (t=${time.toFixed(3)} ms, seed ${seed}): ${detail}\n` +
        `Replay with the same seed and actions to see it again. Last events:\n${excerpt}`,
    );
    this.name = 'InvariantViolation';
  }
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly alive: boolean;
  readonly role: Role | 'down';
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly lastIndex: number;
  /** The last index the node's snapshot covers (0 without one): `log` holds the entries after it. */
  readonly snapshotIndex: number;
  readonly log: readonly LogEntry[];
  readonly state: Record<string, unknown>;
}

/** A message sent and not yet delivered or dropped (Cluster.inFlight). */
export interface InFlightMessage {
  /** Numbers every copy sent, from 0, in order: the same run gives the same ids. */
  readonly id: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: Message;
  readonly sentAt: number;
  readonly deliverAt: number;
}

export type ClusterProposal =
  | { readonly accepted: true; readonly node: NodeId; readonly index: number; readonly term: number }
  | { readonly accepted: false; readonly node: NodeId | null; readonly leaderId: NodeId | null };

type SimEvent =
  | {
      readonly kind: 'deliver';
      readonly from: NodeId;
      readonly to: NodeId;
      /** The node `to` names (no lookup by id per delivery). */
      readonly target: SimNode;
      readonly message: Message;
      readonly id: number;
      readonly sentAt: number;
    }
  | { readonly kind: 'timer'; readonly node: SimNode; readonly incarnation: number }
  | { readonly kind: 'call'; readonly fn: () => void };

interface SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  core: RaftCore | null;
  stateMachine: KeyValueStateMachine;
  incarnation: number;
  timerAt: number;
  /** Every entry this node ever applied, by index (kept across restarts, like 6.5840's cfg.logs). */
  readonly applied: (LogEntry | undefined)[];
  /** Proposals awaited through proposeAndTrack (created on first use). */
  proposals: ProposalTracker | null;
  /** Reads awaited through readAndTrack (created on first use). */
  reads: ReadTracker | null;
  /** Added to the running cluster (addServer): it starts knowing no configuration. */
  readonly joined: boolean;
  /** With leaderWriteMs: this leader's appends on their way to storage, oldest first. */
  readonly leaderWrites: Ready[];
}

/** How proposeAndTrack follows an accepted proposal. */
export interface ProposalTracking {
  readonly timeoutMs: number;
  /**
   * 'virtual' (default): a timer in virtual time rejects it after timeoutMs. 'none': the caller runs the clock
   * and calls expire() itself (SimNode's self-driven await).
   */
  readonly timer?: 'virtual' | 'none';
}

function delaysOnly(net: NetworkOptions): boolean {
  return net.loss === 0 && net.duplicate === 0 && net.reorder === 0 && net.longDelay.probability === 0 && net.latencyByType === undefined;
}

export function labNodeIds(count: number, host = '127.0.0.1', basePort = 8000): NodeId[] {
  return Array.from({ length: count }, (_, i) => `${host}:${basePort + i}`);
}

/**
 * Any number of Raft nodes in one process on a virtual clock. Same seed + same actions = same trace.
 */
export class Cluster {
  readonly seed: number;
  /** Every server ever in the cluster: the initial ones, then those added (addServer). */
  readonly ids: readonly NodeId[];
  private readonly initialIds: readonly NodeId[];
  readonly rng: Rng;
  readonly trace: Trace;
  readonly links = new Links();
  readonly safety: SafetyMonitor | null;
  private network: NetworkOptions;
  /** The network loses, copies and reorders nothing and has one latency for every type (send's short path). */
  private delayOnly: boolean;
  private readonly scheduler = new Scheduler<SimEvent>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly options: ClusterOptions;
  private readonly random: () => number;
  private failure: InvariantViolation | null = null;
  /** options.bugs.answerBeforePersistingMs, read once (carryOut asks on every Ready). */
  private readonly persistLaterMs: number | undefined;
  private messageIds = 0;
  /** Ids of in-flight messages dropped by hand: their delivery events are skipped. */
  private readonly cancelled = new Set<number>();
  /** Messages delivered so far (the benchmark's unit of work). */
  deliveries = 0;

  constructor(options: ClusterOptions = {}) {
    this.options = options;
    this.persistLaterMs = options.bugs?.answerBeforePersistingMs;
    this.seed = options.seed ?? 1;
    this.rng = new Rng(this.seed);
    this.random = () => this.rng.next();
    const nodes = options.nodes ?? 3;
    this.ids = typeof nodes === 'number' ? labNodeIds(nodes) : [...nodes];
    this.initialIds = [...this.ids];
    if (this.ids.length === 0) throw new RangeError('a cluster needs at least one node');
    if (new Set(this.ids).size !== this.ids.length) throw new RangeError(`node ids must be unique: ${this.ids.join(', ')}`);
    const every = options.snapshotEvery;
    if (every !== undefined && !(Number.isInteger(every) && every >= 1)) throw new RangeError(`snapshotEvery must be a positive integer, got ${String(every)}`);
    this.network = { ...reliableNetwork, ...options.network };
    validateNetwork(this.network);
    this.delayOnly = delaysOnly(this.network);
    this.trace = new Trace(options.trace ?? 'all');
    this.safety = options.checkSafety === false ? null : new SafetyMonitor();
    for (const id of this.ids) {
      const initial = options.initialState?.[id];
      const node: SimNode = {
        id,
        storage: new MemoryStorage(initial),
        core: null,
        stateMachine: new KeyValueStateMachine(),
        incarnation: 0,
        timerAt: Infinity,
        applied: [],
        proposals: null,
        reads: null,
        leaderWrites: [],
        joined: false,
      };
      this.nodes.set(id, node);
      if (initial && initial.log.length > 0) this.safety?.onLogWrite(id, 1, initial.log, false);
    }
    for (const node of this.nodes.values()) this.boot(node);
  }

  /** The options it was made with (the explorer replays a notebook's run from them). */
  get config(): ClusterOptions {
    return this.options;
  }

  // ---- Time ----

  get now(): number {
    return this.scheduler.now;
  }

  /** Virtual time of the next scheduled event (Infinity when none). */
  nextEventTime(): number {
    return this.scheduler.peekTime();
  }

  /** Process the next event. Returns false when nothing is scheduled. */
  step(): boolean {
    this.throwIfFailed();
    const event = this.scheduler.pop();
    if (event === undefined) return false;
    switch (event.kind) {
      case 'deliver':
        if (this.cancelled.size > 0 && this.cancelled.delete(event.id)) break;
        this.deliver(event.from, event.target, event.message);
        break;
      case 'timer':
        this.fireTimer(event.node, event.incarnation, this.scheduler.now);
        break;
      case 'call':
        event.fn();
        break;
    }
    return true;
  }

  /** Run for `ms` of virtual time. */
  runFor(ms: number): this {
    return this.runUntilTime(this.now + ms);
  }

  runUntilTime(time: number): this {
    this.throwIfFailed();
    while (this.scheduler.peekTime() <= time) this.step();
    this.scheduler.advanceTo(time);
    return this;
  }

  /**
   * Run until `condition` holds (checked after every event) or `timeout` ms of virtual time pass.
   * Returns whether the condition held.
   */
  runUntil(condition: (cluster: this) => boolean, options: { timeout?: number } = {}): boolean {
    this.throwIfFailed();
    const deadline = this.now + (options.timeout ?? 10_000);
    if (condition(this)) return true;
    while (this.scheduler.peekTime() <= deadline) {
      this.step();
      if (condition(this)) return true;
    }
    this.scheduler.advanceTo(deadline);
    return condition(this);
  }

  /** Run `fn` at virtual time `time` (scripted scenarios). */
  at(time: number, fn: () => void): void {
    this.scheduler.schedule(Math.max(time, this.now), { kind: 'call', fn });
  }

  after(ms: number, fn: () => void): void {
    this.at(this.now + ms, fn);
  }

  // ---- Questions ----

  /** The live leader with the highest term, or null. */
  leader(): NodeId | null {
    let best: NodeId | null = null;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      const core = node.core;
      if (core && core.role === 'leader' && core.currentTerm > bestTerm) {
        best = node.id;
        bestTerm = core.currentTerm;
      }
    }
    return best;
  }

  /** Every live node that believes it leads, with its term. */
  leaders(): { id: NodeId; term: number }[] {
    const out: { id: NodeId; term: number }[] = [];
    for (const node of this.nodes.values()) {
      if (node.core?.role === 'leader') out.push({ id: node.id, term: node.core.currentTerm });
    }
    return out;
  }

  status(id: NodeId): NodeStatus {
    const node = this.get(id);
    const core = node.core;
    if (!core) {
      const hard = node.storage.hardState;
      return {
        id, alive: false, role: 'down', term: hard.currentTerm, votedFor: hard.votedFor, leaderId: null,
        commitIndex: 0, lastApplied: 0, lastIndex: node.storage.snapshotIndex + node.storage.log.length,
        snapshotIndex: node.storage.snapshotIndex, log: node.storage.log, state: {},
      };
    }
    return {
      id, alive: true, role: core.role, term: core.currentTerm, votedFor: core.votedFor, leaderId: core.leaderId,
      commitIndex: core.commitIndex, lastApplied: core.lastApplied, lastIndex: core.lastIndex, snapshotIndex: core.snapshotIndex,
      log: core.log, state: node.stateMachine.toJSON(),
    };
  }

  statuses(): NodeStatus[] {
    return this.ids.map((id) => this.status(id));
  }

  isAlive(id: NodeId): boolean {
    return this.get(id).core !== null;
  }

  /** The core itself, for tests and notebooks that look inside (null while crashed). */
  raft(id: NodeId): RaftCore | null {
    return this.get(id).core;
  }

  stateMachine(id: NodeId): KeyValueStateMachine {
    return this.get(id).stateMachine;
  }

  /** The entry `id` applied at `index`, if it has. */
  appliedAt(id: NodeId, index: number): LogEntry | undefined {
    return this.get(id).applied[index];
  }

  /** How many nodes applied an entry at `index`, and which command (6.5840's nCommitted). */
  /** What `id` has on stable storage: its snapshot (if any) and the log entries after it. */
  persisted(id: NodeId): PersistentState {
    return this.get(id).storage.load();
  }

  committedAt(index: number): { count: number; command: Command | undefined } {
    let count = 0;
    let command: Command | undefined;
    for (const node of this.nodes.values()) {
      const entry = node.applied[index];
      if (entry === undefined) continue;
      if (count > 0 && JSON.stringify(entry.command) !== JSON.stringify(command)) {
        throw new Error(`nodes applied different commands at index ${index}: ${JSON.stringify(command)} and ${JSON.stringify(entry.command)}`);
      }
      command = entry.command;
      count++;
    }
    return { count, command };
  }

  /** A printable timeline of state changes (not message traffic). */
  timeline(kinds: readonly TraceKind[] = ['role', 'crash', 'restart', 'partition', 'heal', 'propose', 'commit']): string {
    const set = new Set(kinds);
    return this.trace.events.filter((e) => set.has(e.kind)).map(formatEvent).join('\n');
  }

  // ---- Clients ----

  /** Give `command` to the leader (or to `via`). Followers refuse and name the leader they know. */
  propose(command: Command, via?: NodeId): ClusterProposal {
    return this.proposeVia(command, via, undefined).proposal;
  }

  /**
   * propose(), and follow the accepted proposal (lib/raft/proposals.ts): `tracked.promise` resolves once the
   * entry is applied on that node, and rejects at once when that node stops leading first (LeadershipLostError),
   * when another entry overwrites it (EntryOverwrittenError) or when the node crashes (NodeStoppedError).
   */
  proposeAndTrack(command: Command, via: NodeId | undefined, tracking: ProposalTracking): { proposal: ClusterProposal; tracked: TrackedProposal | null } {
    return this.proposeVia(command, via, tracking);
  }

  /**
   * A linearizable read on `id` through ReadIndex (dissertation 6.4; nothing is written to the log):
   * `tracked.promise` resolves to the read index once `id` confirmed it still leads and applied up to it, so its
   * state machine then answers the read. Null when `id` is down; a follower's refusal rejects with NotLeaderError.
   */
  readAndTrack(id: NodeId, tracking: ProposalTracking): TrackedRead | null {
    this.throwIfFailed();
    const node = this.get(id);
    if (!node.core) return null;
    const reads = (node.reads ??= new ReadTracker(id, readErrors));
    const tracked = reads.begin(tracking.timeoutMs, tracking.timer === 'none' ? undefined : this.virtualTimer);
    const outcome = node.core.readIndex(tracked.id, this.now);
    if (!outcome.accepted) reads.refuse(tracked, outcome.leaderId);
    this.process(node, outcome.ready);
    return tracked;
  }

  /**
   * Log compaction (section 7): `id` snapshots its state machine at what it has applied and drops the log
   * entries the snapshot covers. Returns the snapshot's last index (unchanged if nothing new was applied).
   */
  snapshot(id: NodeId): number {
    this.throwIfFailed();
    const node = this.get(id);
    const core = node.core;
    if (!core) throw new Error(`${id} is down`);
    if (core.lastApplied > core.snapshotIndex) this.process(node, core.snapshot(core.lastApplied, node.stateMachine.snapshotState(), this.now));
    return core.snapshotIndex;
  }

  /** Reject a tracked read of `id` with ReadTimeoutError if it is still pending. */
  expireRead(id: NodeId, tracked: TrackedRead, timeoutMs: number): void {
    this.get(id).reads?.expire(tracked, timeoutMs);
  }

  /**
   * Leadership transfer (dissertation 3.10): the leader `from` brings `to` up to date and tells it to campaign
   * at once; meanwhile it takes no proposals. Refused (with the reason) when `from` is not the leader or `to` is
   * not another member; a transfer that does not complete within an election timeout is given up.
   */
  transferLeadership(from: NodeId, to: NodeId): { accepted: true } | { accepted: false; reason: string } {
    this.throwIfFailed();
    const node = this.get(from);
    if (!node.core) return { accepted: false, reason: `${from} is down` };
    const outcome = node.core.transferLeadership(to, this.now);
    this.process(node, outcome.ready);
    return outcome.accepted ? { accepted: true } : { accepted: false, reason: outcome.reason };
  }

  // ---- Membership (dissertation chapter 4) ----

  /**
   * Add server `id` through the leader (or `via`): a new, empty server starts, the leader adds it as a learner
   * that catches up, then makes it a voter. Refused, with the reason, when a change is still uncommitted or
   * the leader has not committed an entry of its term.
   */
  addServer(id: NodeId, via?: NodeId): { accepted: true; index: number } | { accepted: false; reason: string } {
    this.throwIfFailed();
    if (this.nodes.has(id)) return { accepted: false, reason: `${id} already exists in this cluster` };
    const leader = this.leaderFor(via);
    if (typeof leader === 'string') return { accepted: false, reason: leader };
    const outcome = leader.core!.addServer(id, this.now);
    if (outcome.accepted) {
      const node: SimNode = {
        id, storage: new MemoryStorage(), core: null, stateMachine: new KeyValueStateMachine(), incarnation: 0, timerAt: Infinity,
        applied: [], proposals: null, reads: null, joined: true, leaderWrites: [],
      };
      this.nodes.set(id, node);
      (this.ids as NodeId[]).push(id);
      this.boot(node);
    }
    this.process(leader, outcome.ready);
    return outcome.accepted ? { accepted: true, index: outcome.index } : { accepted: false, reason: outcome.reason };
  }

  /** Remove server `id` through the leader (or `via`); the leader itself cannot be removed (transfer first). */
  removeServer(id: NodeId, via?: NodeId): { accepted: true; index: number } | { accepted: false; reason: string } {
    this.throwIfFailed();
    const leader = this.leaderFor(via);
    if (typeof leader === 'string') return { accepted: false, reason: leader };
    const outcome = leader.core!.removeServer(id, this.now);
    this.process(leader, outcome.ready);
    return outcome.accepted ? { accepted: true, index: outcome.index } : { accepted: false, reason: outcome.reason };
  }

  /** The configuration `id` has in effect (default: the leader's). */
  configuration(id?: NodeId): Configuration {
    const at = id ?? this.leader();
    const core = at === null ? null : this.get(at).core;
    if (!core) throw new Error(at === null ? 'no leader to ask for the configuration' : `${at} is down`);
    return core.configuration;
  }

  private leaderFor(via: NodeId | undefined): SimNode | string {
    const target = via ?? this.leader();
    if (target === null) return 'no leader';
    const node = this.get(target);
    return node.core ? node : `${target} is down`;
  }

  /** Reject a tracked proposal of `id` with ProposalTimeoutError if it is still pending. */
  expireProposal(id: NodeId, tracked: TrackedProposal, timeoutMs: number): void {
    this.get(id).proposals?.expire(tracked, timeoutMs);
  }

  private proposeVia(
    command: Command,
    via: NodeId | undefined,
    tracking: ProposalTracking | undefined,
  ): { proposal: ClusterProposal; tracked: TrackedProposal | null } {
    this.throwIfFailed();
    const target = via ?? this.leader();
    if (target === null) return { proposal: { accepted: false, node: null, leaderId: null }, tracked: null };
    const node = this.get(target);
    if (!node.core) return { proposal: { accepted: false, node: target, leaderId: null }, tracked: null };
    const outcome = node.core.propose(command, this.now);
    let tracked: TrackedProposal | null = null;
    if (outcome.accepted) {
      this.trace.addPropose(this.now, target, outcome.index, outcome.term, command);
      if (tracking) {
        // Before the Ready is carried out: a one-node cluster commits and applies within it.
        const timer = tracking.timer === 'none' ? undefined : this.virtualTimer;
        tracked = (node.proposals ??= new ProposalTracker(target, proposalErrors)).track(outcome.index, outcome.term, tracking.timeoutMs, timer);
      }
    }
    this.process(node, outcome.ready);
    const proposal: ClusterProposal = outcome.accepted
      ? { accepted: true, node: target, index: outcome.index, term: outcome.term }
      : { accepted: false, node: target, leaderId: outcome.leaderId };
    return { proposal, tracked };
  }

  /** A timer in virtual time (cancelled: it fires and does nothing). */
  private readonly virtualTimer: StartTimer = (ms, fire) => {
    let live = true;
    this.after(ms, () => {
      if (live) fire();
    });
    return () => {
      live = false;
    };
  };

  // ---- Faults ----

  /** Stop a node like Ctrl+C: volatile state is lost, what it persisted stays. */
  crash(id: NodeId): void {
    const node = this.get(id);
    if (!node.core) return;
    node.core = null;
    node.incarnation++;
    node.timerAt = Infinity;
    node.leaderWrites.length = 0; // the writes still on their way are lost
    this.trace.add({ t: this.now, node: id, kind: 'crash' });
    node.proposals?.stopAll(() => new NodeStoppedError(id));
    node.reads?.stopAll(() => new NodeStoppedError(id));
  }

  /** Start a crashed node again from its persisted term, vote and log. */
  restart(id: NodeId): void {
    const node = this.get(id);
    if (node.core) return;
    const snapshot = node.storage.snapshot;
    node.stateMachine = snapshot ? KeyValueStateMachine.fromSnapshot(snapshot.state) : new KeyValueStateMachine();
    this.safety?.onRestart(id);
    // With answerBeforePersisting the monitor followed the log in memory; the node comes back with what reached storage.
    if (this.options.leaderWriteMs !== undefined) this.safety?.onLogWrite(id, node.storage.snapshotIndex + 1, node.storage.log, false);
    // From index 1, right only without a snapshot: kept so that the bug zoo's recorded runs replay bit for bit.
    else if (this.options.bugs?.answerBeforePersistingMs !== undefined) this.safety?.onLogWrite(id, 1, node.storage.log, false);
    this.trace.add({ t: this.now, node: id, kind: 'restart' });
    this.boot(node);
  }

  /** Cut every link between the groups (both directions). Nodes in no group keep their links. */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    for (const g of groups) for (const id of g) this.get(id);
    this.links.partition(groups);
    this.trace.add({ t: this.now, node: '*', kind: 'partition', cut: this.links.describe() });
  }

  /** Cut one direction only: `from` can no longer reach `to`. */
  cutLink(from: NodeId, to: NodeId): void {
    this.get(from);
    this.get(to);
    this.links.cutOneWay(from, to);
    this.trace.add({ t: this.now, node: '*', kind: 'partition', cut: this.links.describe() });
  }

  /** Disconnect a node from all others (6.5840's disconnect). */
  disconnect(id: NodeId): void {
    this.get(id);
    this.links.isolate(id, this.ids);
    this.trace.add({ t: this.now, node: id, kind: 'partition', cut: this.links.describe() });
  }

  /** Reconnect a node to all others (6.5840's connect). */
  connect(id: NodeId): void {
    this.get(id);
    this.links.reconnect(id, this.ids);
    this.trace.add({ t: this.now, node: id, kind: 'heal', cut: this.links.describe() });
  }

  /** Restore one direction cut by partition, cutLink or disconnect: `from` can reach `to` again. */
  restoreLink(from: NodeId, to: NodeId): void {
    this.get(from);
    this.get(to);
    this.links.restoreOneWay(from, to);
    this.trace.add({ t: this.now, node: '*', kind: 'heal', cut: this.links.describe() });
  }

  /** Restore every link. */
  heal(): void {
    this.links.healAll();
    this.trace.add({ t: this.now, node: '*', kind: 'heal', cut: [] });
  }

  setNetwork(options: Partial<NetworkOptions>): void {
    const next = { ...this.network, ...options };
    validateNetwork(next);
    this.network = next;
    this.delayOnly = delaysOnly(next);
  }

  get networkOptions(): NetworkOptions {
    return this.network;
  }

  /** Make a node start an election now (RaftScope's "timeout" button). */
  campaign(id: NodeId): void {
    const node = this.get(id);
    if (!node.core) throw new Error(`${id} is down`);
    this.process(node, node.core.campaign(this.now));
  }

  // ---- Messages in flight (the explorer's view and its drop/delay buttons) ----

  /** Messages sent and not yet delivered or dropped, by delivery time. */
  inFlight(): InFlightMessage[] {
    const out: InFlightMessage[] = [];
    for (const item of this.scheduler.pending()) {
      const e = item.event;
      if (e.kind !== 'deliver' || this.cancelled.has(e.id)) continue;
      out.push({ id: e.id, from: e.from, to: e.to, message: e.message, sentAt: e.sentAt, deliverAt: item.time });
    }
    return out.sort((a, b) => a.deliverAt - b.deliverAt || a.id - b.id);
  }

  /** Drop one message in flight (traced as a drop, reason 'manual'). Returns whether it was in flight. */
  dropInFlight(id: number): boolean {
    const m = this.inFlight().find((x) => x.id === id);
    if (!m) return false;
    this.cancelled.add(id);
    this.trace.add({ t: this.now, node: m.to, kind: 'drop', from: m.from, to: m.to, message: m.message, reason: 'manual' });
    return true;
  }

  /** Hold one message in flight back by `ms` more virtual milliseconds. Returns whether it was in flight. */
  delayInFlight(id: number, ms: number): boolean {
    if (!(ms >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${ms}`);
    const m = this.inFlight().find((x) => x.id === id);
    if (!m) return false;
    this.cancelled.add(id);
    this.scheduler.schedule(m.deliverAt + ms, {
      kind: 'deliver', from: m.from, to: m.to, target: this.get(m.to), message: m.message, id: this.messageIds++, sentAt: m.sentAt,
    });
    return true;
  }

  // ---- Machinery ----

  private get(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new RangeError(`no node ${JSON.stringify(id)} in this cluster (nodes: ${this.ids.join(', ')})`);
    return node;
  }

  private boot(node: SimNode): void {
    const options = {
      ...raftOptionsFor(node.id, this.initialIds, this.random, this.options),
      ...(node.joined ? { joining: true } : {}),
      ...(this.options.leaderWriteMs !== undefined ? { leaderWritesInParallel: true } : {}),
    };
    node.core = (this.options.createNode ?? createRaftNode)(options, node.storage.load(), this.now);
    node.incarnation++;
    node.timerAt = Infinity;
    this.syncTimer(node);
  }

  /** Keep one timer event per node at its core's next deadline; later deadlines re-arm lazily. */
  private syncTimer(node: SimNode): void {
    const deadline = Math.max(node.core!.nextDeadline(), this.now);
    if (deadline < node.timerAt) {
      node.timerAt = deadline;
      this.scheduler.schedule(deadline, { kind: 'timer', node, incarnation: node.incarnation });
    }
  }

  private fireTimer(node: SimNode, incarnation: number, time: number): void {
    if (node.incarnation !== incarnation || !node.core || node.timerAt !== time) return; // superseded
    node.timerAt = Infinity;
    const core = node.core;
    if (core.nextDeadline() <= this.now) this.process(node, core.tick(this.now));
    else this.syncTimer(node);
  }

  private deliver(from: NodeId, node: SimNode, message: Message): void {
    const to = node.id;
    const core = node.core;
    if (!core) {
      this.trace.addDrop(this.now, to, from, to, message, 'crashed');
      return;
    }
    if (this.links.isCut(from, to)) {
      this.trace.addDrop(this.now, to, from, to, message, 'partition');
      return;
    }
    this.deliveries++;
    const now = this.now;
    this.trace.addDeliver(now, to, from, message);
    this.process(node, core.step(from, message, now));
  }

  private send(from: NodeId, to: NodeId, message: Message): void {
    const t = this.now;
    this.trace.addSend(t, from, to, message);
    if (this.links.isCut(from, to)) {
      this.trace.addDrop(t, from, from, to, message, 'partition');
      return;
    }
    const net = this.network;
    const rng = this.rng;
    if (this.delayOnly) {
      // What the general path below does when every probability is 0 (no draw is made for them).
      const target = this.nodes.get(to);
      if (target === undefined) throw new RangeError(`${from} sent a message to ${JSON.stringify(to)}, not a node of this cluster`);
      this.scheduler.schedule(t + sampleLatency(net.latency, rng), { kind: 'deliver', from, to, target, message, id: this.messageIds++, sentAt: t });
      return;
    }
    if (rng.chance(net.loss)) {
      this.trace.addDrop(t, from, from, to, message, 'loss');
      return;
    }
    const target = this.nodes.get(to);
    if (target === undefined) throw new RangeError(`${from} sent a message to ${JSON.stringify(to)}, not a node of this cluster`);
    const copies = rng.chance(net.duplicate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let delay = sampleLatency(net.latencyByType?.[message.type] ?? net.latency, rng);
      if (rng.chance(net.reorder)) delay += rng.uniform(0, net.reorderWindow);
      if (rng.chance(net.longDelay.probability)) delay += rng.uniform(net.longDelay.min, net.longDelay.max);
      this.scheduler.schedule(t + delay, { kind: 'deliver', from, to, target, message, id: this.messageIds++, sentAt: t });
    }
  }

  /** Carry out a Ready: trace the notes, persist, check safety, send, apply. */
  private process(node: SimNode, ready: Ready): void {
    try {
      this.carryOut(node, ready);
    } catch (error) {
      throw this.asInvariantViolation(error);
    }
  }

  private carryOut(node: SimNode, ready: Ready): void {
    const safety = this.safety;
    const core = node.core!;
    const id = node.id;
    const t = this.now;
    const trace = this.trace;
    let committed = -1;
    /** leaderWriteMs: the last index of this leader's log now on storage, to report once this Ready is out. */
    let durableNow = 0;
    let commitTerm = 0;
    const notes = ready.notes;
    // The notes' trace events are built only if someone records or observes them (else only counted).
    const traced = notes.length > 0 && trace.wantsState;
    for (let i = 0; i < notes.length; i++) {
      const note = notes[i]!;
      switch (note.kind) {
        case 'role':
          if (traced) trace.add({ t, node: id, kind: 'role', role: note.role, term: note.term, reason: note.reason });
          else trace.skip();
          if (note.role === 'leader') safety?.onLeader(id, note.term);
          break;
        case 'term':
          if (traced) trace.add({ t, node: id, kind: 'term', term: note.term });
          else trace.skip();
          break;
        case 'timeout':
          if (traced) trace.add({ t, node: id, kind: 'timeout', role: note.role, term: note.term });
          else trace.skip();
          break;
        case 'vote':
          if (traced) trace.add({ t, node: id, kind: 'vote', candidate: note.candidate, term: note.term, granted: note.granted, preVote: note.preVote });
          else trace.skip();
          break;
        case 'commit':
          committed = note.commitIndex;
          commitTerm = note.term;
          break;
      }
    }
    const installed = ready.snapshot;
    if (installed?.restore) safety?.onSnapshotInstall(id, installed.snapshot.index, installed.snapshot.term);
    const persistLater = this.persistLaterMs;
    if (persistLater !== undefined && (ready.hardState || ready.log || ready.snapshot)) {
      if (ready.log) safety?.onLogWrite(id, ready.log.from, ready.log.entries, core.role === 'leader');
      this.persistAfter(node, ready, persistLater);
    } else if (ready.hardState || ready.log || ready.snapshot) {
      const writeMs = this.options.leaderWriteMs;
      if (writeMs !== undefined && ready.log && !ready.hardState && !ready.snapshot && core.role === 'leader' && core.logDurable) {
        safety?.onLogWrite(id, ready.log.from, ready.log.entries, true);
        this.writeInParallel(node, ready, writeMs);
      } else {
        // No write overtakes the leader's writes still on their way: they land first.
        if (node.leaderWrites.length > 0) durableNow = this.landLeaderWrites(node);
        this.persist(node, ready);
        if (ready.log) safety?.onLogWrite(id, ready.log.from, ready.log.entries, core.role === 'leader');
        if (writeMs !== undefined && ready.log && core.role === 'leader') durableNow = ready.log.from + ready.log.entries.length - 1;
      }
    }
    if (committed >= 0) {
      trace.addCommit(t, id, committed, commitTerm);
      safety?.onCommit(id, committed, commitTerm);
    }
    const messages = ready.messages;
    for (let i = 0; i < messages.length; i++) this.send(id, messages[i]!.to, messages[i]!.message);
    if (installed?.restore) {
      node.stateMachine = KeyValueStateMachine.fromSnapshot(installed.snapshot.state);
      this.recordSnapshotApplied(node, installed.snapshot.index);
    }
    const apply = ready.apply;
    for (let i = 0; i < apply.length; i++) {
      const { index, entry } = apply[i]!;
      node.stateMachine.apply(entry.command);
      node.applied[index] = entry;
      trace.addApply(t, id, index, entry.term, entry.command);
      safety?.onApply(id, index, entry);
    }
    const proposals = node.proposals;
    if (proposals !== null && !proposals.idle) {
      proposals.onReady(ready, core.commitIndex);
      for (let i = 0; i < apply.length; i++) proposals.onApplied(apply[i]!.index, apply[i]!.entry);
    }
    if (ready.reads !== undefined) node.reads?.onReady(ready);
    if (durableNow > 0 && core.logDurable) {
      this.process(node, core.logDurable(durableNow, t));
      return;
    }
    const every = this.options.snapshotEvery;
    if (every !== undefined && core.lastApplied - core.snapshotIndex >= every && core.lastIndex - core.snapshotIndex > every) {
      this.process(node, core.snapshot(core.lastApplied, node.stateMachine.snapshotState(), t));
      return;
    }
    this.syncTimer(node);
  }

  /**
   * A node that installed a snapshot up to `index` has, in effect, applied every entry it covers: its record of
   * applied entries (6.5840's cfg.logs) takes them from the nodes that applied them one by one.
   */
  private recordSnapshotApplied(node: SimNode, index: number): void {
    for (let i = 1; i <= index; i++) {
      if (node.applied[i] !== undefined) continue;
      for (const other of this.nodes.values()) {
        const entry = other.applied[i];
        if (entry !== undefined) {
          node.applied[i] = entry;
          break;
        }
      }
    }
  }

  /** Write a Ready's term, vote and log to the node's storage, and trace what the log write did. */
  private persist(node: SimNode, ready: Ready): void {
    const before = node.storage.snapshotIndex + node.storage.log.length;
    persistReady(node.storage, ready);
    const log = ready.log;
    if (!log) return;
    if (log.from <= before) this.trace.addTruncate(this.now, node.id, log.from);
    const count = log.entries.length;
    if (count > 0) this.trace.addAppend(this.now, node.id, log.from, count, log.entries[count - 1]!.term);
  }

  /** leaderWriteMs: a leader's append reaches storage `ms` later, unless the node crashes first; then it counts. */
  private writeInParallel(node: SimNode, ready: Ready, ms: number): void {
    const log = ready.log!;
    const write: Ready = { log: { from: log.from, entries: log.entries.slice() }, messages: [], apply: [], notes: [] };
    node.leaderWrites.push(write);
    this.scheduler.schedule(this.now + ms, {
      kind: 'call',
      fn: () => {
        const landed = this.landLeaderWrites(node, write);
        if (landed > 0 && node.core?.logDurable) this.process(node, node.core.logDurable(landed, this.now));
      },
    });
  }

  /**
   * Put the leader writes still on their way on storage, oldest first, up to `last` (all of them without it):
   * the last index they hold, 0 if none was left (lost in a crash, or landed already).
   */
  private landLeaderWrites(node: SimNode, last?: Ready): number {
    const upTo = last === undefined ? node.leaderWrites.length - 1 : node.leaderWrites.indexOf(last);
    if (upTo < 0) return 0;
    const writes = node.leaderWrites.splice(0, upTo + 1);
    for (const w of writes) this.persist(node, w);
    const log = writes[writes.length - 1]!.log!;
    return log.from + log.entries.length - 1;
  }

  /** The answerBeforePersisting bug: the write reaches storage `ms` later, unless the node crashes first. */
  private persistAfter(node: SimNode, ready: Ready, ms: number): void {
    const incarnation = node.incarnation;
    this.scheduler.schedule(this.now + ms, {
      kind: 'call',
      fn: () => {
        if (node.incarnation !== incarnation) return; // crashed in between: the write is lost
        this.persist(node, ready);
      },
    });
  }

  /** A safety violation stops the cluster, reported with its seed, event index and the trace before it. */
  private asInvariantViolation(error: unknown): unknown {
    if (!(error instanceof SafetyViolation)) return error;
    this.failure = new InvariantViolation(
      error.property,
      error.detail,
      this.seed,
      this.trace.count - 1,
      this.now,
      this.trace.excerpt(this.options.excerptSize ?? 25),
    );
    return this.failure;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
