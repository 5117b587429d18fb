import { performance } from 'node:perf_hooks';
import type { Committed, ConsensusNode, ProposeOptions } from '../raft/consensus-node';
import type { Configuration } from '../raft/membership';
import { abortAddition, EntryOverwrittenError, MembershipError, NodeStoppedError, NotLeaderError, ProposalTimeoutError, TransferError, WaitTimeoutError, proposalErrors, readErrors } from '../errors';
import { ReadTracker } from '../raft/reads';
import type { Handlers } from '../raft/context';
import { createRaftNode, defaultMaxEntriesPerAppend, defaultTimings, type CreateNode, type MembershipOutcome, type RaftCore, type Timings } from '../raft/node';
import type { RaftRules } from '../raft/rules';
import { copiedCommandBytes, copyCommand } from '../raft/command';
import { raftOptionsFor } from '../raft/options';
import { ProposalTracker, type StartTimer } from '../raft/proposals';
import { KeyValueStateMachine } from '../raft/state-machine';
import { MemoryStorage, persistReady, type Storage } from '../raft/storage';
import { WriteBehind } from './write-behind';
import type { AppendEntries, Command, LogEntry, Message, NodeId, Ready, Role } from '../raft/types';
import { decodeIncoming, deriveKeys, dropReasons, encodeAdminReply, encodeDatagram, type DropReason, type Security } from './codec';
import { AdminService } from './admin-service';
import { FileStorage } from './file-storage';
import { jsonValueProblem } from './python-json';
import type { JsonStyle, RaftosFileNames } from './raftos-files';
import { coalesceMessages, emptyBatch, mergeReady, type ReadyBatch } from './ready-batch';
import { TypedEmitter } from './typed-emitter';
import { UdpTransport, parseNodeId } from './udp-transport';

export interface RealNodeOptions {
  /** 'host:port': the UDP address this node binds, and its name in the files ('127.0.0.1_8000.log'). */
  readonly id: NodeId;
  /** The other members (this node's own id may be included, as in raftos's cluster lists). */
  readonly peers: readonly NodeId[];
  /** Folder of the raftos-style files (created if missing). */
  readonly dir?: string;
  /** Use this storage instead of files in `dir` (no .state_machine is written then). With neither, memory only. */
  readonly storage?: Storage;
  /** Defaults: election timeout 150-300 ms, heartbeat 50 ms. */
  readonly timings?: Partial<Timings>;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Append an empty entry on winning an election (default false, so the files look like raftos's). */
  readonly leaderNoop?: boolean;
  /** Lease reads (dissertation 6.4.1; needs checkQuorum; safe only under bounded clock drift). Off by default. */
  readonly leaseReads?: boolean;
  readonly clockDriftBound?: number;
  /** A server added to a running cluster (addServer on its leader); `peers` are the cluster's members. */
  readonly joining?: boolean;
  readonly security?: Security;
  /** fsync every write (default true). */
  readonly fsync?: boolean;
  /**
   * A leader sends its new entries before writing them to its own disk, counting itself toward a majority only
   * once they are durable (dissertation 10.2.1; default true). With files and fsync the write runs on libuv's
   * threads while the node goes on handling replies, so the followers' copies may commit an entry before the
   * leader's own write ends. Off: write, then send, as every other server does.
   */
  readonly leaderWritesWhileSending?: boolean;
  /** Spelling of the files' JSON: 'python' (default, raftos's JSON serializer) or 'compact' (raftos with ujson). */
  readonly jsonStyle?: JsonStyle;
  /** Largest datagram sent or accepted (default 60000, at most 65507, UDP's limit over IPv4). */
  readonly maxDatagramBytes?: number;
  readonly maxEntriesPerAppend?: number;
  /** Log compaction: snapshot once this many applied entries follow the last snapshot (off by default, as in the lab). */
  readonly snapshotEvery?: number;
  /** Source of the election timeouts' randomness (default Math.random). */
  readonly random?: () => number;
  /** A student's (or any) replacements for Figure 2's rules and handlers: the lab's --impl. */
  readonly rules?: Partial<RaftRules>;
  readonly handlers?: Partial<Handlers>;
  /** Build the server (default: a RaftNode in this process). */
  readonly createNode?: CreateNode;
  /** How long a leader gives an AddServer or RemoveServer request from an admin client to commit (default 10000). */
  readonly membershipTimeoutMs?: number;
}

// The lab's shared errors (lib/errors.ts), so code catching them works on simulated and real nodes alike.
export { EntryOverwrittenError, NodeStoppedError, NotLeaderError, ProposalTimeoutError, WaitTimeoutError };
export type { Committed, ProposeOptions };
export { coalesceMessages, emptyBatch, mergeReady, type ReadyBatch } from './ready-batch';
export { TypedEmitter } from './typed-emitter';

export interface RealNodeStats {
  readonly datagramsReceived: number;
  readonly datagramsSent: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  /** Sends the OS refused (e.g. no route); Raft retries by itself. */
  readonly sendErrors: number;
  /** AppendEntries split in two because they did not fit in maxDatagramBytes. */
  readonly splitAppends: number;
  /** Messages not sent because even one entry does not fit in maxDatagramBytes. */
  readonly unsendable: number;
}

export interface RealNodeEvents {
  role: [role: Role, term: number];
  leader: [leaderId: NodeId | null];
  apply: [index: number, entry: LogEntry];
  /** A snapshot up to `index` was written: taken here, or `installed` from the leader (the state machine replaced). */
  snapshot: [index: number, installed: boolean];
  /** Storage (or the core) failed: the node stopped itself, since it could no longer keep Raft's promises. */
  fatal: [error: Error];
}


/** Proposal timeouts on the wall clock. */
const wallClockTimer: StartTimer = (ms, fire) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};

