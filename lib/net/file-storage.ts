import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Storage } from '../raft/storage';
import type { HardState, LogEntry, NodeId, PersistentState, Snapshot } from '../raft/types';
import {
  RaftFileError,
  fileNamesFor,
  formatLogEntry,
  formatSnapshot,
  formatSnapshotHeader,
  readSnapshotFile,
  snapshotFileFor,
  formatStateMachine,
  writeFileAtomicAsync,
  formatStorage,
  fsyncDirectory,
  readLogFile,
  readStateMachineFile,
  readStorageFile,
  writeAll,
  writeFileAtomic,
  type JsonStyle,
  type RaftosFileNames,
} from './raftos-files';

export interface FileStorageOptions {
  /** Flush every write to the disk before returning (default true). Off: faster, not crash-safe. */
  readonly fsync?: boolean;
  /** How the JSON is spelled (default 'python', as raftos's JSON serializer writes it). */
  readonly jsonStyle?: JsonStyle;
}

/**
 * Figure 2's persistent state in raftos's files, for one node. Unlike raftos, every write is durable
 * before the call returns: appends are written to an open descriptor and fsync'd; anything that is not a
 * pure append (truncating the log, .storage, .state_machine) goes through temp file + fsync + rename.
 */
export class FileStorage implements Storage {
  readonly files: RaftosFileNames;
  readonly fsync: boolean;
  readonly jsonStyle: JsonStyle;
  /** How many writes of each kind happened and how many fsyncs they cost (the benchmark reports these). */
  readonly stats = { hardState: 0, logAppends: 0, logRewrites: 0, stateMachine: 0, snapshots: 0, fsyncs: 0 };
  /** Log compaction's file beside raftos's (written only once the node snapshots). */
  readonly snapshotFile: string;

  private readonly dir: string;
  /** The .log's entry lines as they are on disk (raftos's spacing kept), without '\n'. */
  private lines: string[] = [];
  /** The entries after the snapshot (entries[0] is at index base + 1). */
  private entries: LogEntry[] = [];
  private snapshot: Snapshot | null = null;
  private loaded = false;
  /** The .log can take an append as it is (else the next write rewrites it first). */
  private appendable = true;
  private appendFd: number | null = null;
  /** Background appends waiting for the write in flight, and that write (null when none is). */
  private readonly queuedAppends: Array<{ text: string; resolve: () => void; reject: (err: unknown) => void }> = [];
  private backgroundWrites: Promise<void> | null = null;
  private closed = false;

  constructor(dir: string, nodeId: NodeId, options: FileStorageOptions = {}) {
    this.dir = dir;
    this.files = fileNamesFor(dir, nodeId);
    this.snapshotFile = snapshotFileFor(dir, nodeId);
    this.fsync = options.fsync ?? true;
    this.jsonStyle = options.jsonStyle ?? 'python';
  }

  /**
   * Read the files (missing = empty). A corrupt file throws a RaftFileError and is left as it is.
   * A .storage whose term is below the log's last term is refused: the node would write lower terms after
   * higher ones. Without a .storage file the term starts at the log's last term.
   */
  load(): PersistentState {
    this.checkOpen();
    fs.mkdirSync(this.dir, { recursive: true });
    const log = readLogFile(this.files.log);
    const hard = readStorageFile(this.files.storage);
    const snapshot = readSnapshotFile(this.snapshotFile);
    const cut = log.snapshot?.index ?? 0;
    if (snapshot === null && cut > 0) {
      throw new RaftFileError(this.files.log, 1, `the entries up to ${cut} are said to be in a snapshot, but ${this.snapshotFile} does not exist`);
    }
    if (snapshot !== null && snapshot.index < cut) {
      throw new RaftFileError(this.snapshotFile, 1, `the snapshot ends at index ${snapshot.index}, but ${this.files.log} starts after index ${cut}`);
    }
    let entries = [...log.entries];
    let lines = [...log.lines];
    let appendable = log.appendable;
    if (snapshot !== null && snapshot.index > cut) {
      // The snapshot was written and the node stopped before it cut the log: cut it now (in memory; the next
      // write rewrites the file), keeping the entries after the snapshot only if the log matches it there.
      const at = snapshot.index - cut - 1;
      const keep = at < entries.length && entries[at]!.term === snapshot.term ? at + 1 : entries.length;
      entries = entries.slice(keep);
      lines = lines.slice(keep);
      appendable = false;
    }
    const lastTerm = entries.length > 0 ? entries[entries.length - 1]!.term : (snapshot?.term ?? 0);
    if (hard !== null && hard.currentTerm < lastTerm) {
      throw new RaftFileError(
        this.files.storage,
        1,
        `"term" ${hard.currentTerm} is lower than term ${lastTerm} of the last entry in ${this.files.log}`,
      );
    }
    this.closeAppendFd();
    this.entries = entries;
    // Keep the lines' original text (e.g. ujson's compact spacing): rewriting the tail after a
    // truncation leaves the head of a raftos file byte-for-byte as it was.
    this.lines = lines;
    this.appendable = appendable;
    this.snapshot = snapshot;
    this.loaded = true;
    // Every node of the manual's artifact folder has a .log, even one that never received an entry.
    if (!fs.existsSync(this.files.log)) fs.closeSync(fs.openSync(this.files.log, 'a'));
    const state = {
      currentTerm: Math.max(hard?.currentTerm ?? 0, lastTerm),
      votedFor: hard?.votedFor ?? null,
      log: [...this.entries],
    };
    return snapshot === null ? state : { ...state, snapshot };
  }

