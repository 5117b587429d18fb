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

/** Columns of the compact store: the few event kinds a busy run records by the million. */
const Packed = {
  Object: 0, // any other kind: the event object itself is kept
  Apply: 1,
  Commit: 2,
  Append: 3,
  Truncate: 4,
  Send: 5,
  Deliver: 6,
} as const;
type Packed = (typeof Packed)[keyof typeof Packed];

// Shared by every trace until its first recorded event (grow() never writes into them).
const noBytes = new Uint8Array(0);
const noShorts = new Uint16Array(0);
const noNumbers = new Float64Array(0);

/**
 * The event trace. Recording is cheap: the frequent kinds (apply, commit, append, truncate, send, deliver)
 * go into typed-array columns instead of one object each, and `events` builds the objects on first read
 * (incrementally, so reading it during a run costs only the events added since). What is recorded, and the
 * objects read back, are exactly what add() would have stored.
 */
export class Trace {
  /** Counts every event, recorded or not, so a failure can name its event index at any level. */
  count = 0;

  private readonly listeners: ((event: TraceEvent) => void)[] = [];
  private size = 0;
  private packed: Uint8Array = noBytes;
  private seqs: Float64Array = noNumbers;
  private times: Float64Array = noNumbers;
  private nodes: Uint16Array = noShorts;
  private peers: Uint16Array = noShorts;
  private indexes: Float64Array = noNumbers;
  private terms: Float64Array = noNumbers;
  private counts: Float64Array = noNumbers;
  /** The command, message or (for other kinds) whole event of each recorded event. */
  private refs: unknown[] = [];
  private readonly nodeNames: NodeId[] = [];
  private readonly nodeNumbers = new Map<NodeId, number>();
  private readonly built: TraceEvent[] = [];
  private readonly keepsState: boolean;
  private readonly keepsMessages: boolean;

  constructor(readonly level: TraceLevel = 'all') {
    this.keepsState = level !== 'off';
    this.keepsMessages = level === 'all';
  }