type QueuedEvent = { [K in keyof RealNodeEvents]: [K, ...RealNodeEvents[K]] }[keyof RealNodeEvents];

const DEFAULT_MAX_DATAGRAM = 60000;
const UDP_MAX_PAYLOAD = 65507;

/** The .state_machine is derived state: rewritten at most this often while the node runs, and at stop(). */
const stateMachineWriteIntervalMs = 10;

/**
 * A Raft server on a real network: RaftNode (pure) driven by the wall clock, UDP datagrams and files.
 * It persists first, then sends, then applies, then settles proposals - the order that makes a reply or a
 * vote never get ahead of what is on disk (a leader's own new entries excepted: leaderWritesWhileSending). The
 * .state_machine, derived state, is written behind the applies. Group commit: the Readies of one event-loop turn (every datagram
 * read in one poll, every proposal made in one go) are merged and flushed together in the check phase, so
 * they cost one log write and one fsync, and AppendEntries to the same peer travel in one datagram.
 */
export class RealNode extends TypedEmitter<RealNodeEvents> implements ConsensusNode {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  /** The raftos-style files, when the node stores to a folder. */
  readonly files: RaftosFileNames | null;
  readonly maxDatagramBytes: number;

  private readonly node: RaftCore;
  private readonly transport: UdpTransport;
  private readonly storage: Storage;
  private readonly ownsStorage: boolean;
  private machine = new KeyValueStateMachine();
  private readonly snapshotEvery: number | null;
  private readonly security: Security | undefined;
  /** Who may send to this node: the members it started with and every member of its configuration since. */
  private readonly peerSet: Set<NodeId>;
  private configSeen: object | null = null;
  private readonly proposals: ProposalTracker;
  private readonly admin: AdminService;
  /** Bytes of an AppendEntries datagram with one entry, not counting the entry's command. */
  private readonly appendOverheadBytes: number;
  private readonly counters = {
    datagramsReceived: 0,
    datagramsSent: 0,
    dropped: Object.fromEntries(dropReasons.map((r) => [r, 0])) as Record<DropReason, number>,
    splitAppends: 0,
    unsendable: 0,
  };
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** The Readies of this event-loop turn, merged, waiting for flush() (group commit). */
  private batch: ReadyBatch | null = null;
  private flushImmediate: NodeJS.Immediate | null = null;
  private readonly maxEntriesPerAppend: number;
  private readonly leaderWritesWhileSending: boolean;
  /** The leader's appends go to disk in the background and are reported to the core with logDurable(). */
  private writesInParallel = false;
  /** Background appends not yet durable: until none is, a Ready that needs another kind of write waits. */
  private backgroundAppends = 0;
  private readonly reads: ReadTracker;
  private readonly electionTimeoutMax: number;
  private armedFor = NaN;
  private knownLeader: NodeId | null = null;
  private stopping: Promise<void> | null = null;
  private failed: Error | null = null;
  private readonly stopWaiters = new Set<() => void>();
  /** raftos's .state_machine, rewritten after applies; null without a folder. */
  private readonly stateMachineFile: WriteBehind<Record<string, unknown>> | null;

