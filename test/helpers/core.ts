/**
 * Small helpers for driving RaftNode by hand, in the spirit of etcd's raft_paper_test.go:
 * build a node, feed it messages with step(), fire its timers with tick(), and read the Ready it returns.
 * `Wire` is a hand-cranked network for the few tests that need several nodes talking; every Ready it
 * carries is persisted to a MemoryStorage and checked against the persistence contract.
 */
import { strict as assert } from 'node:assert';
import { RaftNode, type RaftOptions } from '../../lib/raft/node';
import { MemoryStorage, persistReady } from '../../lib/raft/storage';
import { Rng } from '../../lib/sim/rng';
import type {
  AppendEntries,
  AppendEntriesReply,
  AppliedEntry,
  Command,
  LogEntry,
  Message,
  MessageType,
  NodeId,
  PersistentState,
  Ready,
  RequestVote,
  RequestVoteReply,
} from '../../lib/raft/types';

export const n1 = 'n1';
export const n2 = 'n2';
export const n3 = 'n3';
export const n4 = 'n4';
export const n5 = 'n5';

/** Node ids n1..nk. */
export function nodeIds(count: number): NodeId[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}

/** A seeded random function: the only randomness a core may use. */
export function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

export interface NodeSetup extends Partial<Omit<RaftOptions, 'id' | 'peers' | 'random'>> {
  /** Cluster size (ids n1..nk), default 3. Ignored when `peers` is given. */
  readonly size?: number;
  readonly peers?: readonly NodeId[];
  readonly seed?: number;
  readonly persisted?: PersistentState;
  readonly now?: number;
}

/** A RaftNode named `id` in a cluster of n1..n<size>, seeded, optionally restarted from `persisted`. */
export function makeNode(id: NodeId, setup: NodeSetup = {}): RaftNode {
  const { size, peers, seed, persisted, now, ...options } = setup;
  const all = peers ?? nodeIds(size ?? 3);
  return new RaftNode(
    { ...options, id, peers: all.filter((p) => p !== id), random: seeded(seed ?? 1) },
    persisted,
    now ?? 0,
  );
}

/** Entries with the given terms and distinct commands {x: 1}, {x: 2}, ... (in log order). */
export function entries(...terms: number[]): LogEntry[] {
  return terms.map((term, i) => ({ term, command: { x: i + 1 } }));
}

/** A persisted state: `term`, an optional vote, and a log with the given entry terms. */
export function persisted(term: number, logTerms: number[] = [], votedFor: NodeId | null = null): PersistentState {
  return { currentTerm: term, votedFor, log: entries(...logTerms) };
}

// ---- Messages in ----

export function requestVote(
  term: number,
  candidateId: NodeId,
  lastLogIndex = 0,
  lastLogTerm = 0,
  preVote = false,
): RequestVote {
  return preVote
    ? { type: 'RequestVote', term, candidateId, lastLogIndex, lastLogTerm, preVote: true }
    : { type: 'RequestVote', term, candidateId, lastLogIndex, lastLogTerm };
}

export function voteReply(term: number, voteGranted: boolean, preVote = false): RequestVoteReply {
  return preVote ? { type: 'RequestVoteReply', term, voteGranted, preVote: true } : { type: 'RequestVoteReply', term, voteGranted };
}

export function appendEntries(fields: Partial<AppendEntries> & { term: number; leaderId: NodeId }): AppendEntries {
  return { type: 'AppendEntries', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, ...fields };
}

export function appendReply(term: number, success: boolean, matchIndex: number, hint: { conflictIndex?: number; conflictTerm?: number } = {}): AppendEntriesReply {
  return { type: 'AppendEntriesReply', term, success, matchIndex, ...hint };
}

// ---- Messages out ----

type Of<T extends MessageType> = Extract<Message, { type: T }>;

/** The messages of one type a Ready sends, with their destination. */
export function sent<T extends MessageType>(ready: Ready, type: T): { to: NodeId; message: Of<T> }[] {
  return ready.messages.filter((m) => m.message.type === type) as { to: NodeId; message: Of<T> }[];
}

/** The single message a Ready sends (fails unless there is exactly one, of that type). */
export function onlyMessage<T extends MessageType>(ready: Ready, type: T): Of<T> {
  assert.equal(ready.messages.length, 1, `expected one message, got ${JSON.stringify(ready.messages)}`);
  const m = ready.messages[0]!.message;
  assert.equal(m.type, type);
  return m as Of<T>;
}

export function destinations(ready: Ready): NodeId[] {
  return ready.messages.map((m) => m.to).sort();
}

// ---- Roles by hand ----

/** Make `id` a candidate at `now` (its election timer fires, or campaign() when preVote would get in the way). */
export function candidate(id: NodeId, setup: NodeSetup = {}): { node: RaftNode; ready: Ready } {
  const node = makeNode(id, setup);
  const ready = node.campaign(setup.now ?? 0);
  assert.equal(node.role, 'candidate');
  return { node, ready };
}

/**
 * Make `id` the leader: it campaigns and the first majority of its peers grant their votes.
 * Returns the Ready of the winning vote (the one with the first heartbeats).
 */
export function leader(id: NodeId, setup: NodeSetup = {}): { node: RaftNode; ready: Ready } {
  const now = setup.now ?? 0;
  const node = makeNode(id, setup);
  let ready = node.campaign(now);
  const voters = node.peers.slice(0, Math.floor(node.clusterSize / 2));
  for (const voter of voters) ready = node.step(voter, voteReply(node.currentTerm, true), now);
  assert.equal(node.role, 'leader', `${id} should have won`);
  return { node, ready };
}

// ---- Persistence contract ----

