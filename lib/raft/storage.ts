import type { HardState, LogEntry, PersistentState, Ready } from './types';

/**
 * Stable storage for Figure 2's persistent state. Writes must be durable when the call returns:
 * the driver sends a Ready's messages only after persistReady() has returned.
 */
export interface Storage {
  load(): PersistentState;
  saveHardState(state: HardState): void;
  /** Replace the log from index `from` (1-based) on with `entries`. */
  writeLog(from: number, entries: readonly LogEntry[]): void;
}

export class MemoryStorage implements Storage {
  private hard: HardState = { currentTerm: 0, votedFor: null };
  private readonly entries: LogEntry[] = [];
  /** How many times each kind of write happened: the notebooks show what persistence costs. */
  readonly writes = { hardState: 0, log: 0 };

  constructor(initial?: PersistentState) {
    if (initial) {
      this.hard = { currentTerm: initial.currentTerm, votedFor: initial.votedFor };
      this.entries.push(...initial.log);
    }
  }

  load(): PersistentState {
    return { currentTerm: this.hard.currentTerm, votedFor: this.hard.votedFor, log: [...this.entries] };
  }

  saveHardState(state: HardState): void {
    this.hard = { currentTerm: state.currentTerm, votedFor: state.votedFor };
    this.writes.hardState++;
  }

  writeLog(from: number, entries: readonly LogEntry[]): void {
    if (from < 1 || from > this.entries.length + 1) {
      throw new RangeError(`writeLog from index ${from} would leave a gap after index ${this.entries.length}`);
    }
    const log = this.entries;
    log.length = from - 1;
    for (let i = 0; i < entries.length; i++) log.push(entries[i]!);
    this.writes.log++;
  }

  get log(): readonly LogEntry[] {
    return this.entries;
  }

  get hardState(): HardState {
    return this.hard;
  }
}

/** The persistence half of the contract: call before sending any of the Ready's messages. */
export function persistReady(storage: Storage, ready: Ready): void {
  if (ready.hardState) storage.saveHardState(ready.hardState);
  if (ready.log) storage.writeLog(ready.log.from, ready.log.entries);
}
