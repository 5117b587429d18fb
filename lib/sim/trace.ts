import type { Command, Message, NodeId, Role } from '../raft/types';

/** 'manual': dropped on purpose while in flight (Cluster.dropInFlight, the explorer's "drop"). */
export type DropReason = 'loss' | 'partition' | 'crashed' | 'manual';

interface Base {
  /** Position in the trace, from 0. */
  readonly seq: number;
  /** Virtual time in milliseconds. */
  readonly t: number;
  /** The node it happened on ('*' for cluster-wide events such as partitions). */
  readonly node: NodeId;
}

export type TraceEvent = Base &
  (
    | { readonly kind: 'role'; readonly role: Role; readonly term: number; readonly reason: string }
    | { readonly kind: 'term'; readonly term: number }
    | { readonly kind: 'timeout'; readonly role: Role; readonly term: number }
    | { readonly kind: 'vote'; readonly candidate: NodeId; readonly term: number; readonly granted: boolean; readonly preVote: boolean }
    | { readonly kind: 'send'; readonly to: NodeId; readonly message: Message }
    | { readonly kind: 'deliver'; readonly from: NodeId; readonly message: Message }
    | { readonly kind: 'drop'; readonly from: NodeId; readonly to: NodeId; readonly message: Message; readonly reason: DropReason }
    | { readonly kind: 'append'; readonly index: number; readonly count: number; readonly term: number }
    | { readonly kind: 'truncate'; readonly index: number }
    | { readonly kind: 'commit'; readonly index: number; readonly term: number }
    | { readonly kind: 'apply'; readonly index: number; readonly term: number; readonly command: Command }
    | { readonly kind: 'propose'; readonly index: number; readonly term: number; readonly command: Command }
    | { readonly kind: 'crash' }
    | { readonly kind: 'restart' }
    | { readonly kind: 'partition'; readonly cut: readonly string[] }
    | { readonly kind: 'heal'; readonly cut: readonly string[] }
  );

export type TraceKind = TraceEvent['kind'];

/** Distributes Omit over the union so each event keeps its own fields. */
export type TraceInput = TraceEvent extends infer E ? (E extends TraceEvent ? Omit<E, 'seq'> : never) : never;

/** What gets recorded: everything, only state changes (no message traffic), or nothing. */
export type TraceLevel = 'all' | 'state' | 'off';

export const messageKinds: ReadonlySet<TraceKind> = new Set<TraceKind>(['send', 'deliver', 'drop']);

export class Trace {
  readonly events: TraceEvent[] = [];
  /** Counts every event, recorded or not, so a failure can name its event index at any level. */
  count = 0;

  private readonly listeners: ((event: TraceEvent) => void)[] = [];

  constructor(readonly level: TraceLevel = 'all') {}

