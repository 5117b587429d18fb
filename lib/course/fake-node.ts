import type { Handlers, NodeConfig, NodeContext } from '../raft/context';
import { figure2Handlers } from '../raft/handlers';
import { MemoryLog } from '../raft/log';
import { figure2Rules } from '../raft/rules';
import type { LogEntry, Message, NodeId, Role } from '../raft/types';

/**
 * One server's NodeContext on a table, for the notebooks' unit checks of one handler: set the state, call the
 * handler, read what it did (`events`, in order: sends, persists, timer resets, role changes, applies, and calls
 * of the other handlers). Nothing runs by itself: `ctx.sendAppendEntries(p)` is recorded, not sent, unless
 * `{ wire: true }` routes it to the reference handler (still recorded as sends).
 */
export type FakeEvent =
  | { readonly kind: 'send'; readonly to: NodeId; readonly message: Message }
  | { readonly kind: 'persist'; readonly currentTerm: number; readonly votedFor: NodeId | null; readonly logLength: number }
  | { readonly kind: 'resetElectionTimer' }
  | { readonly kind: 'role'; readonly role: Role }
  | { readonly kind: 'apply'; readonly index: number }
  | { readonly kind: 'sendAppendEntries'; readonly peer: NodeId }
  | { readonly kind: 'advanceCommitIndex' }
  | { readonly kind: 'applyCommitted' };

export interface FakeNodeState {
  readonly id?: NodeId;
  readonly peers?: readonly NodeId[];
  readonly role?: Role;
  readonly currentTerm?: number;
  readonly votedFor?: NodeId | null;
  /** The log as entries, or as a list of terms (commands are then { i: index }). */
  readonly log?: readonly (LogEntry | number)[];
  readonly commitIndex?: number;
  readonly lastApplied?: number;
  readonly leaderId?: NodeId | null;
  readonly nextIndex?: Readonly<Record<NodeId, number>>;
  readonly matchIndex?: Readonly<Record<NodeId, number>>;
  readonly votes?: readonly NodeId[];
  readonly config?: Partial<NodeConfig>;
  /** Route ctx.sendAppendEntries / advanceCommitIndex / applyCommitted to these handlers (default: record only). */
  readonly wire?: Partial<Pick<Handlers, 'sendAppendEntries' | 'advanceCommitIndex' | 'applyCommitted'>> | true;
}

export interface FakeNode extends NodeContext {
  readonly events: FakeEvent[];
  /** The messages sent, in order (optionally of one type). */
  sent(type?: Message['type']): { to: NodeId; message: Message }[];
  /** How many times persist() was called. */
  readonly persists: number;
  /** The index of the first event of this kind, or -1. */
  first(kind: FakeEvent['kind']): number;
  /** Terms of the log, index 1 first. */
  logTerms(): number[];
}

export const fakePeers = ['127.0.0.1:8001', '127.0.0.1:8002'] as const;

export function fakeNode(state: FakeNodeState = {}): FakeNode {
  const events: FakeEvent[] = [];
  const log = new MemoryLog((state.log ?? []).map((e, i) => (typeof e === 'number' ? { term: e, command: { i: i + 1 } } : e)));
  const wire = state.wire === true ? figure2Handlers : state.wire ?? {};
  let role: Role = state.role ?? 'follower';
  const config: NodeConfig = { maxEntriesPerAppend: 64, preVote: false, checkQuorum: false, leaderNoop: false, ...state.config };
  const ctx: FakeNode = {
    id: state.id ?? '127.0.0.1:8000',
    peers: state.peers ?? [...fakePeers],
    get role() {
      return role;
    },
    currentTerm: state.currentTerm ?? 1,
    votedFor: state.votedFor ?? null,
    log,
    commitIndex: state.commitIndex ?? 0,
    lastApplied: state.lastApplied ?? 0,
    leaderId: state.leaderId ?? null,
    nextIndex: new Map(Object.entries(state.nextIndex ?? {})),
    matchIndex: new Map(Object.entries(state.matchIndex ?? {})),
    votes: new Set(state.votes ?? []),
    rules: figure2Rules,
    config,
    send(to, message) {
      events.push({ kind: 'send', to, message: JSON.parse(JSON.stringify(message)) as Message });
    },
    persist() {
      events.push({ kind: 'persist', currentTerm: ctx.currentTerm, votedFor: ctx.votedFor, logLength: log.lastIndex });
    },
    resetElectionTimer() {
      events.push({ kind: 'resetElectionTimer' });
    },
    becomeFollower() {
      role = 'follower';
      ctx.votes.clear();
      ctx.nextIndex.clear();
      ctx.matchIndex.clear();
      events.push({ kind: 'role', role });
    },
    becomePreCandidate() {
      role = 'precandidate';
      ctx.votes.clear();
      events.push({ kind: 'role', role });
    },
    becomeCandidate() {
      role = 'candidate';
      ctx.votes.clear();
      ctx.leaderId = null;
      events.push({ kind: 'role', role });
    },
    becomeLeader() {
      role = 'leader';
      ctx.leaderId = ctx.id;
      events.push({ kind: 'role', role });
    },
    apply(index) {
      events.push({ kind: 'apply', index });
    },
    sendAppendEntries(peer) {
      events.push({ kind: 'sendAppendEntries', peer });
      wire.sendAppendEntries?.(ctx, peer);
    },
    advanceCommitIndex() {
      events.push({ kind: 'advanceCommitIndex' });
      wire.advanceCommitIndex?.(ctx);
    },
    applyCommitted() {
      events.push({ kind: 'applyCommitted' });
      wire.applyCommitted?.(ctx);
    },
    events,
    sent(type) {
      const out: { to: NodeId; message: Message }[] = [];
      for (const e of events) if (e.kind === 'send' && (type === undefined || e.message.type === type)) out.push({ to: e.to, message: e.message });
      return out;
    },
    get persists() {
      return events.filter((e) => e.kind === 'persist').length;
    },
    first(kind) {
      return events.findIndex((e) => e.kind === kind);
    },
    logTerms() {
      const terms: number[] = [];
      for (let i = 1; i <= log.lastIndex; i++) terms.push(log.termAt(i)!);
      return terms;
    },
  };
  return ctx;
}