  /** The last index the snapshot covers, 0 without one. */
  get snapshotIndex(): number {
    return this.snapshot?.index ?? 0;
  }

  /**
   * Log compaction: the .snapshot file is replaced atomically and fsync'd first, then the log is cut (rewritten
   * with a first line naming the snapshot), so a crash in between leaves a snapshot and a log that load() cuts.
   */
  saveSnapshot(snapshot: Snapshot): void {
    this.checkOpen();
    this.checkNoBackgroundWrite('saveSnapshot');
    if (!this.loaded) this.load();
    const base = this.snapshotIndex;
    if (snapshot.index <= base) return;
    writeFileAtomic(this.snapshotFile, formatSnapshot(snapshot, this.jsonStyle), { fsync: this.fsync });
    if (this.fsync) this.stats.fsyncs += 2;
    this.stats.snapshots++;
    const at = snapshot.index - base - 1;
    const keep = at < this.entries.length && this.entries[at]!.term === snapshot.term ? at + 1 : this.entries.length;
    this.snapshot = snapshot;
    this.entries = this.entries.slice(keep);
    this.rewrite(this.lines.slice(keep));
    this.lines = this.lines.slice(keep);
  }

  saveHardState(state: HardState): void {
    this.checkOpen();
    this.checkNoBackgroundWrite('saveHardState');
    writeFileAtomic(this.files.storage, formatStorage(state, this.jsonStyle), { fsync: this.fsync });
    this.stats.hardState++;
    if (this.fsync) this.stats.fsyncs += 2;
  }

  writeLog(from: number, entries: readonly LogEntry[]): void {
    this.checkOpen();
    this.checkNoBackgroundWrite('writeLog');
    if (!this.loaded) this.load();
    const base = this.snapshotIndex;
    const length = base + this.entries.length;
    if (!Number.isInteger(from) || from <= base || from > length + 1) {
      throw new RangeError(from <= base && Number.isInteger(from)
        ? `writeLog from index ${from}: entries up to ${base} are in the snapshot`
        : `writeLog from index ${from} would leave a gap after index ${length}`);
    }
    if (from === length + 1 && entries.length === 0 && this.appendable) return;
    const newLines = entries.map((e) => formatLogEntry(e, this.jsonStyle));
    const keep = from - base - 1;
    if (from === length + 1 && this.appendable) {
      this.append(newLines);
    } else {
      this.rewrite([...this.lines.slice(0, keep), ...newLines]);
    }
    this.entries.length = keep;
    this.entries.push(...entries);
    this.lines.length = keep;
    this.lines.push(...newLines);
  }

  /**
   * Whether writeLog(from, ...) would be a pure append to the open .log, which appendInBackground can take.
   */
  canAppendInBackground(from: number): boolean {
    return !this.closed && this.loaded && this.appendable && from === this.snapshotIndex + this.entries.length + 1 && fs.existsSync(this.files.log);
  }

  /**
   * writeLog for a pure append (canAppendInBackground), written and fdatasync'd on libuv's threads: a leader's
   * write in parallel with its AppendEntries (dissertation 10.2.1). The entries are in `log` at once; the promise
   * resolves once they are durable. Appends complete in call order, and those queued behind a write share the
   * next write and fsync. Until backgroundSettled() resolves no other write may start (they would overtake).
   */
  appendInBackground(from: number, entries: readonly LogEntry[]): Promise<void> {
    this.checkOpen();
    if (!this.canAppendInBackground(from)) throw new RangeError(`appendInBackground from index ${from}: not a pure append to ${this.files.log}`);
    const newLines = entries.map((e) => formatLogEntry(e, this.jsonStyle));
    this.entries.push(...entries);
    this.lines.push(...newLines);
    if (this.appendFd === null) this.appendFd = fs.openSync(this.files.log, 'a', 0o644);
    const done = new Promise<void>((resolve, reject) => this.queuedAppends.push({ text: newLines.map((l) => l + '\n').join(''), resolve, reject }));
    this.backgroundWrites ??= this.drainAppends();
    return done;
  }