  private constructor(
    options: RealNodeOptions,
    peers: readonly NodeId[],
    storage: Storage,
    ownsStorage: boolean,
    node: RaftCore,
    transport: UdpTransport,
    maxDatagramBytes: number,
  ) {
    super();
    this.id = options.id;
    this.peers = peers;
    this.peerSet = new Set(peers);
    this.storage = storage;
    this.ownsStorage = ownsStorage;
    this.files = storage instanceof FileStorage ? storage.files : null;
    this.node = node;
    this.transport = transport;
    this.security = options.security;
    this.maxDatagramBytes = maxDatagramBytes;
    this.maxEntriesPerAppend = options.maxEntriesPerAppend ?? defaultMaxEntriesPerAppend;
    this.leaderWritesWhileSending = options.leaderWritesWhileSending ?? true;
    this.proposals = new ProposalTracker(options.id, proposalErrors);
    this.reads = new ReadTracker(options.id, readErrors);
    this.electionTimeoutMax = options.timings?.electionTimeout?.max ?? defaultTimings.electionTimeout.max;
    this.snapshotEvery = options.snapshotEvery ?? null;
    if (this.snapshotEvery !== null && !(Number.isInteger(this.snapshotEvery) && this.snapshotEvery >= 1)) {
      throw new RangeError(`options.snapshotEvery must be a positive integer, got ${String(options.snapshotEvery)}`);
    }
    this.appendOverheadBytes = RealNode.appendOverhead(options.id, options.security);
    this.stateMachineFile = storage instanceof FileStorage
      ? new WriteBehind(() => this.machine.toJSON(), (dict) => storage.saveStateMachineAsync(dict), (err) => this.fail(err), stateMachineWriteIntervalMs)
      : null;
    this.admin = new AdminService(this, (to, reply) => transport.sendTo(to, encodeAdminReply(reply, this.security)), options.membershipTimeoutMs ?? 10_000);
    transport.onDatagram((buf, from) => this.onDatagram(buf, from));
  }

  /**
   * Load this node's files (a restarted node carries on from them), bind its UDP port and start the clock.
   * Rejects with a RaftFileError naming file and line for a corrupt file, or an Error naming the address
   * when the port cannot be bound; nothing is left open then.
   */
  static async start(options: RealNodeOptions): Promise<RealNode> {
    parseNodeId(options.id, 'options.id');
    if (!Array.isArray(options.peers)) throw new TypeError('options.peers must be an array of "host:port" ids');
    options.peers.forEach((p, i) => parseNodeId(p, `options.peers[${i}]`));
    const peers = [...new Set(options.peers)].filter((p) => p !== options.id);
    const maxDatagramBytes = options.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM;
    if (!Number.isInteger(maxDatagramBytes) || maxDatagramBytes < 512 || maxDatagramBytes > UDP_MAX_PAYLOAD) {
      throw new RangeError(`options.maxDatagramBytes must be an integer in 512..${UDP_MAX_PAYLOAD}, got ${maxDatagramBytes}`);
    }
    if (options.security !== undefined) deriveKeys(options.security.secret);

    let storage: Storage;
    let ownsStorage = true;
    if (options.storage) {
      storage = options.storage;
      ownsStorage = false;
    } else if (options.dir !== undefined) {
      if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError('options.dir must be a folder path');
      storage = new FileStorage(options.dir, options.id, { fsync: options.fsync ?? true, jsonStyle: options.jsonStyle ?? 'python' });
    } else {
      storage = new MemoryStorage();
    }
    const transport = new UdpTransport(options.id);
    // The leader's own log write off the event loop pays where there is an fsync to wait for.
    const writesInParallel = (options.leaderWritesWhileSending ?? true) && storage instanceof FileStorage && storage.fsync;
    try {
      const persisted = storage.load();
      // Not used to seed the state machine (entries are re-applied as the commit index is learnt, as in
      // raftos), but a corrupt .state_machine should stop the start like any other corrupt file.
      if (storage instanceof FileStorage) storage.loadStateMachine();
      const node = (options.createNode ?? createRaftNode)(
        {
          // A chunk of snapshot state fits a datagram even at 3 bytes per character (UTF-8) after the header.
          snapshotChunkChars: Math.floor((maxDatagramBytes - 400) / 3),
          ...raftOptionsFor(options.id, peers, options.random ?? Math.random, options),
          ...(writesInParallel ? { leaderWritesInParallel: true } : {}),
          ...(options.joining ? { joining: true } : {}),
        },
        persisted,
        performance.now(),
      );
      const real = new RealNode(options, peers, storage, ownsStorage, node, transport, maxDatagramBytes);
      real.writesInParallel = writesInParallel && typeof node.logDurable === 'function';
      // A snapshot holds the state machine up to its index; the entries after it are applied again as they commit.
      if (persisted.snapshot) real.machine = KeyValueStateMachine.fromSnapshot(persisted.snapshot.state);
      await transport.start();
      real.arm();
      return real;
    } catch (err) {
      await transport.close();
      if (ownsStorage && storage instanceof FileStorage) storage.close();
      throw err;
    }
  }

