import type { RaftLog } from './context';
import type { LogEntry } from './types';

/**
 * Figure 2's log[] in memory, 1-based, remembering the lowest index changed since the last persist: what the
 * next write to stable storage must cover. Entries are frozen when appended: a message that carries them, and
 * the follower that stores them, share the same objects, so nobody can change another server's log in place.
 */
export class MemoryLog implements RaftLog {
  private readonly entries: LogEntry[];
  /** Lowest index changed (appended or truncated) and not yet persisted; Infinity when clean. */
  private changedFrom = Infinity;
  /** Counts every change: a driver compares it before and after a handler. */
  version = 0;

  constructor(initial: readonly LogEntry[] = []) {
    this.entries = initial.map(freezeEntry);
  }

  get lastIndex(): number {
    return this.entries.length;
  }

  get lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? 0 : this.entries[n - 1]!.term;
  }

  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    if (!(index > 0) || index > this.entries.length) return undefined;
    return this.entries[index - 1]?.term;
  }

  entryAt(index: number): LogEntry | undefined {
    if (!(index >= 1) || index > this.entries.length) return undefined;
    return this.entries[index - 1];
  }

  entriesFrom(index: number, max = Infinity): LogEntry[] {
    const from = Math.max(1, Math.floor(index));
    const end = Math.min(this.entries.length, from - 1 + max);
    return end >= from ? this.entries.slice(from - 1, end) : [];
  }

  append(entry: LogEntry): number {
    if (typeof entry !== 'object' || entry === null || !Number.isInteger(entry.term) || entry.term < 0) {
      throw new TypeError(`a log entry is { term, command } with a whole term, got ${describe(entry)}`);
    }
    this.entries.push(freezeEntry(entry));
    this.version++;
    const index = this.entries.length;
    if (index < this.changedFrom) this.changedFrom = index;
    return index;
  }

  truncateFrom(index: number): void {
    if (!Number.isInteger(index) || index < 1) throw new RangeError(`truncateFrom(${String(index)}): the first index is 1`);
    if (index > this.entries.length) return;
    this.entries.length = index - 1;
    this.version++;
    if (index < this.changedFrom) this.changedFrom = index;
  }

  lastIndexOfTerm(term: number): number {
    for (let i = this.entries.length; i >= 1; i--) {
      const t = this.entries[i - 1]!.term;
      if (t === term) return i;
      if (t < term) return 0;
    }
    return 0;
  }

  // ---- For the driver ----

  /** True when something changed since the last takeChanges(). */
  get changed(): boolean {
    return this.changedFrom !== Infinity;
  }

  /** What changed since the last call: the log from `from` on is now `entries` (and the rest is gone). */
  takeChanges(): { from: number; entries: readonly LogEntry[] } | undefined {
    if (this.changedFrom === Infinity) return undefined;
    const from = Math.min(this.changedFrom, this.entries.length + 1);
    this.changedFrom = Infinity;
    return { from, entries: this.entries.slice(from - 1) };
  }

  /** The whole log (read-only view, no copy). */
  get all(): readonly LogEntry[] {
    return this.entries;
  }
}

function freezeEntry(entry: LogEntry): LogEntry {
  return Object.isFrozen(entry) ? entry : Object.freeze({ term: entry.term, command: entry.command });
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
