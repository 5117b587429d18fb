import type { HardState, LogEntry, PersistentState, Ready, Snapshot } from './types';

/**
 * Stable storage for Figure 2's persistent state. Writes must be durable when the call returns:
 * the driver sends a Ready's messages only after persistReady() has returned.
 */
export interface Storage {
  load(): PersistentState;
  saveHardState(state: HardState): void;
  /** Replace the log from index `from` (1-based) on with `entries`. */
  writeLog(from: number, entries: readonly LogEntry[]): void;
  /**
   * Store `snapshot` durably, then drop the log entries it covers: all of them if the log holds no entry at
   * snapshot.index of snapshot.term (Figure 13, steps 6-7).
   */
  saveSnapshot(snapshot: Snapshot): void;
}

export class MemoryStorage implements Storage {
  private hard: HardState = { currentTerm: 0, votedFor: null };
  /** The entries after the snapshot. */
  private readonly entries: LogEntry[] = [];
  private latest: Snapshot | undefined;
  /** How many times each kind of write happened: the notebooks show what persistence costs. */
  readonly writes = { hardState: 0, log: 0, snapshot: 0 };

  constructor(initial?: PersistentState) {
    if (initial) {
      this.hard = { currentTerm: initial.currentTerm, votedFor: initial.votedFor };
      this.entries.push(...initial.log);
      this.latest = initial.snapshot;
    }
  }

  load(): PersistentState {
    const state = { currentTerm: this.hard.currentTerm, votedFor: this.hard.votedFor, log: [...this.entries] };
    return this.latest ? { ...state, snapshot: this.latest } : state;
  }

  saveSnapshot(snapshot: Snapshot): void {
    const base = this.snapshotIndex;
    if (snapshot.index <= base) return;
    const at = snapshot.index - base - 1;
    if (at < this.entries.length && this.entries[at]!.term === snapshot.term) this.entries.splice(0, at + 1);
    else this.entries.length = 0;
    this.latest = snapshot;
    this.writes.snapshot++;
  }

  get snapshot(): Snapshot | undefined {
    return this.latest;
  }

  /** The last index the snapshot covers (0 without one): the log holds the entries after it. */
  get snapshotIndex(): number {
    return this.latest?.index ?? 0;
  }

  saveHardState(state: HardState): void {
    this.hard = { currentTerm: state.currentTerm, votedFor: state.votedFor };
    this.writes.hardState++;
  }

  writeLog(from: number, entries: readonly LogEntry[]): void {
    const base = this.snapshotIndex;
    if (from <= base) throw new RangeError(`writeLog from index ${from}: entries up to ${base} are in the snapshot`);
    if (from > base + this.entries.length + 1) {
      throw new RangeError(`writeLog from index ${from} would leave a gap after index ${base + this.entries.length}`);
    }
    const log = this.entries;
    log.length = from - base - 1;
    for (let i = 0; i < entries.length; i++) log.push(entries[i]!);
    this.writes.log++;
  }

  /** The entries after the snapshot. */
  get log(): readonly LogEntry[] {
    return this.entries;
  }

  get hardState(): HardState {
    return this.hard;
  }
}

/** The persistence half of the contract: call before sending any of the Ready's messages. */
export function persistReady(storage: Storage, ready: Ready): void {
  if (ready.snapshot) storage.saveSnapshot(ready.snapshot.snapshot);
  if (ready.hardState) storage.saveHardState(ready.hardState);
  if (ready.log) storage.writeLog(ready.log.from, ready.log.entries);
}
