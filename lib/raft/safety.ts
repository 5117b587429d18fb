import type { Command, LogEntry, NodeId } from './types';

/** The five properties of the paper's Figure 3. */
export type SafetyProperty =
  | 'Election Safety'
  | 'Leader Append-Only'
  | 'Log Matching'
  | 'Leader Completeness'
  | 'State Machine Safety';

export class SafetyViolation extends Error {
  constructor(readonly property: SafetyProperty, readonly detail: string) {
    super(`${property} violated: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

interface EntryRecord {
  readonly term: number;
  /** Identifies the whole log prefix ending with this entry. */
  readonly prefix: number;
  readonly parent: number;
  readonly command: Command;
  readonly firstSeenOn: NodeId;
  /** Another entry seen at the same index, in another term. */
  next: EntryRecord | undefined;
}

/**
 * Checks Figure 3 incrementally, one event at a time, in O(1) per appended entry.
 * Each log prefix gets an id: two logs have the same id at an index exactly when they agree on every
 * entry up to it. The same monitor runs inside the simulator, in the tests, and on graded artifacts.
 */
export class SafetyMonitor {
  private readonly leaders = new Map<number, NodeId>();
  /** Every entry seen on any node, by index (a short list: one record per term seen at that index). */
  private readonly entries: (EntryRecord | undefined)[] = [];
  /** prefixes.get(node)[i] is the id of that node's log prefix 1..i (0 for the empty log). */
  private readonly prefixes = new Map<NodeId, number[]>();
  private readonly committedPrefix: number[] = [0];
  private readonly committedInTerm: number[] = [0];
  private readonly committedBy: NodeId[] = [''];
  private readonly commitSeen = new Map<NodeId, number>();
  private readonly appliedPrefix: number[] = [];
  private readonly appliedBy: NodeId[] = [];
  private nextPrefix = 1;
  private lastNode: NodeId | null = null;
  private lastPrefix: number[] = [];

  /** A node's log changed: entries from index `from` on are now `entries`. */
  onLogWrite(node: NodeId, from: number, entries: readonly LogEntry[], isLeader: boolean): void {
    const p = this.prefixOf(node);
    if (isLeader && from < p.length) {
      throw new SafetyViolation(
        'Leader Append-Only',
        `leader ${node} overwrote or deleted its own log entries from index ${from} (it had ${p.length - 1})`,
      );
    }
    if (from > p.length) throw new RangeError(`log write at ${from} on ${node} leaves a gap after ${p.length - 1}`);
    if (p.length !== from) p.length = from;
    for (let k = 0; k < entries.length; k++) {
      const index = from + k;
      const entry = entries[k]!;
      const parent = p[index - 1]!;
      const first = this.entries[index];
      let known = first;
      while (known !== undefined && known.term !== entry.term) known = known.next;
      if (known) {
        if (known.parent !== parent) {
          throw new SafetyViolation(
            'Log Matching',
            `${node} and ${known.firstSeenOn} both hold an entry at index ${index} in term ${entry.term}, but their logs differ before it`,
          );
        }
        if (!sameCommand(known.command, entry.command)) {
          throw new SafetyViolation(
            'Log Matching',
            `${node} holds ${JSON.stringify(entry.command)} at index ${index} term ${entry.term}, ${known.firstSeenOn} holds ${JSON.stringify(known.command)}`,
          );
        }
        p.push(known.prefix);
      } else {
        const prefix = this.nextPrefix++;
        this.entries[index] = { term: entry.term, prefix, parent, command: entry.command, firstSeenOn: node, next: first };
        p.push(prefix);
      }
    }
  }

  onLeader(node: NodeId, term: number): void {
    const other = this.leaders.get(term);
    if (other !== undefined && other !== node) {
      throw new SafetyViolation('Election Safety', `${node} and ${other} were both leaders of term ${term}`);
    }
    this.leaders.set(term, node);
    // Leader Completeness: every entry committed in an earlier term is in the new leader's log.
    let k = this.committedInTerm.length - 1;
    while (k > 0 && this.committedInTerm[k]! >= term) k--;
    if (k === 0) return;
    const p = this.prefixOf(node);
    if (p[k] !== this.committedPrefix[k]) {
      throw new SafetyViolation(
        'Leader Completeness',
        `${node} became leader of term ${term} without the entries committed up to index ${k} (committed by ${this.committedBy[k]} in term ${this.committedInTerm[k]})`,
      );
    }
  }

  /** A node advanced its commitIndex while in `term`. */
  onCommit(node: NodeId, commitIndex: number, term: number): void {
    const p = this.prefixOf(node);
    if (commitIndex >= p.length) {
      throw new SafetyViolation('State Machine Safety', `${node} set commitIndex ${commitIndex} beyond its last log index ${p.length - 1}`);
    }
    const seen = this.commitSeen.get(node) ?? 0;
    for (let i = seen + 1; i <= commitIndex; i++) {
      if (i < this.committedPrefix.length) {
        if (p[i] !== this.committedPrefix[i]) {
          throw new SafetyViolation(
            'State Machine Safety',
            `${node} committed index ${i} with a different log than ${this.committedBy[i]} committed there`,
          );
        }
      } else {
        this.committedPrefix.push(p[i]!);
        this.committedInTerm.push(term);
        this.committedBy.push(node);
      }
    }
    if (commitIndex > seen) this.commitSeen.set(node, commitIndex);
  }

  onApply(node: NodeId, index: number, entry: LogEntry): void {
    const p = this.prefixOf(node);
    const prefix = p[index];
    if (prefix === undefined) {
      throw new SafetyViolation('State Machine Safety', `${node} applied index ${index} that is not in its log`);
    }
    const known = this.appliedPrefix[index];
    if (known === undefined) {
      this.appliedPrefix[index] = prefix;
      this.appliedBy[index] = node;
    } else if (known !== prefix) {
      throw new SafetyViolation(
        'State Machine Safety',
        `${node} applied ${JSON.stringify(entry.command)} (term ${entry.term}) at index ${index}, but ${this.appliedBy[index]} applied a different entry there`,
      );
    }
  }

  /**
   * A node replaced its log up to `index` by a snapshot from its leader (Figure 13): a snapshot holds only
   * committed entries, so its prefix is the committed one (an uncommitted prefix is a State Machine Safety bug).
   */
  onSnapshotInstall(node: NodeId, index: number, term: number): void {
    if (index >= this.committedPrefix.length) {
      throw new SafetyViolation('State Machine Safety', `${node} installed a snapshot up to index ${index}, but only ${this.committedIndex} entries are committed`);
    }
    const known = this.entries[index];
    let record = known;
    while (record !== undefined && record.prefix !== this.committedPrefix[index]) record = record.next;
    if (record === undefined || record.term !== term) {
      throw new SafetyViolation('State Machine Safety', `${node} installed a snapshot ending at index ${index} in term ${term}, but the entry committed there is of term ${record?.term ?? '?'}`);
    }
    const p = this.prefixOf(node);
    const keeps = p.length > index && p[index] === this.committedPrefix[index];
    if (!keeps) {
      p.length = 0;
      for (let i = 0; i <= index; i++) p.push(this.committedPrefix[i]!);
    }
    // What it covers counts as applied and committed here.
    for (let i = 1; i <= index; i++) {
      if (this.appliedPrefix[i] === undefined) {
        this.appliedPrefix[i] = this.committedPrefix[i]!;
        this.appliedBy[i] = node;
      }
    }
    if ((this.commitSeen.get(node) ?? 0) < index) this.commitSeen.set(node, index);
  }

  /** A restart loses volatile state (commitIndex, lastApplied); the persisted log is unchanged. */
  onRestart(node: NodeId): void {
    this.commitSeen.set(node, 0);
  }

  /** The highest index known to be committed anywhere. */
  get committedIndex(): number {
    return this.committedPrefix.length - 1;
  }

  leaderOf(term: number): NodeId | undefined {
    return this.leaders.get(term);
  }

  private prefixOf(node: NodeId): number[] {
    // Consecutive calls are mostly about the same node (a Ready's write, commit and applies): remember the last.
    if (node === this.lastNode) return this.lastPrefix;
    let p = this.prefixes.get(node);
    if (!p) this.prefixes.set(node, (p = [0]));
    this.lastNode = node;
    this.lastPrefix = p;
    return p;
  }
}

function sameCommand(a: Command, b: Command): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