  // ---- What a client may read ----

  /** This node when it leads; the leader it heard from when it follows; null when it knows none (or is stopped). */
  get leader(): NodeId | null {
    return this.stopping ? null : this.node.leaderId;
  }
  /** raftos's get_leader(). */
  getLeader(): NodeId | null {
    return this.leader;
  }
  /** 'down' once stopped. */
  get role(): Role | 'down' {
    return this.stopping ? 'down' : this.node.role;
  }
  get term(): number {
    return this.node.currentTerm;
  }
  get commitIndex(): number {
    return this.node.commitIndex;
  }
  get lastApplied(): number {
    return this.node.lastApplied;
  }
  /** The last index this node's snapshot covers (0 without one); `log` holds the entries after it. */
  get snapshotIndex(): number {
    return this.node.snapshotIndex;
  }

  get log(): readonly LogEntry[] {
    return this.node.log;
  }
  /** A copy of the replicated dictionary ({"data_id": 3}). */
  get stateMachine(): Record<string, unknown> {
    return this.machine.toJSON();
  }
  /** The value this node has applied for `key` (may lag behind the leader). */
  readLocal(key: string): unknown {
    return this.machine.get(key);
  }
  get stats(): RealNodeStats {
    return {
      datagramsReceived: this.counters.datagramsReceived,
      datagramsSent: this.counters.datagramsSent,
      dropped: { ...this.counters.dropped },
      sendErrors: this.transport.sendErrors,
      splitAppends: this.counters.splitAppends,
      unsendable: this.counters.unsendable,
    };
  }
  /** Writes and fsyncs done by the node's files (null when it does not store to a folder). */
  get storageStats(): FileStorage['stats'] | null {
    return this.storage instanceof FileStorage ? { ...this.storage.stats } : null;
  }
  /**
   * Resolves once the files hold everything so far: a leader's own entries (written in the background, so a
   * write may be committed by the followers first) and the .state_machine (written behind the applies).
   */
  async filesWritten(): Promise<void> {
    if (this.storage instanceof FileStorage) await this.storage.backgroundSettled();
    await this.stateMachineFile?.settle();
  }
  get isRunning(): boolean {
    return this.stopping === null;
  }
  /** Why the node stopped itself, if it did (see the 'fatal' event). */
  get failure(): Error | null {
    return this.failed;
  }

  // ---- Client requests ----