/**
 * Persist `ready` into `storage` and check the contract: afterwards storage holds exactly the node's
 * term, vote and log, and every message is backed by what is on disk (a node speaks in the term it
 * persisted; a vote it grants or asks for is persisted; entries it sends or acknowledges are persisted).
 */
export function persistAndCheck(node: RaftNode, storage: MemoryStorage, ready: Ready, context = ''): void {
  persistReady(storage, ready);
  const where = `${node.id}${context ? ` (${context})` : ''}`;
  assert.deepEqual(storage.hardState, node.hardState, `${where}: hard state changed but the Ready did not carry it`);
  assert.deepEqual(storage.log, node.log, `${where}: log changed but the Ready did not carry it`);
  const disk = storage.hardState;
  for (const { to, message } of ready.messages) {
    const what = `${where} -> ${to}: ${JSON.stringify(message)}`;
    const preVote = (message.type === 'RequestVote' || message.type === 'RequestVoteReply') && message.preVote === true;
    if (!preVote) assert.equal(message.term, disk.currentTerm, `${what} is not in the persisted term`);
    switch (message.type) {
      case 'RequestVote':
        if (!preVote) assert.equal(disk.votedFor, node.id, `${what}: candidate's own vote not persisted`);
        break;
      case 'RequestVoteReply':
        if (!preVote && message.voteGranted) assert.equal(disk.votedFor, to, `${what}: granted vote not persisted`);
        break;
      case 'AppendEntries': {
        const termAt = (i: number) => (i === 0 ? 0 : storage.log[i - 1]?.term);
        assert.equal(termAt(message.prevLogIndex), message.prevLogTerm, `${what}: prevLog not on disk`);
        assert.deepEqual(storage.log.slice(message.prevLogIndex, message.prevLogIndex + message.entries.length), [...message.entries], `${what}: entries not on disk`);
        break;
      }
      case 'AppendEntriesReply':
        if (message.success) assert.ok(storage.log.length >= message.matchIndex, `${what}: acknowledged entries not on disk`);
        break;
    }
  }
}

// ---- A hand-cranked network ----

export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: Message;
}

export type WireSetup = Omit<NodeSetup, 'size' | 'peers' | 'seed' | 'persisted' | 'now'>;

/**
 * Several RaftNodes and the messages between them, moved only when a test says so.
 * Every Ready is persisted and checked with persistAndCheck; applied entries are recorded per node.
 */
export class Wire {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly storage = new Map<NodeId, MemoryStorage>();
  readonly applied = new Map<NodeId, AppliedEntry[]>();
  /** Messages sent and not yet delivered or dropped. */
  inFlight: Envelope[] = [];
  /** Every message delivered so far. */
  readonly delivered: Envelope[] = [];
  /** Nodes cut off from everyone: what they send and what is sent to them is dropped. */
  readonly isolated = new Set<NodeId>();
  now = 0;

  constructor(
    readonly ids: readonly NodeId[],
    private readonly setup: WireSetup = {},
    initial: Readonly<Record<NodeId, PersistentState>> = {},
  ) {
    ids.forEach((id, i) => {
      const state = initial[id];
      this.storage.set(id, new MemoryStorage(state));
      this.applied.set(id, []);
      this.nodes.set(id, makeNode(id, { ...setup, peers: ids, seed: i + 1, ...(state ? { persisted: state } : {}) }));
    });
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    if (!node) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** Persist, check, queue the messages, record the applies. */
  take(id: NodeId, ready: Ready, context = ''): Ready {
    persistAndCheck(this.node(id), this.storage.get(id)!, ready, context);
    for (const { to, message } of ready.messages) {
      if (this.isolated.has(id) || this.isolated.has(to)) continue;
      this.inFlight.push({ from: id, to, message });
    }
    this.applied.get(id)!.push(...ready.apply);
    return ready;
  }

  /** Advance the clock to `now` and tick every node (so timers that are due fire). */
  tickAll(now: number): void {
    this.now = now;
    for (const id of this.ids) this.take(id, this.node(id).tick(now), `tick ${now}`);
  }

  /** Advance the clock to `id`'s next deadline and fire only that node's timer. */
  fire(id: NodeId): Ready {
    this.now = Math.max(this.now, this.node(id).nextDeadline());
    return this.take(id, this.node(id).tick(this.now), 'timer');
  }

  campaign(id: NodeId): Ready {
    return this.take(id, this.node(id).campaign(this.now), 'campaign');
  }

  propose(id: NodeId, command: Command): number {
    const outcome = this.node(id).propose(command, this.now);
    this.take(id, outcome.ready, 'propose');
    assert.ok(outcome.accepted, `${id} refused the proposal`);
    return outcome.index;
  }

  /** Deliver every message in flight, and what they cause, until the network is quiet (all at time `now`). */
  settle(maxMessages = 10_000): number {
    let count = 0;
    while (this.inFlight.length > 0) {
      const { from, to, message } = this.inFlight.shift()!;
      if (this.isolated.has(from) || this.isolated.has(to)) continue;
      this.delivered.push({ from, to, message });
      this.take(to, this.node(to).step(from, message, this.now), `${message.type} from ${from}`);
      if (++count > maxMessages) throw new Error('the network did not settle');
    }
    return count;
  }

  /** Restart `id` from what it persisted (volatile state lost). */
  restart(id: NodeId): RaftNode {
    const seed = 100 + this.ids.indexOf(id);
    const node = makeNode(id, { ...this.setup, peers: this.ids, seed, persisted: this.storage.get(id)!.load(), now: this.now });
    this.nodes.set(id, node);
    this.inFlight = this.inFlight.filter((m) => m.to !== id);
    return node;
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).role === 'leader');
  }
}