  /** Every recorded event, in order (built from the compact store on first read). */
  get events(): TraceEvent[] {
    const built = this.built;
    for (let i = built.length; i < this.size; i++) built.push(this.build(i));
    return built;
  }

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
    return this.keepsMessages || this.listeners.length > 0;
  }

  /**
   * Whether a state event (anything but send, deliver, drop) would be recorded or observed. When not, the
   * simulator calls skip() instead of building the event: the count moves on exactly as add() would move it.
   */
  get wantsState(): boolean {
    return this.keepsState || this.listeners.length > 0;
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
    if (!this.keepsState) return;
    if (!this.keepsMessages && messageKinds.has(event.kind)) return;
    (event as { seq?: number }).seq = seq;
    const i = this.slot(Packed.Object, seq, event.t, event.node);
    this.refs[i] = event;
  }

  // The frequent kinds, recorded without building an object (the same event as add() with these fields).

  addApply(t: number, node: NodeId, index: number, term: number, command: Command): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'apply', index, term, command });
    const seq = this.count++;
    if (!this.keepsState) return;
    const i = this.slot(Packed.Apply, seq, t, node);
    this.indexes[i] = index;
    this.terms[i] = term;
    this.refs[i] = command;
  }

  addCommit(t: number, node: NodeId, index: number, term: number): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'commit', index, term });
    const seq = this.count++;
    if (!this.keepsState) return;
    const i = this.slot(Packed.Commit, seq, t, node);
    this.indexes[i] = index;
    this.terms[i] = term;
    this.refs[i] = undefined;
  }

  addAppend(t: number, node: NodeId, index: number, count: number, term: number): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'append', index, count, term });
    const seq = this.count++;
    if (!this.keepsState) return;
    const i = this.slot(Packed.Append, seq, t, node);
    this.indexes[i] = index;
    this.counts[i] = count;
    this.terms[i] = term;
    this.refs[i] = undefined;
  }

  addTruncate(t: number, node: NodeId, index: number): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'truncate', index });
    const seq = this.count++;
    if (!this.keepsState) return;
    const i = this.slot(Packed.Truncate, seq, t, node);
    this.indexes[i] = index;
    this.refs[i] = undefined;
  }

  /** `node` sends `message` to `to`. */
  addSend(t: number, node: NodeId, to: NodeId, message: Message): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'send', to, message });
    const seq = this.count++;
    if (!this.keepsMessages) return;
    const i = this.slot(Packed.Send, seq, t, node);
    this.peers[i] = this.numberOf(to);
    this.refs[i] = message;
  }

  /** A message from `from` to `to` is lost (recorded on `node`): the object is built only if someone keeps it. */
  addDrop(t: number, node: NodeId, from: NodeId, to: NodeId, message: Message, reason: DropReason): void {
    if (this.keepsMessages || this.listeners.length > 0) this.add({ t, node, kind: 'drop', from, to, message, reason });
    else this.count++;
  }

  /** `node` receives `message` from `from`. */
  addDeliver(t: number, node: NodeId, from: NodeId, message: Message): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'deliver', from, message });
    const seq = this.count++;
    if (!this.keepsMessages) return;
    const i = this.slot(Packed.Deliver, seq, t, node);
    this.peers[i] = this.numberOf(from);
    this.refs[i] = message;
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

  private numberOf(node: NodeId): number {
    const names = this.nodeNames;
    // A cluster has a handful of nodes whose ids are the same string objects every time: a scan beats a Map.
    for (let i = 0; i < names.length && i < 8; i++) if (names[i] === node) return i;
    let n = this.nodeNumbers.get(node);
    if (n === undefined) {
      n = this.nodeNames.length;
      if (n > 0xffff) throw new RangeError('a trace records at most 65536 distinct node names');
      this.nodeNames.push(node);
      this.nodeNumbers.set(node, n);
    }
    return n;
  }

  /** Reserve the next row and fill the columns every event has. */
  private slot(packed: Packed, seq: number, t: number, node: NodeId): number {
    const i = this.size;
    if (i === this.packed.length) this.grow();
    this.packed[i] = packed;
    this.seqs[i] = seq;
    this.times[i] = t;
    this.nodes[i] = this.numberOf(node);
    this.size = i + 1;
    return i;
  }

  /** The columns start empty (a trace at level 'off' never allocates them) and double as they fill. */
  private grow(): void {
    const n = Math.max(256, this.packed.length * 2);
    const more = <A extends Uint8Array | Uint16Array | Float64Array>(a: A, make: new (n: number) => A): A => {
      const b = new make(n);
      b.set(a);
      return b;
    };
    this.packed = more(this.packed, Uint8Array);
    this.seqs = more(this.seqs, Float64Array);
    this.times = more(this.times, Float64Array);
    this.nodes = more(this.nodes, Uint16Array);
    this.peers = more(this.peers, Uint16Array);
    this.indexes = more(this.indexes, Float64Array);
    this.terms = more(this.terms, Float64Array);
    this.counts = more(this.counts, Float64Array);
  }

  /** Row i as the object add() would have stored (same fields, same order: seq last). */
  private build(i: number): TraceEvent {
    const t = this.times[i]!;
    const node = this.nodeNames[this.nodes[i]!]!;
    const seq = this.seqs[i]!;
    switch (this.packed[i] as Packed) {
      case Packed.Object:
        return this.refs[i] as TraceEvent;
      case Packed.Apply:
        return { t, node, kind: 'apply', index: this.indexes[i]!, term: this.terms[i]!, command: this.refs[i] as Command, seq };
      case Packed.Commit:
        return { t, node, kind: 'commit', index: this.indexes[i]!, term: this.terms[i]!, seq };
      case Packed.Append:
        return { t, node, kind: 'append', index: this.indexes[i]!, count: this.counts[i]!, term: this.terms[i]!, seq };
      case Packed.Truncate:
        return { t, node, kind: 'truncate', index: this.indexes[i]!, seq };
      case Packed.Send:
        return { t, node, kind: 'send', to: this.nodeNames[this.peers[i]!]!, message: this.refs[i] as Message, seq };
      case Packed.Deliver:
        return { t, node, kind: 'deliver', from: this.nodeNames[this.peers[i]!]!, message: this.refs[i] as Message, seq };
    }
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