  /**
   * Replicate `command` (a dict such as {"data_id": 1}). Resolves once the entry is committed and applied
   * on this node. Rejects at once with NotLeaderError on a follower (writes are not forwarded, as in
   * raftos), with ProposalTimeoutError after `timeoutMs`, with EntryOverwrittenError if another
   * entry was committed at its index, with NodeStoppedError if the node stops first.
   */
  propose(command: Command, options: ProposeOptions = {}): Promise<Committed> {
    const timeoutMs = options.timeoutMs ?? 5000;
    if (this.stopping) return Promise.reject(this.stoppedError());
    if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1)) {
      return Promise.reject(new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`));
    }
    if (command !== null && (typeof command !== 'object' || Array.isArray(command))) {
      return Promise.reject(new TypeError('command must be an object such as {"data_id": 1} (or null)'));
    }
    const problem = jsonValueProblem(command);
    if (problem !== null) return Promise.reject(new TypeError(`command ${problem}`));
    // A copy, so the log does not change if the caller later mutates its object; one made by copyCommand
    // (Replicated's) is already private and knows its size.
    let entryCommand = command;
    let bytes = copiedCommandBytes(command);
    if (bytes === undefined) {
      entryCommand = copyCommand(command);
      bytes = copiedCommandBytes(entryCommand)!;
    }
    const size = this.appendOverheadBytes + bytes;
    if (size > this.maxDatagramBytes) {
      return Promise.reject(new RangeError(`command too large: it needs a ${size}-byte datagram, maxDatagramBytes is ${this.maxDatagramBytes}`));
    }

    const outcome = this.node.propose(entryCommand, performance.now());
    if (!outcome.accepted) {
      this.process(outcome.ready);
      return Promise.reject(new NotLeaderError(this.id, outcome.leaderId));
    }
    // Tracked before its Ready is processed: in a one-node cluster the entry commits and applies within it.
    const tracked = this.proposals.track(outcome.index, outcome.term, timeoutMs, wallClockTimer);
    this.process(outcome.ready);
    return tracked.promise;
  }

  /**
   * A linearizable read barrier through ReadIndex (dissertation 6.4), writing nothing: resolves once this leader
   * has confirmed with a majority that it still leads and has applied every entry committed before the call,
   * so readLocal() then answers with what a read at this moment must see. A follower rejects with NotLeaderError.
   */
  read(options: ProposeOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    if (this.stopping) return Promise.reject(this.stoppedError());
    if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1)) {
      return Promise.reject(new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`));
    }
    const tracked = this.reads.begin(timeoutMs, wallClockTimer);
    const outcome = this.node.readIndex(tracked.id, performance.now());
    if (!outcome.accepted) this.reads.refuse(tracked, outcome.leaderId);
    this.process(outcome.ready);
    return tracked.promise.then(() => undefined);
  }

  /**
   * Hand the leadership to `to` (dissertation 3.10): it is brought up to date and told to campaign at once.
   * Resolves once this node knows `to` leads; rejects with TransferError when refused or not done within
   * `timeoutMs` (default: twice the longest election timeout). Proposals are refused meanwhile.
   */
  transferLeadership(to: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.stopping) return Promise.reject(this.stoppedError());
    const outcome = this.node.transferLeadership(to, performance.now());
    this.process(outcome.ready);
    if (!outcome.accepted) return Promise.reject(new TransferError(this.id, outcome.reason));
    const timeoutMs = options.timeoutMs ?? 2 * this.electionTimeoutMax;
    return this.waitUntilLeader(to, { timeoutMs }).catch((err: unknown) => {
      throw err instanceof WaitTimeoutError ? new TransferError(this.id, `${to} did not take over within ${timeoutMs} ms`) : err;
    });
  }

  /**
   * Log compaction (section 7): write the state machine, as applied so far, to the .snapshot file and cut the
   * log before it. Returns the snapshot's last index. Done by itself past `snapshotEvery` entries.
   */
  takeSnapshot(): number {
    if (this.stopping) throw this.stoppedError();
    if (this.node.lastApplied > this.node.snapshotIndex) {
      this.run(() => this.node.snapshot(this.node.lastApplied, this.machine.snapshotState(), performance.now()));
    }
    return this.node.snapshotIndex;
  }

  /** Membership changes widen who may send to this node (a removed member is still heard: it may not know yet). */
  private learnMembers(): void {
    const config = this.node.configuration;
    if (config === this.configSeen) return;
    this.configSeen = config;
    for (const m of [...config.voters, ...config.learners]) if (m !== this.id) this.peerSet.add(m);
  }

  /** The configuration in effect here: voters and learners (dissertation chapter 4). */
  get configuration(): Configuration {
    return this.node.configuration;
  }

  /**
   * Add server `id` (a RealNode started with `joining: true` and this cluster's members as `peers`): it catches up
   * as a learner, then votes. Resolves once it is a voter of the committed configuration; MembershipError else.
   */
  async addServer(id: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    parseNodeId(id, 'id');
    try {
      await this.changeMembership(() => this.node.addServer(id, performance.now()), () => this.node.configuration.voters.includes(id), options.timeoutMs);
    } catch (error) {
      if (!(error instanceof MembershipError) || this.stopping || this.node.role !== 'leader' || !this.node.configuration.learners.includes(id)) throw error;
      throw await abortAddition(this.id, error, id, () => this.removeServer(id, options));
    }
  }

  /** Remove server `id` (not this leader: transfer the leadership first). Resolves once the change is committed. */
  async removeServer(id: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.changeMembership(() => this.node.removeServer(id, performance.now()), () => !this.node.configuration.voters.includes(id) && !this.node.configuration.learners.includes(id), options.timeoutMs);
  }

  private async changeMembership(change: () => MembershipOutcome, done: () => boolean, timeoutMs = 5000): Promise<void> {
    if (this.stopping) throw this.stoppedError();
    const outcome = change();
    this.process(outcome.ready);
    if (!outcome.accepted) throw new MembershipError(this.id, outcome.reason);
    this.learnMembers();
    // A learner becomes a voter by a second entry the leader appends by itself: wait for that one too.
    await this.whileLeading(() => done() && this.node.commitIndex >= this.node.lastIndex && this.node.commitIndex >= outcome.index, timeoutMs);
  }

  /**
   * Resolves once `settled()` holds, checked after each flush that applied entries (commits are learnt there) or
   * changed the role; rejects at once with MembershipError if this node stops leading, after `timeoutMs` if not settled.
   */
  private whileLeading(settled: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.off('apply', check);
        this.off('role', check);
        this.stopWaiters.delete(onStop);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (this.node.role !== 'leader') finish(new MembershipError(this.id, 'stopped leading before the change was committed'));
        else if (settled()) finish();
      };
      const onStop = () => finish(this.stoppedError());
      const timer = setTimeout(() => finish(new MembershipError(this.id, `the change was not committed within ${timeoutMs} ms`)), timeoutMs);
      this.on('apply', check);
      this.on('role', check);
      this.stopWaiters.add(onStop);
      check();
    });
  }

  /** raftos's wait_until_leader(): resolves once this node names `leader` as leader. */
  waitUntilLeader(leader: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (this.stopping) return Promise.reject(this.stoppedError());
    if (this.leader === leader) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.off('leader', onLeader);
        this.stopWaiters.delete(onStop);
        if (error) reject(error);
        else resolve();
      };
      const onLeader = (id: NodeId | null) => {
        if (id === leader) finish();
      };
      const onStop = () => finish(this.stoppedError());
      const timer = setTimeout(() => finish(new WaitTimeoutError(`${this.id} to see ${leader} as leader`, timeoutMs)), timeoutMs);
      this.on('leader', onLeader);
      this.stopWaiters.add(onStop);
    });
  }

  /** Close the socket, timers and files. Pending proposals reject with NodeStoppedError. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    // What the core decided so far is persisted and sent, as if the turn had ended (after a storage
    // failure the batch was already dropped).
    this.flush();
    if (this.stopping) return this.stopping;
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    this.flushImmediate = null;
    // A batch flush() held back behind background appends: written and sent once they are durable.
    const held = this.batch;
    this.batch = null;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.proposals.stopAll(() => this.stoppedError());
    this.reads.stopAll(() => this.stoppedError());
    for (const wake of [...this.stopWaiters]) wake();
    this.stopping = (async () => {
      if (this.storage instanceof FileStorage) await this.storage.backgroundSettled();
      if (held !== null && this.failed === null) {
        try {
          persistReady(this.storage, held);
          for (const out of coalesceMessages(held.messages, this.maxEntriesPerAppend)) this.send(out.to, out.message);
        } catch (err) {
          this.failed = err instanceof Error ? err : new Error(String(err));
        }
      }
      await this.transport.close();
      await this.stateMachineFile?.settle();
      if (this.ownsStorage && this.storage instanceof FileStorage) this.storage.close();
    })();
    return this.stopping;
  }

  // ---- Driving the core ----

  private onDatagram(buf: Buffer, from: { readonly address: string; readonly port: number }): void {
    if (this.stopping) return;
    this.counters.datagramsReceived++;
    this.learnMembers();
    const decoded = decodeIncoming(buf, { security: this.security, peers: this.peerSet, maxBytes: this.maxDatagramBytes });
    if (!decoded.ok) {
      this.counters.dropped[decoded.reason]++;
      return;
    }
    if ('admin' in decoded) {
      this.admin.handle(decoded.admin, { host: from.address, port: from.port });
      return;
    }
    const m = decoded.message;
    // No correct follower claims to hold more than the leader's log, and the core would trust such a claim
    // (its nextIndex would pass the end of the log, and it would send AppendEntries without a prevLogTerm).
    if (m.type === 'AppendEntriesReply' && m.matchIndex > this.node.lastIndex) {
      this.counters.dropped.malformed++;
      return;
    }
    this.run(() => this.node.step(decoded.from, decoded.message, performance.now()));
  }

  private onTimer(): void {
    this.timer = null;
    this.armedFor = NaN;
    if (this.stopping) return;
    // Node runs timers before it reads sockets. After a pause (GC, a busy process, several nodes in one
    // process) the leader's heartbeat may already be waiting in the socket buffer: read it first
    // (setImmediate runs after the I/O phase), then act on whatever is still due.
    this.immediate = setImmediate(() => {
      this.immediate = null;
      if (this.stopping) return;
      this.run(() => this.node.tick(performance.now()));
      // Already after this turn's I/O: no reason to wait for another one.
      this.flush();
    });
  }

  private run(call: () => Ready): void {
    let ready: Ready;
    try {
      ready = call();
    } catch (err) {
      // Validated input cannot make a correct core throw; if it does, stopping beats running on in an unknown state.
      this.fail(err);
      return;
    }
    this.process(ready);
  }

  /** Add a Ready to this turn's batch; flush() handles it at the end of the turn. */
  private process(ready: Ready): void {
    if (this.stopping) return;
    // Rejections need no disk: a deposed leader's or an overwritten proposal is rejected now; resolving waits for flush().
    this.proposals.onReady(ready, this.node.commitIndex);
    if (this.batch === null) this.batch = emptyBatch();
    try {
      mergeReady(this.batch, ready);
    } catch (err) {
      this.batch = null;
      this.fail(err);
      return;
    }
    if (this.flushImmediate === null) {
      this.flushImmediate = setImmediate(() => {
        this.flushImmediate = null;
        this.flush();
      });
    }
    this.arm();
  }

  /** The driver's half of the Ready contract, for the whole batch: persist, send, apply, then tell clients. */
  private flush(): void {
    const ready = this.batch;
    if (ready === null || this.stopping) return;
    // Dissertation 10.2.1: a leader may write its new entries to its disk in parallel with sending them, as long
    // as it counts itself toward a majority only once they are durable. Not so when the term or vote changed
    // (every message depends on them), and never for followers and candidates (their replies promise what
    // they have stored).
    const sendFirst = this.leaderWritesWhileSending && ready.hardState === undefined && this.node.role === 'leader';
    const log = ready.log !== undefined && ready.log.entries.length > 0 ? ready.log : undefined;
    const inBackground = sendFirst && this.writesInParallel && ready.snapshot === undefined &&
      (log === undefined || (this.storage as FileStorage).canAppendInBackground(log.from));
    // Any other write waits for the background appends, which it must not overtake; flushed once they are durable.
    if (!inBackground && this.backgroundAppends > 0) return;
    this.batch = null;
    const events: QueuedEvent[] = [];
    const messages = coalesceMessages(ready.messages, this.maxEntriesPerAppend);
    if (sendFirst) for (const out of messages) this.send(out.to, out.message);
    if (inBackground) {
      if (log) this.appendInBackground(log.from, log.entries);
    } else {
      // Without a background write the leader's write is synchronous: no reply is handled, so nothing is
      // committed or applied, before it returns.
      try {
        persistReady(this.storage, ready);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (this.writesInParallel && log && this.node.role === 'leader') {
        const last = log.from + log.entries.length - 1;
        this.run(() => this.node.logDurable!(last, performance.now()));
      }
    }
    if (!sendFirst) for (const out of messages) this.send(out.to, out.message);

    if (ready.snapshot) events.push(['snapshot', ready.snapshot.snapshot.index, ready.snapshot.restore]);
    if (ready.snapshot?.restore) {
      this.machine = KeyValueStateMachine.fromSnapshot(ready.snapshot.snapshot.state);
      this.stateMachineFile?.touch();
    }
    if (ready.apply.length > 0) {
      for (const { index, entry } of ready.apply) {
        this.machine.apply(entry.command);
        events.push(['apply', index, entry]);
      }
      for (const { index, entry } of ready.apply) this.proposals.onApplied(index, entry);
      // Derived state (a restart rebuilds it from the log), so the client need not wait for its file.
      this.stateMachineFile?.touch();
    }
    if (ready.reads) this.reads.onReady(ready);
    if (this.snapshotEvery !== null && this.node.lastApplied - this.node.snapshotIndex >= this.snapshotEvery) this.takeSnapshot();

    for (const note of ready.notes) if (note.kind === 'role') events.push(['role', note.role, note.term]);
    const leader = this.node.leaderId;
    if (leader !== this.knownLeader) {
      this.knownLeader = leader;
      events.push(['leader', leader]);
    }
    this.arm();
    for (const [name, ...args] of events) (this.emit as (e: string, ...a: unknown[]) => void)(name, ...args);
  }

  private appendInBackground(from: number, entries: readonly LogEntry[]): void {
    const last = from + entries.length - 1;
    this.backgroundAppends++;
    (this.storage as FileStorage).appendInBackground(from, entries).then(
      () => {
        this.backgroundAppends--;
        if (this.stopping) return;
        this.run(() => this.node.logDurable!(last, performance.now()));
      },
      (err: unknown) => {
        this.backgroundAppends--;
        this.fail(err);
      },
    );
  }

  /** One datagram per message; an AppendEntries too big for one is split into consecutive halves. */
  private send(to: NodeId, message: Message): void {
    const buf = encodeDatagram(this.id, message, this.security);
    if (buf.length <= this.maxDatagramBytes) {
      this.transport.send(to, buf);
      this.counters.datagramsSent++;
      return;
    }
    if (message.type === 'AppendEntries' && message.entries.length > 1) {
      const half = Math.ceil(message.entries.length / 2);
      this.counters.splitAppends++;
      this.send(to, { ...message, entries: message.entries.slice(0, half) });
      this.send(to, {
        ...message,
        prevLogIndex: message.prevLogIndex + half,
        prevLogTerm: message.entries[half - 1]!.term,
        entries: message.entries.slice(half),
      });
      return;
    }
    this.counters.unsendable++;
  }

  /** The datagram an AppendEntries carrying one entry needs beyond its command's JSON, whatever the indexes by then. */
  private static appendOverhead(id: NodeId, security: Security | undefined): number {
    const big = Number.MAX_SAFE_INTEGER;
    const probe: AppendEntries = {
      type: 'AppendEntries',
      term: big,
      leaderId: id,
      prevLogIndex: big,
      prevLogTerm: big,
      entries: [{ term: big, command: null }],
      leaderCommit: big,
    };
    return encodeDatagram(id, probe, security).length - 'null'.length;
  }

  /** One timer, always set for the core's next deadline. */
  private arm(): void {
    if (this.stopping) return;
    const deadline = this.node.nextDeadline();
    if (deadline === this.armedFor && this.timer !== null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = deadline;
    if (!Number.isFinite(deadline)) return;
    const delay = Math.max(0, Math.ceil(deadline - performance.now()));
    this.timer = setTimeout(() => this.onTimer(), delay);
  }

  private stoppedError(): NodeStoppedError {
    const error = new NodeStoppedError(this.id);
    if (this.failed) {
      error.message += ` (${this.failed.message})`;
      (error as { cause?: unknown }).cause = this.failed;
    }
    return error;
  }

  private fail(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.stopping) return;
    this.failed = error;
    void this.stop();
    this.emit('fatal', error);
  }
}

// ---- Group commit: merging Readies, coalescing messages ----
