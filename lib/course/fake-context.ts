import type { Handlers, NodeConfig, NodeContext } from '../raft/context';
import { figure2Handlers } from '../raft/handlers';
import { MemoryLog } from '../raft/log';
import { defaultMaxEntriesPerAppend } from '../raft/node';
import { figure2Rules, type RaftRules } from '../raft/rules';
import type { LogEntry, Message, NodeId, Role } from '../raft/types';

/**
 * A NodeContext made of plain data, for checking one handler at a time: it records, in order, every message
 * sent, every persist, timer reset, role change, apply and call of another handler, so a check can say "granted,
 * persisted before replying, reset the timer":
 *
 *   const ctx = fakeContext({ currentTerm: 2, log: [1, 1, 2] });
 *   onRequestVote(ctx, 'S2', { type: 'RequestVote', term: 3, candidateId: 'S2', lastLogIndex: 3, lastLogTerm: 2 });
 *   ctx.sent('RequestVoteReply')[0].message.voteGranted   // true
 *   ctx.sentBeforePersist()                               // [] : everything was persisted before it went out
 *   ctx.count('resetElectionTimer')                       // 1
 */

export interface FakeState {
  /** Default 'S1'. */
  readonly id?: NodeId;
  /** Default ['S2', 'S3']. */
  readonly peers?: readonly NodeId[];
  readonly role?: Role;
  readonly currentTerm?: number;
  readonly votedFor?: NodeId | null;
  /** Entries, or just their terms (commands are then { index }). */
  readonly log?: readonly (LogEntry | number)[];
  readonly commitIndex?: number;
  readonly lastApplied?: number;
  readonly leaderId?: NodeId | null;
  readonly nextIndex?: Readonly<Record<NodeId, number>>;
  readonly matchIndex?: Readonly<Record<NodeId, number>>;
  readonly votes?: readonly NodeId[];
  readonly rules?: Partial<RaftRules>;
  readonly config?: Partial<NodeConfig>;
}

export interface FakeOptions {
  /**
   * What ctx.sendAppendEntries / advanceCommitIndex / applyCommitted do after being recorded: 'reference' (the
   * reference handlers, default), 'record' (nothing more), or these handlers (the student's, say).
   */
  readonly others?: 'reference' | 'record' | Partial<Handlers>;
}

export interface PersistentSnapshot {
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly log: readonly LogEntry[];
}

export type FakeEvent =
  /** `unpersisted` names the persistent state that differed from what was last persisted when it went out. */
  | { readonly kind: 'send'; readonly to: NodeId; readonly message: Message; readonly unpersisted: readonly ('currentTerm' | 'votedFor' | 'log')[] }
  | { readonly kind: 'persist'; readonly state: PersistentSnapshot }
  | { readonly kind: 'resetElectionTimer' }
  | { readonly kind: 'role'; readonly role: Role; readonly reason?: string }
  | { readonly kind: 'apply'; readonly index: number; readonly entry: LogEntry | undefined; readonly inOrder: boolean }
  | { readonly kind: 'set'; readonly field: 'currentTerm' | 'votedFor' | 'commitIndex' | 'lastApplied' | 'leaderId'; readonly value: unknown }
  | { readonly kind: 'call'; readonly handler: 'sendAppendEntries' | 'advanceCommitIndex' | 'applyCommitted'; readonly peer?: NodeId };

export type FakeEventKind = FakeEvent['kind'];

export interface FakeContext extends NodeContext {
  /** Everything the handler did, in order. */
  readonly events: readonly FakeEvent[];
  /** What stable storage holds (the initial state until persist() is called). */
  readonly persisted: PersistentSnapshot;
  /** The messages sent (of one type), in order. */
  sent<T extends Message['type']>(type?: T): { to: NodeId; message: Extract<Message, { type: T }> }[];
  /** Messages that went out while currentTerm, votedFor or the log differed from stable storage. */
  sentBeforePersist(): Extract<FakeEvent, { kind: 'send' }>[];
  /** How many events of a kind. */
  count(kind: FakeEventKind): number;
  /** The kinds of the events, in order (e.g. ['set', 'persist', 'send']). */
  order(): FakeEventKind[];
  /** The indexes handed to apply(), in order. */
  appliedIndexes(): number[];
  /** The log's terms, index 1 first. */
  logTerms(): number[];
  /** Forget the events so far (state stays): check the next call alone. */
  clearEvents(): void;
}

const defaultConfig: NodeConfig = { maxEntriesPerAppend: defaultMaxEntriesPerAppend, preVote: false, checkQuorum: false, leaderNoop: false };

function snapshot(term: number, vote: NodeId | null, log: MemoryLog): PersistentSnapshot {
  return { currentTerm: term, votedFor: vote, log: [...log.all] };
}

function sameLog(a: readonly LogEntry[], b: readonly LogEntry[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i] || (e.term === b[i]!.term && JSON.stringify(e.command) === JSON.stringify(b[i]!.command)));
}

