import type { RaftLog } from './context';
import { configOf, type Configuration } from './membership';
import type { LogEntry } from './types';

/**
 * Figure 2's log[] in memory, 1-based, remembering the lowest index changed since the last persist: what the
 * next write to stable storage must cover. Entries are frozen when appended: a message that carries them, and
 * the follower that stores them, share the same objects, so nobody can change another server's log in place.
 */
export class MemoryLog implements RaftLog {
  /** The entries after the snapshot: entries[0] is at index snapshotIndex + 1. */
  private readonly entries: LogEntry[];
  private base = 0;
  private baseTerm = 0;
  /** Configuration entries after the snapshot, by index; the one in effect at the snapshot's index. */
  private readonly configs: { readonly index: number; readonly config: Configuration }[] = [];
  private baseConfig: Configuration | null = null;
  /** Counts changes of the configuration in effect (a driver compares it instead of the whole log's version). */
  configVersion = 0;
  private latest: { readonly index: number; readonly config: Configuration } | null = null;
  /** Lowest index changed (appended or truncated) and not yet persisted; Infinity when clean. */
  private changedFrom = Infinity;
  /** Counts every change: a driver compares it before and after a handler. */
  version = 0;

  /** `initial`: the entries after `snapshot` (if any). */
  constructor(initial: readonly LogEntry[] = [], snapshot?: { readonly index: number; readonly term: number; readonly config?: Configuration }) {
    this.entries = initial.map(freezeEntry);
    if (snapshot) {
      this.base = snapshot.index;
      this.baseTerm = snapshot.term;
      this.baseConfig = snapshot.config ?? null;
    }
    this.entries.forEach((e, i) => this.noteConfig(this.base + 1 + i, e));
    this.configsChanged();
  }

  /** The latest configuration entry in the log (or the snapshot's), with its index; null if there is none. */
  latestConfig(): { readonly index: number; readonly config: Configuration } | null {
    return this.latest;
  }

  private configsChanged(): void {
    this.configVersion++;
    const last = this.configs[this.configs.length - 1];
    this.latest = last ?? (this.baseConfig === null ? null : { index: this.base, config: this.baseConfig });
  }

  /** The configuration in effect at `index` (for a snapshot taken there), or null when none was ever set. */
  configAt(index: number): Configuration | null {
    for (let i = this.configs.length - 1; i >= 0; i--) if (this.configs[i]!.index <= index) return this.configs[i]!.config;
    return this.baseConfig;
  }

  private noteConfig(index: number, entry: LogEntry): void {
    const config = configOf(entry);
    if (config !== null) {
      this.configs.push({ index, config });
      this.configsChanged();
    }
  }

  /** The last index covered by the snapshot (entries up to it are compacted away); 0 without one. */
  get snapshotIndex(): number {
    return this.base;
  }

  get snapshotTerm(): number {
    return this.baseTerm;
  }

  get lastIndex(): number {
    return this.base + this.entries.length;
  }

  get lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.baseTerm : this.entries[n - 1]!.term;
  }

  termAt(index: number): number | undefined {
    if (index === this.base) return this.baseTerm;
    if (!(index > this.base) || index > this.lastIndex) return undefined;
    return this.entries[index - this.base - 1]?.term;
  }

  entryAt(index: number): LogEntry | undefined {
    if (!(index > this.base) || index > this.lastIndex) return undefined;
    return this.entries[index - this.base - 1];
  }

  entriesFrom(index: number, max = Infinity): LogEntry[] {
    const from = Math.max(this.base + 1, Math.floor(index));
    const end = Math.min(this.lastIndex, from - 1 + max);
    return end >= from ? this.entries.slice(from - this.base - 1, end - this.base) : [];
  }

  append(entry: LogEntry): number {
    if (typeof entry !== 'object' || entry === null || !Number.isInteger(entry.term) || entry.term < 0) {
      throw new TypeError(`a log entry is { term, command } with a whole term, got ${describe(entry)}`);
    }
    const frozen = freezeEntry(entry);
    this.entries.push(frozen);
    this.version++;
    const index = this.lastIndex;
    this.noteConfig(index, frozen);
    if (index < this.changedFrom) this.changedFrom = index;
    return index;
  }

  truncateFrom(index: number): void {
    if (!Number.isInteger(index) || index < 1) throw new RangeError(`truncateFrom(${String(index)}): the first index is 1`);
    if (index <= this.base) throw new RangeError(`truncateFrom(${index}): entries up to ${this.base} are in the snapshot (committed)`);
    if (index > this.lastIndex) return;
    this.entries.length = index - this.base - 1;
    const before = this.configs.length;
    while (this.configs.length > 0 && this.configs[this.configs.length - 1]!.index >= index) this.configs.pop();
    if (this.configs.length !== before) this.configsChanged();
    this.version++;
    if (index < this.changedFrom) this.changedFrom = index;
  }

  lastIndexOfTerm(term: number): number {
    for (let i = this.entries.length; i >= 1; i--) {
      const t = this.entries[i - 1]!.term;
      if (t === term) return this.base + i;
      if (t < term) return 0;
    }
    return this.base > 0 && this.baseTerm === term ? this.base : 0;
  }

  // ---- Log compaction (section 7) ----

  /**
   * Drop the entries up to `index` (a snapshot covers them). If the log holds no entry at `index` of `term`
   * (a snapshot from the leader beyond or unlike this log), every entry goes: Figure 13, steps 6 and 7.
   */
  compact(index: number, term: number, config?: Configuration | null): void {
    if (index <= this.base) return;
    const keeps = this.termAt(index) === term;
    this.baseConfig = config !== undefined ? config : this.configAt(index);
    if (keeps) this.entries.splice(0, index - this.base);
    else this.entries.length = 0;
    while (this.configs.length > 0 && (!keeps || this.configs[0]!.index <= index)) this.configs.shift();
    this.configsChanged();
    this.base = index;
    this.baseTerm = term;
    this.version++;
    // Unpersisted changes below the new base are the snapshot's now; a discarded log is written as empty after it.
    if (this.changedFrom <= index || !keeps) this.changedFrom = Math.min(this.changedFrom, index + 1);
    if (this.changedFrom <= index) this.changedFrom = index + 1;
  }

  // ---- For the driver ----

  /** True when something changed since the last takeChanges(). */
  get changed(): boolean {
    return this.changedFrom !== Infinity;
  }

  /** What changed since the last call: the log from `from` on is now `entries` (and the rest is gone). */
  takeChanges(): { from: number; entries: readonly LogEntry[] } | undefined {
    if (this.changedFrom === Infinity) return undefined;
    const from = Math.min(this.changedFrom, this.lastIndex + 1);
    this.changedFrom = Infinity;
    return { from, entries: this.entries.slice(from - this.base - 1) };
  }

  /** The entries after the snapshot, from index snapshotIndex + 1 (read-only view, no copy). */
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
