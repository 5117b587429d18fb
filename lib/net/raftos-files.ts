import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HardState, LogEntry, NodeId, Snapshot } from '../raft/types';
import { isPlainObject, jsonValueProblem, pythonJson } from './python-json';
import { parseNodeId } from './udp-transport';

/**
 * raftos's three files, `<host>_<port>.log|.storage|.state_machine` (see shared/notes/raftos.md).
 * Readers accept whatever raftos wrote (Python `json` or compact `ujson` spacing, with or without a final
 * newline, blank lines at the end, an empty .storage/.state_machine, which raftos creates when it looks a
 * key up before writing one) and refuse anything else with a RaftFileError naming file and line.
 * Readers never modify a file.
 */

export class RaftFileError extends Error {
  override readonly name = 'RaftFileError';
  readonly file: string;
  /** 1-based; null when the problem is not on one line (e.g. files that disagree). */
  readonly line: number | null;
  readonly problem: string;

  constructor(file: string, line: number | null, problem: string, options?: { cause?: unknown }) {
    super(`${file}${line === null ? '' : ` line ${line}`}: ${problem}`, options);
    this.file = file;
    this.line = line;
    this.problem = problem;
  }
}

export interface RaftosFileNames {
  readonly log: string;
  readonly storage: string;
  readonly stateMachine: string;
}

/**
 * Log compaction's file beside raftos's three (not a raftos file): `127.0.0.1_8000.snapshot`, the state machine
 * after applying entries 1..last_included_index. A node that never snapshots never writes one.
 */
export function snapshotFileFor(dir: string, nodeId: NodeId): string {
  parseNodeId(nodeId, 'node id');
  return path.join(dir, `${nodeId.replace(/:/g, '_')}.snapshot`);
}

/** raftos names the files after the node id with ':' replaced by '_': 127.0.0.1_8000.log. */
export function fileNamesFor(dir: string, nodeId: NodeId): RaftosFileNames {
  parseNodeId(nodeId, 'node id');
  const base = path.join(dir, nodeId.replace(/:/g, '_'));
  return { log: `${base}.log`, storage: `${base}.storage`, stateMachine: `${base}.state_machine` };
}

// ---- Parsing (text in, values out) ----

/** What a .log file says, plus whether appending a line to it as it stands would be safe. */
export interface ParsedLog {
  /** The entries from index `snapshot.index + 1` (1 without a snapshot) on. */
  readonly entries: LogEntry[];
  /** Each entry's line as written (its spacing kept, '\r' dropped), without '\n'. */
  readonly lines: string[];
  /**
   * The log's first line when the entries up to `index` were compacted into a snapshot:
   * `{"snapshot": {"last_included_index": N, "last_included_term": T}}`. Absent in raftos's own files.
   */
  readonly snapshot?: { readonly index: number; readonly term: number };
  /** The file is empty or ends with exactly one '\n' after the last entry and has no '\r'. */
  readonly appendable: boolean;
}

export function parseLogText(text: string, file: string): ParsedLog {
  const lines = text.split('\n');
  let last = lines.length;
  while (last > 0 && lines[last - 1]!.trim() === '') last--;
  const entries: LogEntry[] = [];
  const snapshot = last > 0 ? parseSnapshotHeader(lines[0]!, file) : null;
  const first = snapshot === null ? 0 : 1;
  let floor = snapshot?.term ?? 0;
  for (let i = first; i < last; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (line.trim() === '') throw new RaftFileError(file, lineNo, `empty line (line N must hold log entry N)`);
    const entry = parseEntry(parseJson(line, file, lineNo), file, lineNo);
    if (entry.term < floor) {
      const what = entries.length > 0 ? `term ${floor} on line ${lineNo - 1}` : `the snapshot's last term ${floor}`;
      throw new RaftFileError(file, lineNo, `term ${entry.term} is lower than ${what} (terms in a log never decrease)`);
    }
    floor = entry.term;
    entries.push(entry);
  }
  const appendable = !text.includes('\r') && (text === '' || (text.endsWith('\n') && last === lines.length - 1));
  const parsed = { entries, lines: lines.slice(first, last).map((l) => l.replace(/\r$/, '')), appendable };
  return snapshot === null ? parsed : { ...parsed, snapshot };
}