export function fakeContext(state: FakeState = {}, options: FakeOptions = {}): FakeContext {
  const id = state.id ?? 'S1';
  const peers = [...(state.peers ?? ['S1', 'S2', 'S3'].filter((p) => p !== id))];
  const entries = (state.log ?? []).map((e, i): LogEntry => (typeof e === 'number' ? { term: e, command: { index: i + 1 } } : e));
  const log = new MemoryLog(entries);
  const events: FakeEvent[] = [];
  const others = options.others ?? 'reference';
  const delegate: Partial<Handlers> = others === 'reference' ? figure2Handlers : others === 'record' ? {} : others;

  let role: Role = state.role ?? 'follower';
  let currentTerm = state.currentTerm ?? 0;
  let votedFor: NodeId | null = state.votedFor ?? null;
  let commitIndex = state.commitIndex ?? 0;
  let lastApplied = state.lastApplied ?? 0;
  let leaderId: NodeId | null = state.leaderId ?? null;
  let persisted = snapshot(currentTerm, votedFor, log);
  let appliedUpTo = lastApplied;
  const nextIndex = new Map(Object.entries(state.nextIndex ?? {}));
  const matchIndex = new Map(Object.entries(state.matchIndex ?? {}));
  const votes = new Set(state.votes ?? []);

  const set = (field: Extract<FakeEvent, { kind: 'set' }>['field'], value: unknown): void => {
    events.push({ kind: 'set', field, value });
  };

  const ctx: FakeContext = {
    id,
    peers,
    get role() { return role; },
    get currentTerm() { return currentTerm; },
    set currentTerm(v: number) { currentTerm = v; set('currentTerm', v); },
    get votedFor() { return votedFor; },
    set votedFor(v: NodeId | null) { votedFor = v; set('votedFor', v); },
    log,
    get commitIndex() { return commitIndex; },
    set commitIndex(v: number) { commitIndex = v; set('commitIndex', v); },
    get lastApplied() { return lastApplied; },
    set lastApplied(v: number) { lastApplied = v; set('lastApplied', v); },
    get leaderId() { return leaderId; },
    set leaderId(v: NodeId | null) { leaderId = v; set('leaderId', v); },
    nextIndex,
    matchIndex,
    votes,
    rules: { ...figure2Rules, ...state.rules },
    config: { ...defaultConfig, ...state.config },

    send(to: NodeId, message: Message) {
      const unpersisted: ('currentTerm' | 'votedFor' | 'log')[] = [];
      if (currentTerm !== persisted.currentTerm) unpersisted.push('currentTerm');
      if (votedFor !== persisted.votedFor) unpersisted.push('votedFor');
      if (!sameLog(log.all, persisted.log)) unpersisted.push('log');
      // A copy: a handler that changes the object after sending it does not rewrite what was sent.
      events.push({ kind: 'send', to, message: structuredClone(message), unpersisted });
    },
    persist() {
      persisted = snapshot(currentTerm, votedFor, log);
      events.push({ kind: 'persist', state: persisted });
    },
    resetElectionTimer() {
      events.push({ kind: 'resetElectionTimer' });
    },
    becomeFollower(reason?: string) {
      role = 'follower';
      votes.clear();
      nextIndex.clear();
      matchIndex.clear();
      events.push(reason === undefined ? { kind: 'role', role } : { kind: 'role', role, reason });
    },
    becomePreCandidate() {
      role = 'precandidate';
      votes.clear();
      events.push({ kind: 'role', role });
    },
    becomeCandidate() {
      role = 'candidate';
      votes.clear();
      leaderId = null;
      events.push({ kind: 'role', role });
    },
    becomeLeader() {
      role = 'leader';
      leaderId = id;
      events.push({ kind: 'role', role });
    },
    apply(index: number) {
      const inOrder = index === appliedUpTo + 1 && index <= commitIndex;
      if (inOrder) appliedUpTo = index;
      events.push({ kind: 'apply', index, entry: log.entryAt(index), inOrder });
    },
    sendAppendEntries(peer: NodeId) {
      events.push({ kind: 'call', handler: 'sendAppendEntries', peer });
      delegate.sendAppendEntries?.(ctx, peer);
    },
    advanceCommitIndex() {
      events.push({ kind: 'call', handler: 'advanceCommitIndex' });
      delegate.advanceCommitIndex?.(ctx);
    },
    applyCommitted() {
      events.push({ kind: 'call', handler: 'applyCommitted' });
      delegate.applyCommitted?.(ctx);
    },

    events,
    get persisted() { return persisted; },
    sent<T extends Message['type']>(type?: T) {
      return events
        .filter((e): e is Extract<FakeEvent, { kind: 'send' }> => e.kind === 'send' && (type === undefined || e.message.type === type))
        .map((e) => ({ to: e.to, message: e.message as Extract<Message, { type: T }> }));
    },
    sentBeforePersist() {
      return events.filter((e): e is Extract<FakeEvent, { kind: 'send' }> => e.kind === 'send' && e.unpersisted.length > 0);
    },
    count(kind: FakeEventKind) {
      return events.filter((e) => e.kind === kind).length;
    },
    order() {
      return events.map((e) => e.kind);
    },
    appliedIndexes() {
      return events.flatMap((e) => (e.kind === 'apply' ? [e.index] : []));
    },
    logTerms() {
      return log.all.map((e) => e.term);
    },
    clearEvents() {
      events.length = 0;
    },
  };
  return ctx;
}
