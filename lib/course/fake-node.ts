import type { Handlers, NodeContext } from '../raft/context';
import { figure2Handlers } from '../raft/handlers';
import type { LogEntry, Message, NodeId, Role } from '../raft/types';
import { fakeContext, type FakeEvent as ContextEvent, type FakeState } from './fake-context';

/**
 * One server's NodeContext on a table, for the notebooks' unit checks of one handler: set the state, call the
 * handler, read what it did (`events`, in order: sends, persists, timer resets, role changes, applies, and calls
 * of the other handlers). Nothing runs by itself: `ctx.sendAppendEntries(p)` is recorded, not sent, unless
 * `{ wire: true }` routes it to the reference handler (still recorded as sends). The notebooks' view of
 * fakeContext (lab-style ids, and events without the field assignments).
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

/** fakeContext's state (ids default to the lab's 127.0.0.1:8000-8002), and where the other handlers' calls go. */
export interface FakeNodeState extends Omit<FakeState, 'rules' | 'log'> {
  /** The log as entries, or as a list of terms (commands are then { i: index }). */
  readonly log?: readonly (LogEntry | number)[];
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

function nodeEvent(e: ContextEvent): FakeEvent | null {
  switch (e.kind) {
    case 'send': return { kind: 'send', to: e.to, message: e.message };
    case 'persist': return { kind: 'persist', currentTerm: e.state.currentTerm, votedFor: e.state.votedFor, logLength: e.state.log.length };
    case 'resetElectionTimer': return e;
    case 'role': return { kind: 'role', role: e.role };
    case 'apply': return { kind: 'apply', index: e.index };
    case 'call': return e.handler === 'sendAppendEntries' ? { kind: 'sendAppendEntries', peer: e.peer! } : { kind: e.handler };
    case 'set': return null;
  }
}

export function fakeNode(state: FakeNodeState = {}): FakeNode {
  const { wire, log, ...rest } = state;
  const ctx = fakeContext({
    id: '127.0.0.1:8000', peers: [...fakePeers], currentTerm: 1, ...rest,
    log: (log ?? []).map((e, i) => (typeof e === 'number' ? { term: e, command: { i: i + 1 } } : e)),
  }, { others: wire === true ? figure2Handlers : wire ?? 'record' });
  const recorded = ctx.events;
  const events = (): FakeEvent[] => recorded.flatMap((e) => nodeEvent(e) ?? []);
  const sent = ctx.sent.bind(ctx);
  return Object.defineProperties(ctx as unknown as FakeNode, {
    events: { get: events },
    sent: { value: (type?: Message['type']) => sent(type) },
    persists: { get: () => ctx.count('persist') },
    first: { value: (kind: FakeEvent['kind']) => events().findIndex((e) => e.kind === kind) },
  });
}
