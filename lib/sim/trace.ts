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

/** Kinds of row in the compact store: the few event kinds a busy run records by the million. */
const Packed = {
  Object: 0, // any other kind: the event object itself is kept
  Apply: 1,
  Commit: 2,
  Append: 3,
  Truncate: 4,
  Send: 5,
  Deliver: 6,
  Propose: 7,
} as const;
type Packed = (typeof Packed)[keyof typeof Packed];

/**
 * A row is STRIDE numbers in a chunk: [kind + 8 * node + 8 * 65536 * peer, seq, t, index, term, count] (the
 * node numbers are below 65536, so the first is an exact integer). Chunks start small and double up to
 * MAX_CHUNK_ROWS rows; a full chunk is never copied, the next one is added beside it.
 */
const STRIDE = 6;
const FIRST_CHUNK_ROWS = 256;
const MAX_CHUNK_ROWS = 8192;
const NODE_UNIT = 8;
const PEER_UNIT = 8 * 65536;

interface Chunk {
  /** Global index of its first row. */
  readonly start: number;
  readonly rows: Float64Array;
  /** The command, message or (for other kinds) whole event of each row. */
  readonly refs: unknown[];
}

// Shared by every trace until its first recorded event (nothing writes into it: its capacity is 0 rows).
const noRows = new Float64Array(0);

/**
 * The event trace. Recording is cheap: the frequent kinds (apply, commit, append, truncate, send, deliver, propose)
 * go into rows of numbers instead of one object each, and `events` builds the objects on first read
 * (incrementally, so reading it during a run costs only the events added since). What is recorded, and the
 * objects read back, are exactly what add() would have stored.
 */
export class Trace {
  /** Counts every event, recorded or not, so a failure can name its event index at any level. */
  count = 0;