  /** Call `listener` on every event as it happens, whatever the trace level records. Returns an unsubscribe. */
  observe(listener: (event: TraceEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get recordsMessages(): boolean {
    return this.level === 'all';
  }

  /**
   * Whether a message event (send, deliver) would be recorded or observed. When not, the simulator calls
   * skip() instead of building the event: the count moves on exactly as add() would move it.
   */
  get wantsMessages(): boolean {
    return this.level === 'all' || this.listeners.length > 0;
  }

  /** Count an event that nobody records or observes. */
  skip(): void {
    this.count++;
  }

  add(event: TraceInput): void {
    const seq = this.count++;
    if (this.listeners.length > 0) {
      (event as { seq?: number }).seq = seq;
      for (const listener of this.listeners) listener(event as TraceEvent);
    }
    if (this.level === 'off') return;
    if (this.level === 'state' && messageKinds.has(event.kind)) return;
    (event as { seq?: number }).seq = seq;
    this.events.push(event as TraceEvent);
  }

  filter<K extends TraceKind>(...kinds: K[]): Extract<TraceEvent, { kind: K }>[] {
    const set = new Set<TraceKind>(kinds);
    return this.events.filter((e) => set.has(e.kind)) as Extract<TraceEvent, { kind: K }>[];
  }

  /** The last `size` recorded events, formatted one per line. */
  excerpt(size = 20): string {
    if (this.level === 'off') return '(trace is off: run with trace "state" or "all" to see the events)';
    return this.events.slice(-size).map(formatEvent).join('\n');
  }

  toJSON(): object[] {
    return this.events.map(eventToJSON);
  }

  /** One row per event; fields that do not apply are empty; `detail` holds the rest as JSON. */
  toCSV(): string {
    const header = 'seq,t,node,kind,peer,term,index,detail';
    const rows = this.events.map((e) => {
      const j = eventToJSON(e) as Record<string, unknown>;
      const { seq, t, node, kind, peer, term, index, ...rest } = j;
      const detail = Object.keys(rest).length > 0 ? JSON.stringify(rest) : '';
      return [seq, t, node, kind, peer ?? '', term ?? '', index ?? '', detail].map(csvField).join(',');
    });
    return [header, ...rows].join('\n') + '\n';
  }
}

function csvField(value: unknown): string {
  const s = typeof value === 'number' ? String(value) : String(value ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function summarizeMessage(m: Message): Record<string, unknown> {
  switch (m.type) {
    case 'RequestVote':
      return { type: m.type, term: m.term, lastLogIndex: m.lastLogIndex, lastLogTerm: m.lastLogTerm, ...(m.preVote ? { preVote: true } : {}) };
    case 'RequestVoteReply':
      return { type: m.type, term: m.term, voteGranted: m.voteGranted, ...(m.preVote ? { preVote: true } : {}) };
    case 'AppendEntries':
      return { type: m.type, term: m.term, prevLogIndex: m.prevLogIndex, prevLogTerm: m.prevLogTerm, entries: m.entries.length, leaderCommit: m.leaderCommit };
    case 'AppendEntriesReply':
      return {
        type: m.type, term: m.term, success: m.success, matchIndex: m.matchIndex,
        ...(m.conflictIndex !== undefined ? { conflictIndex: m.conflictIndex } : {}),
        ...(m.conflictTerm !== undefined ? { conflictTerm: m.conflictTerm } : {}),
      };
  }
}

/** A flat, JSON-friendly form: messages are summarized (entry counts, not entries). */
export function eventToJSON(e: TraceEvent): object {
  const t = Math.round(e.t * 1000) / 1000;
  switch (e.kind) {
    case 'send':
      return { seq: e.seq, t, node: e.node, kind: e.kind, peer: e.to, term: e.message.term, message: summarizeMessage(e.message) };
    case 'deliver':
      return { seq: e.seq, t, node: e.node, kind: e.kind, peer: e.from, term: e.message.term, message: summarizeMessage(e.message) };
    case 'drop':
      return { seq: e.seq, t, node: e.node, kind: e.kind, peer: e.to, term: e.message.term, reason: e.reason, message: summarizeMessage(e.message) };
    case 'vote':
      return { seq: e.seq, t, node: e.node, kind: e.kind, peer: e.candidate, term: e.term, granted: e.granted, ...(e.preVote ? { preVote: true } : {}) };
    default:
      return { ...e, t };
  }
}

function ms(t: number): string {
  return t.toFixed(3).padStart(11);
}

export function describeMessage(m: Message): string {
  switch (m.type) {
    case 'RequestVote':
      return `${m.preVote ? 'PreVote' : 'RequestVote'}(term ${m.term}, last ${m.lastLogIndex}/${m.lastLogTerm})`;
    case 'RequestVoteReply':
      return `${m.preVote ? 'PreVoteReply' : 'RequestVoteReply'}(term ${m.term}, ${m.voteGranted ? 'granted' : 'denied'})`;
    case 'AppendEntries':
      return m.entries.length === 0
        ? `Heartbeat(term ${m.term}, prev ${m.prevLogIndex}/${m.prevLogTerm}, commit ${m.leaderCommit})`
        : `AppendEntries(term ${m.term}, prev ${m.prevLogIndex}/${m.prevLogTerm}, ${m.entries.length} entries, commit ${m.leaderCommit})`;
    case 'AppendEntriesReply':
      return m.success
        ? `AppendEntriesReply(term ${m.term}, ok, match ${m.matchIndex})`
        : `AppendEntriesReply(term ${m.term}, refused${m.conflictIndex !== undefined ? `, hint ${m.conflictIndex}${m.conflictTerm !== undefined ? `/${m.conflictTerm}` : ''}` : ''})`;
  }
}

/** One short status line per event, TigerBeetle-style. */
export function formatEvent(e: TraceEvent): string {
  const head = `${ms(e.t)} ms  #${String(e.seq).padEnd(6)} ${e.node.padEnd(15)} `;
  switch (e.kind) {
    case 'role': return `${head}${e.role.toUpperCase()} in term ${e.term} (${e.reason})`;
    case 'term': return `${head}term -> ${e.term}`;
    case 'timeout': return `${head}election timeout as ${e.role} in term ${e.term}`;
    case 'vote': return `${head}${e.granted ? 'grants' : 'denies'} ${e.preVote ? 'pre-vote' : 'vote'} to ${e.candidate} for term ${e.term}`;
    case 'send': return `${head}-> ${e.to}  ${describeMessage(e.message)}`;
    case 'deliver': return `${head}<- ${e.from}  ${describeMessage(e.message)}`;
    case 'drop': return `${head}dropped ${e.from} -> ${e.to} (${e.reason})  ${describeMessage(e.message)}`;
    case 'append': return `${head}log append ${e.count} entr${e.count === 1 ? 'y' : 'ies'} at ${e.index} (term ${e.term})`;
    case 'truncate': return `${head}log truncated from index ${e.index}`;
    case 'commit': return `${head}commitIndex -> ${e.index}`;
    case 'apply': return `${head}apply #${e.index} ${JSON.stringify(e.command)}`;
    case 'propose': return `${head}client proposes ${JSON.stringify(e.command)} at index ${e.index} (term ${e.term})`;
    case 'crash': return `${head}CRASHED`;
    case 'restart': return `${head}RESTARTED from its persisted state`;
    case 'partition': return `${head}network partition: ${e.cut.length} links cut (${e.cut.slice(0, 6).join(', ')}${e.cut.length > 6 ? ', ...' : ''})`;
    case 'heal': return `${head}network healed`;
  }
}