  /** Resolves once every background append has finished (each one's own promise says how). */
  async backgroundSettled(): Promise<void> {
    while (this.backgroundWrites !== null) await this.backgroundWrites.catch(() => undefined);
  }

  private async drainAppends(): Promise<void> {
    const fd = this.appendFd!;
    try {
      while (this.queuedAppends.length > 0) {
        const batch = this.queuedAppends.splice(0);
        try {
          const bytes = Buffer.from(batch.map((a) => a.text).join(''), 'utf8');
          let off = 0;
          while (off < bytes.length) off += await writeAsync(fd, bytes, off);
          if (this.fsync) {
            await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
            this.stats.fsyncs++;
          }
          this.stats.logAppends++;
          for (const a of batch) a.resolve();
        } catch (err) {
          for (const a of [...batch, ...this.queuedAppends.splice(0)]) a.reject(err);
        }
      }
    } finally {
      this.backgroundWrites = null;
    }
  }

  /** Rewrite the whole .state_machine, as raftos does after each apply. */
  saveStateMachine(dict: Readonly<Record<string, unknown>>): void {
    this.checkOpen();
    // Derived state, not part of Figure 2's persistent state: a restarted node rebuilds it from the log.
    // So it is replaced atomically (never half-written) but not fsync'd, which saves two fsyncs per commit.
    writeFileAtomic(this.files.stateMachine, formatStateMachine(dict, this.jsonStyle), { fsync: false });
    this.stats.stateMachine++;
  }

  /**
   * saveStateMachine without blocking the event loop (see WriteBehind), one call at a time: a call while another
   * is in flight, or a close() before it settles, would share its temp file.
   */
  async saveStateMachineAsync(dict: Readonly<Record<string, unknown>>): Promise<void> {
    this.checkOpen();
    await writeFileAtomicAsync(this.files.stateMachine, formatStateMachine(dict, this.jsonStyle));
    this.stats.stateMachine++;
  }

  /** The .state_machine's dict, or null if there is none yet. */
  loadStateMachine(): Record<string, unknown> | null {
    this.checkOpen();
    return readStateMachineFile(this.files.stateMachine);
  }

  /** The entries after the snapshot. */
  get log(): readonly LogEntry[] {
    return this.entries;
  }

  close(): void {
    this.checkNoBackgroundWrite('close');
    this.closeAppendFd();
    this.closed = true;
  }

  private append(lines: readonly string[]): void {
    let created = false;
    if (this.appendFd === null) {
      created = !fs.existsSync(this.files.log);
      this.appendFd = fs.openSync(this.files.log, 'a', 0o644);
    }
    writeAll(this.appendFd, Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8'));
    if (this.fsync) {
      fs.fdatasyncSync(this.appendFd);
      this.stats.fsyncs++;
      // A new file is only durable once its directory entry is.
      if (created) {
        fsyncDirectory(path.dirname(this.files.log));
        this.stats.fsyncs++;
      }
    }
    this.stats.logAppends++;
  }

  private rewrite(lines: readonly string[]): void {
    // The open descriptor would keep writing to the replaced inode.
    this.closeAppendFd();
    const header = this.snapshot === null ? '' : formatSnapshotHeader(this.snapshot.index, this.snapshot.term, this.jsonStyle) + '\n';
    writeFileAtomic(this.files.log, header + lines.map((l) => l + '\n').join(''), { fsync: this.fsync });
    this.appendable = true;
    this.stats.logRewrites++;
    if (this.fsync) this.stats.fsyncs += 2;
  }

  private closeAppendFd(): void {
    if (this.appendFd !== null) {
      fs.closeSync(this.appendFd);
      this.appendFd = null;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`storage for ${this.files.log} is closed`);
  }

  /** A write that must not overtake the background appends still in flight. */
  private checkNoBackgroundWrite(what: string): void {
    if (this.backgroundWrites !== null) throw new Error(`${what} for ${this.files.log} while a background append is in flight (await backgroundSettled() first)`);
  }
}

function writeAsync(fd: number, bytes: Uint8Array, offset: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, bytes, offset, bytes.length - offset, null, (err, written) => (err ? reject(err) : resolve(written))));
}