  private readonly listeners: ((event: TraceEvent) => void)[] = [];
  private size = 0;
  private readonly chunks: Chunk[] = [];
  /** The chunk being filled: its rows and refs, and how many rows it has room for and holds. */
  private rows: Float64Array = noRows;
  private refs: unknown[] = [];
  private capacity = 0;
  private fill = 0;
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
    let i = built.length;
    if (i === this.size) return built;
    // The chunk holding row i (the last one whose start is at or before it), then every row from there on.
    let c = this.chunks.length - 1;
    while (this.chunks[c]!.start > i) c--;
    for (; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      const end = c === this.chunks.length - 1 ? this.size : this.chunks[c + 1]!.start;
      for (; i < end; i++) built.push(this.build(chunk, i - chunk.start));
    }
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
    const row = this.slot(Packed.Object, seq, event.t, event.node, 0);
    this.refs[row] = event;
  }

  // The frequent kinds, recorded without building an object (the same event as add() with these fields).

  addApply(t: number, node: NodeId, index: number, term: number, command: Command): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'apply', index, term, command });
    const seq = this.count++;
    if (!this.keepsState) return;
    const row = this.slot(Packed.Apply, seq, t, node, 0);
    const b = row * STRIDE;
    this.rows[b + 3] = index;
    this.rows[b + 4] = term;
    this.refs[row] = command;
  }

  addCommit(t: number, node: NodeId, index: number, term: number): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'commit', index, term });
    const seq = this.count++;
    if (!this.keepsState) return;
    const b = this.slot(Packed.Commit, seq, t, node, 0) * STRIDE;
    this.rows[b + 3] = index;
    this.rows[b + 4] = term;
  }

  addAppend(t: number, node: NodeId, index: number, count: number, term: number): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'append', index, count, term });
    const seq = this.count++;
    if (!this.keepsState) return;
    const b = this.slot(Packed.Append, seq, t, node, 0) * STRIDE;
    this.rows[b + 3] = index;
    this.rows[b + 4] = term;
    this.rows[b + 5] = count;
  }

  addTruncate(t: number, node: NodeId, index: number): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'truncate', index });
    const seq = this.count++;
    if (!this.keepsState) return;
    const b = this.slot(Packed.Truncate, seq, t, node, 0) * STRIDE;
    this.rows[b + 3] = index;
  }

  addPropose(t: number, node: NodeId, index: number, term: number, command: Command): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'propose', index, term, command });
    const seq = this.count++;
    if (!this.keepsState) return;
    const row = this.slot(Packed.Propose, seq, t, node, 0);
    const b = row * STRIDE;
    this.rows[b + 3] = index;
    this.rows[b + 4] = term;
    this.refs[row] = command;
  }

  /** `node` sends `message` to `to`. */
  addSend(t: number, node: NodeId, to: NodeId, message: Message): void {
    if (this.listeners.length > 0) return this.add({ t, node, kind: 'send', to, message });
    const seq = this.count++;
    if (!this.keepsMessages) return;
    const row = this.slot(Packed.Send, seq, t, node, this.numberOf(to));
    this.refs[row] = message;
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
    const row = this.slot(Packed.Deliver, seq, t, node, this.numberOf(from));
    this.refs[row] = message;
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

  /** Reserve the next row of the current chunk, fill what every event has, and return its number in the chunk. */
  private slot(packed: Packed, seq: number, t: number, node: NodeId, peer: number): number {
    if (this.fill === this.capacity) this.addChunk();
    const row = this.fill++;
    this.size++;
    const b = row * STRIDE;
    const rows = this.rows;
    rows[b] = packed + NODE_UNIT * this.numberOf(node) + PEER_UNIT * peer;
    rows[b + 1] = seq;
    rows[b + 2] = t;
    return row;
  }

  /** A trace at level 'off' never allocates a chunk; the first ones are small, later ones MAX_CHUNK_ROWS. */
  private addChunk(): void {
    const capacity = Math.min(MAX_CHUNK_ROWS, this.capacity === 0 ? FIRST_CHUNK_ROWS : this.capacity * 2);
    const chunk: Chunk = { start: this.size, rows: new Float64Array(capacity * STRIDE), refs: new Array<unknown>(capacity) };
    this.chunks.push(chunk);
    this.rows = chunk.rows;
    this.refs = chunk.refs;
    this.capacity = capacity;
    this.fill = 0;
  }

  /** Row `row` of `chunk` as the object add() would have stored (same fields, same order: seq last). */
  private build(chunk: Chunk, row: number): TraceEvent {
    const rows = chunk.rows;
    const b = row * STRIDE;
    const head = rows[b]!;
    const kind = head % NODE_UNIT;
    const node = this.nodeNames[Math.floor(head / NODE_UNIT) % 65536]!;
    const seq = rows[b + 1]!;
    const t = rows[b + 2]!;
    const ref = chunk.refs[row];
    switch (kind as Packed) {
      case Packed.Object:
        return ref as TraceEvent;
      case Packed.Apply:
        return { t, node, kind: 'apply', index: rows[b + 3]!, term: rows[b + 4]!, command: ref as Command, seq };
      case Packed.Commit:
        return { t, node, kind: 'commit', index: rows[b + 3]!, term: rows[b + 4]!, seq };
      case Packed.Append:
        return { t, node, kind: 'append', index: rows[b + 3]!, count: rows[b + 5]!, term: rows[b + 4]!, seq };
      case Packed.Truncate:
        return { t, node, kind: 'truncate', index: rows[b + 3]!, seq };
      case Packed.Send:
        return { t, node, kind: 'send', to: this.nodeNames[Math.floor(head / PEER_UNIT)]!, message: ref as Message, seq };
      case Packed.Deliver:
        return { t, node, kind: 'deliver', from: this.nodeNames[Math.floor(head / PEER_UNIT)]!, message: ref as Message, seq };
      case Packed.Propose:
        return { t, node, kind: 'propose', index: rows[b + 3]!, term: rows[b + 4]!, command: ref as Command, seq };
    }
    throw new Error(`trace row of unknown kind ${kind}`);
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
    case 'TimeoutNow':
      return { type: m.type, term: m.term };
    case 'InstallSnapshot':
      return { type: m.type, term: m.term, lastIncludedIndex: m.lastIncludedIndex, lastIncludedTerm: m.lastIncludedTerm, offset: m.offset, bytes: m.data.length, done: m.done };
    case 'InstallSnapshotReply':
      return { type: m.type, term: m.term, lastIncludedIndex: m.lastIncludedIndex, nextOffset: m.nextOffset, done: m.done };
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
    case 'TimeoutNow':
      return `TimeoutNow(term ${m.term})`;
    case 'InstallSnapshot':
      return `InstallSnapshot(term ${m.term}, last ${m.lastIncludedIndex}/${m.lastIncludedTerm}, bytes ${m.offset}+${m.data.length}${m.done ? ', done' : ''})`;
    case 'InstallSnapshotReply':
      return `InstallSnapshotReply(term ${m.term}, last ${m.lastIncludedIndex}, ${m.done ? 'installed' : `next ${m.nextOffset}`})`;
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