/** The header line of a compacted log, or null when the line is an ordinary entry. */
function parseSnapshotHeader(line: string, file: string): { index: number; term: number } | null {
  if (!/^\s*\{\s*"snapshot"/.test(line)) return null;
  const value = parseJson(line, file, 1);
  if (!isPlainObject(value) || Object.keys(value).length !== 1 || !isPlainObject(value['snapshot'])) {
    throw new RaftFileError(file, 1, 'expected {"snapshot": {"last_included_index": N, "last_included_term": T}}');
  }
  const header = value['snapshot'];
  const index = header['last_included_index'];
  const term = header['last_included_term'];
  if (Object.keys(header).length !== 2 || !isTerm(index) || index < 1 || !isTerm(term) || term < 1) {
    throw new RaftFileError(file, 1, `"snapshot" must be {"last_included_index": N, "last_included_term": T} with N, T >= 1, found ${show(header)}`);
  }
  return { index, term };
}

export function formatSnapshotHeader(index: number, term: number, style: JsonStyle = 'python'): string {
  return serialize({ snapshot: { last_included_index: index, last_included_term: term } }, style);
}

/** A .snapshot file's text: {"last_included_index": N, "last_included_term": T, "state": {...}}. */
export function parseSnapshotText(text: string, file: string): Snapshot {
  const value = parseJson(text, file, 1);
  if (!isPlainObject(value)) throw new RaftFileError(file, 1, `expected an object {"last_included_index", "last_included_term", "state"}, found ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (!['last_included_index', 'last_included_term', 'state', 'config'].includes(key)) throw new RaftFileError(file, 1, `unexpected key ${JSON.stringify(key)}`);
  }
  const index = value['last_included_index'];
  const term = value['last_included_term'];
  const state = value['state'];
  if (!isTerm(index) || index < 1) throw new RaftFileError(file, 1, `"last_included_index" must be a positive integer, found ${show(index)}`);
  if (!isTerm(term) || term < 1) throw new RaftFileError(file, 1, `"last_included_term" must be a positive integer, found ${show(term)}`);
  if (!isPlainObject(state)) throw new RaftFileError(file, 1, `"state" must be an object (the state machine's dict), found ${kind(state)}`);
  const problem = jsonValueProblem(state);
  if (problem !== null) throw new RaftFileError(file, 1, `"state" ${problem}`);
  if (value['config'] === undefined) return { index, term, state: JSON.stringify(state) };
  const config = value['config'];
  const ok = isPlainObject(config) && Object.keys(config).length === 2 && ['voters', 'learners'].every((k) => Array.isArray(config[k]) && (config[k] as unknown[]).every(isNodeId));
  if (!ok) throw new RaftFileError(file, 1, `"config" must be {"voters": [...], "learners": [...]} of node ids, found ${show(config)}`);
  const c = config as { voters: string[]; learners: string[] };
  return { index, term, state: JSON.stringify(state), config: { voters: [...c.voters], learners: [...c.learners] } };
}

/** null when the file does not exist. */
export function readSnapshotFile(file: string): Snapshot | null {
  const text = readTextFile(file);
  return text === null ? null : parseSnapshotText(text, file);
}

export function formatSnapshot(snapshot: Snapshot, style: JsonStyle = 'python'): string {
  const state: unknown = JSON.parse(snapshot.state);
  const config = snapshot.config === undefined ? {} : { config: { voters: [...snapshot.config.voters], learners: [...snapshot.config.learners] } };
  return serialize({ last_included_index: snapshot.index, last_included_term: snapshot.term, state, ...config }, style);
}

function parseEntry(value: unknown, file: string, line: number): LogEntry {
  if (!isPlainObject(value)) throw new RaftFileError(file, line, `expected an object {"term": ..., "command": ...}, found ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'term' && key !== 'command') throw new RaftFileError(file, line, `unexpected key ${JSON.stringify(key)} (a log entry has only "term" and "command")`);
  }
  if (!('term' in value)) throw new RaftFileError(file, line, `missing "term"`);
  if (!('command' in value)) throw new RaftFileError(file, line, `missing "command"`);
  const { term, command } = value;
  if (!isTerm(term)) throw new RaftFileError(file, line, `"term" must be a non-negative integer, found ${show(term)}`);
  if (command !== null && !isPlainObject(command)) throw new RaftFileError(file, line, `"command" must be an object or null, found ${kind(command)}`);
  const problem = jsonValueProblem(command);
  if (problem !== null) throw new RaftFileError(file, line, `"command" ${problem}`);
  return { term, command };
}

export function parseStorageText(text: string, file: string): HardState {
  if (text.trim() === '') return { currentTerm: 0, votedFor: null };
  const value = parseJson(text, file, 1);
  if (!isPlainObject(value)) throw new RaftFileError(file, 1, `expected an object {"term": ..., "voted_for": ...}, found ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'term' && key !== 'voted_for') throw new RaftFileError(file, 1, `unexpected key ${JSON.stringify(key)} (expected only "term" and "voted_for")`);
  }
  // raftos writes one key at a time, so {"term": 0} alone is a file it really leaves behind.
  if (!('term' in value)) throw new RaftFileError(file, 1, `missing "term"`);
  const term = value['term'];
  if (!isTerm(term)) throw new RaftFileError(file, 1, `"term" must be a non-negative integer, found ${show(term)}`);
  const votedFor = value['voted_for'] ?? null;
  if (votedFor !== null && !isNodeId(votedFor)) {
    throw new RaftFileError(file, 1, `"voted_for" must be null or a node id "host:port", found ${show(votedFor)}`);
  }
  return { currentTerm: term, votedFor };
}

export function parseStateMachineText(text: string, file: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const value = parseJson(text, file, 1);
  if (!isPlainObject(value)) throw new RaftFileError(file, 1, `expected a JSON object, found ${kind(value)}`);
  const problem = jsonValueProblem(value);
  if (problem !== null) throw new RaftFileError(file, 1, `value ${problem}`);
  return value;
}

function parseJson(text: string, file: string, firstLine: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // V8's message does not always say where; find the spot ourselves to name the line.
    const at = jsonErrorOffset(text);
    let line = firstLine;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (text.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const column = at >= 0 ? ` at column ${at - lineStart + 1}` : '';
    throw new RaftFileError(file, line, `not valid JSON${column} (${message})`, { cause: err });
  }
}

/** Offset of the first JSON syntax error in `s`, or -1. Iterative, so deep nesting is no problem. */
export function jsonErrorOffset(s: string): number {
  const stack: string[] = [];
  let i = 0;
  let state: 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'after' = 'value';
  const skipSpace = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  for (;;) {
    skipSpace();
    const c = s[i];
    if (state === 'after') {
      const top = stack[stack.length - 1];
      if (top === undefined) return i < s.length ? i : -1;
      if (c === ',') {
        i++;
        state = top === '{' ? 'key' : 'value';
      } else if ((top === '{' && c === '}') || (top === '[' && c === ']')) {
        i++;
        stack.pop();
      } else {
        return i;
      }
      continue;
    }
    if (state === 'key' || state === 'keyOrClose') {
      if (state === 'keyOrClose' && c === '}') {
        i++;
        stack.pop();
        state = 'after';
        continue;
      }
      if (c !== '"') return i;
      const end = scanString(s, i);
      if (end < 0) return -end - 1;
      i = end;
      skipSpace();
      if (s[i] !== ':') return i;
      i++;
      state = 'value';
      continue;
    }
    if (state === 'valueOrClose' && c === ']') {
      i++;
      stack.pop();
      state = 'after';
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push(c);
      i++;
      state = c === '{' ? 'keyOrClose' : 'valueOrClose';
      continue;
    }
    if (c === '"') {
      const end = scanString(s, i);
      if (end < 0) return -end - 1;
      i = end;
    } else if (s.startsWith('true', i)) i += 4;
    else if (s.startsWith('false', i)) i += 5;
    else if (s.startsWith('null', i)) i += 4;
    else {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(s);
      if (!m) return i;
      i += m[0].length;
    }
    state = 'after';
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** End offset of the string starting at s[i] === '"', or -(offset of the error) - 1. */
function scanString(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -j - 1;
    if (c === 0x5c) {
      const e = s[j + 1];
      if (e === 'u') {
        if (!/^[0-9A-Fa-f]{4}$/.test(s.slice(j + 2, j + 6))) return -j - 1;
        j += 6;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) j += 2;
      else return -j - 1;
    } else j++;
  }
  return -j - 1;
}

function isTerm(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isNodeId(value: unknown): value is string {
  try {
    parseNodeId(value);
    return true;
  } catch {
    return false;
  }
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

// ---- Reading files ----

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The file's text, or null if it does not exist. Invalid UTF-8 is an error naming its line. */
export function readTextFile(file: string): string | null {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RaftFileError(file, null, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  try {
    return utf8.decode(bytes);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          utf8.decode(bytes.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    throw new RaftFileError(file, line, 'not valid UTF-8 text');
  }
}

export function readLogFile(file: string): ParsedLog {
  const text = readTextFile(file);
  return text === null ? { entries: [], lines: [], appendable: true } : parseLogText(text, file);
}

/** null when the file does not exist. */
export function readStorageFile(file: string): HardState | null {
  const text = readTextFile(file);
  return text === null ? null : parseStorageText(text, file);
}

/** null when the file does not exist (raftos creates it only once something is applied). */
export function readStateMachineFile(file: string): Record<string, unknown> | null {
  const text = readTextFile(file);
  return text === null ? null : parseStateMachineText(text, file);
}

export interface RaftosFiles {
  readonly files: RaftosFileNames;
  readonly log: readonly LogEntry[];
  /** null: no .storage file. */
  readonly hardState: HardState | null;
  /** null: no .state_machine file. */
  readonly stateMachine: Record<string, unknown> | null;
}

/** Read and check all three files of one node; missing files read as empty state. */
export function readRaftosFiles(dir: string, nodeId: NodeId): RaftosFiles {
  const files = fileNamesFor(dir, nodeId);
  return {
    files,
    log: readLogFile(files.log).entries,
    hardState: readStorageFile(files.storage),
    stateMachine: readStateMachineFile(files.stateMachine),
  };
}

// ---- Writing ----

/**
 * raftos's two spellings of JSON: 'python' is json.dumps (`{"term": 1, "command": {"data_id": 1}}`), the default
 * and what the manual shows; 'compact' is what raftos writes when ujson is installed (`{"term":1,...}`).
 */
export type JsonStyle = 'python' | 'compact';

function serialize(value: unknown, style: JsonStyle): string {
  return style === 'compact' ? JSON.stringify(value) : pythonJson(value);
}

/** One .log line, without its '\n'. */
export function formatLogEntry(entry: LogEntry, style: JsonStyle = 'python'): string {
  return serialize({ term: entry.term, command: entry.command }, style);
}

/** A whole .log file: one line per entry, each ending with '\n' (as raftos writes it). */
export function formatLog(entries: readonly LogEntry[], style: JsonStyle = 'python'): string {
  return entries.map((e) => formatLogEntry(e, style) + '\n').join('');
}

/** A .storage file, without a final newline like raftos's: {"term": 3, "voted_for": "127.0.0.1:8001"}. */
export function formatStorage(state: HardState, style: JsonStyle = 'python'): string {
  return serialize({ term: state.currentTerm, voted_for: state.votedFor }, style);
}

/** A .state_machine file, without a final newline: {"data_id": 2}. */
export function formatStateMachine(dict: Readonly<Record<string, unknown>>, style: JsonStyle = 'python'): string {
  return serialize(dict, style);
}

/**
 * Replace `file` with `data` so that a crash leaves either the old or the new content: write a temp file,
 * fsync it, rename it over the target, fsync the directory (so the rename itself is durable).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, options: { readonly fsync?: boolean } = {}): void {
  const sync = options.fsync ?? true;
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (sync) fsyncDirectory(path.dirname(file));
}

/**
 * writeFileAtomic off the event loop (the work runs on libuv's threads), for derived files only: not fsync'd.
 * One at a time per file: two overlapping calls would share the temp file.
 */
export async function writeFileAtomicAsync(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.promises.writeFile(tmp, data, { mode: 0o644 });
  await fs.promises.rename(tmp, file);
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return; // platforms that cannot open a directory (Windows) cannot fsync one either
  }
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/** Write a node's files the way FileStorage would (for fixtures, graders and tools); each write is atomic. */
export function writeRaftosFiles(
  dir: string,
  nodeId: NodeId,
  state: { readonly log?: readonly LogEntry[]; readonly hardState?: HardState; readonly stateMachine?: Readonly<Record<string, unknown>> },
  options: { readonly fsync?: boolean } = {},
): RaftosFileNames {
  const files = fileNamesFor(dir, nodeId);
  fs.mkdirSync(dir, { recursive: true });
  if (state.log) writeFileAtomic(files.log, formatLog(state.log), options);
  if (state.hardState) writeFileAtomic(files.storage, formatStorage(state.hardState), options);
  if (state.stateMachine) writeFileAtomic(files.stateMachine, formatStateMachine(state.stateMachine), options);
  return files;
}
