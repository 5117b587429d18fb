import { HandlerError } from '../raft/context';
import { isLibraryCode } from '../raft/library-code';
import type { CreateNode } from '../raft/node';
import type { LogEntry, NodeId, PersistentState } from '../raft/types';
import { formatLog, formatStorage } from '../net/raftos-files';
import { Isolate, isIsolated } from './isolate';
import { functionSource } from './isolated-node';

/**
 * Notebook 03's exercise in the servers: every (re)start of a server goes through raftos's files and the
 * student's `restore`. The persisted state is written as the `.storage` and `.log` text raftos writes, `restore`
 * reads it back, and the server starts from what it returned, so a restore that loses the term, the vote or
 * the log is caught by the scenarios and the safety monitor like any other bug.
 */

export type Restore = (storageText: string, logText: string) => PersistentState;

/** A node's persistent state as raftos writes it: .storage = currentTerm + votedFor, .log = log[]. */
export function raftosFiles(state: PersistentState): { storage: string; log: string } {
  return { storage: formatStorage({ currentTerm: state.currentTerm, votedFor: state.votedFor }), log: formatLog(state.log) };
}

const rule = 'a server restarts from exactly the persistent state it saved (currentTerm, votedFor, log[])';

/**
 * The student's restore where it can reach nothing but its arguments: a notebook cell's function runs in an
 * Isolate of its own (only its source is used, so it must be self-contained); one the grader already isolated,
 * or the library's own, is called as it is.
 */
export function isolatedRestore(restore: Restore): Restore {
  if (typeof restore !== 'function') throw new TypeError(`restore must be a function, got ${typeof restore}`);
  if (isIsolated(restore) || isLibraryCode(restore)) return restore;
  const isolate = new Isolate({ timeoutMs: 2000 });
  isolate.evaluate(`var __student_restore = (${functionSource(restore as (...a: unknown[]) => unknown, 'restore')});`, 'restore.js');
  return (storage, log) => isolate.call('__student_restore', [storage, log]) as PersistentState;
}

/**
 * A factory whose servers start from what `read` gives back from their files (wrapping `inner`, the factory of
 * the handlers and rules). `read` is called as it is: pass a student's restore through isolatedRestore first.
 * A restore that throws or returns something that is not a persistent state stops the run with a HandlerError
 * naming restore, the server and what was wrong.
 */
export function restartThrough(read: Restore, inner: CreateNode): CreateNode {
  return (options, persisted, now) => {
    const files = raftosFiles(persisted);
    const event = `restarting ${options.id} from its files`;
    let restored: unknown;
    try {
      restored = read(files.storage, files.log);
    } catch (error) {
      const detail = error instanceof Error ? error.message.split('\n').slice(0, 3).join(' / ') : String(error);
      throw new HandlerError('restore', event, 'restore reads back what the server wrote, without throwing', detail, options.id);
    }
    const problem = stateProblem(restored, [options.id, ...options.peers]);
    if (problem) throw new HandlerError('restore', event, rule, `${problem} (read from .storage ${JSON.stringify(files.storage.trim())})`, options.id);
    return inner(options, restored as PersistentState, now);
  };
}

/** What is wrong with a value that should be a PersistentState, or null. */
export function stateProblem(value: unknown, members: readonly NodeId[]): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `restore returned ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, not { currentTerm, votedFor, log }`;
  const s = value as Record<string, unknown>;
  const term = s['currentTerm'];
  if (!(typeof term === 'number' && Number.isInteger(term) && term >= 0)) return `currentTerm is ${JSON.stringify(term)}, not a whole number >= 0`;
  const vote = s['votedFor'];
  if (!(vote === null || (typeof vote === 'string' && members.includes(vote)))) return `votedFor is ${JSON.stringify(vote)}, not null or a server of the cluster`;
  const log = s['log'];
  if (!Array.isArray(log)) return `log is ${JSON.stringify(log)}, not a list of entries`;
  let previous = 0;
  for (let i = 0; i < log.length; i++) {
    const e = log[i] as Partial<LogEntry> | null;
    const t = e && typeof e === 'object' ? e.term : undefined;
    if (!(typeof t === 'number' && Number.isInteger(t) && t >= 1)) return `log[${i + 1}] has term ${JSON.stringify(t)}, not a whole number >= 1`;
    if (!('command' in (e as object))) return `log[${i + 1}] has no command`;
    if (t < previous) return `log[${i + 1}] has term ${t} after an entry of term ${previous}: a log's terms never go down`;
    previous = t;
  }
  return null;
}

/** A server's persistent state as the cluster shows it (a copy: the status's log is the node's own). */
export function persistentStateOf(s: { readonly term: number; readonly votedFor: NodeId | null; readonly log: readonly LogEntry[] }): PersistentState {
  return { currentTerm: s.term, votedFor: s.votedFor, log: s.log.map((e) => ({ term: e.term, command: e.command })) };
}

/**
 * What a restart lost or changed, in a phrase ("votedFor null where it saved n1 (in term 3)"), or null if the
 * server came back with exactly what it saved. `name` prints a server.
 */
export function restartDifference(saved: PersistentState, back: PersistentState, name: (id: NodeId | null) => string = String): string | null {
  const out: string[] = [];
  if (back.currentTerm !== saved.currentTerm) out.push(`currentTerm ${back.currentTerm} where it saved ${saved.currentTerm}`);
  if (back.votedFor !== saved.votedFor) out.push(`votedFor ${name(back.votedFor)} where it saved ${name(saved.votedFor)} (in term ${saved.currentTerm})`);
  const i = firstLogDifference(saved.log, back.log);
  if (i !== null) {
    out.push(i > Math.min(saved.log.length, back.log.length)
      ? `${back.log.length} log entries where it saved ${saved.log.length}`
      : `log[${i}] = ${JSON.stringify(back.log[i - 1])} where it saved ${JSON.stringify(saved.log[i - 1])}`);
  }
  return out.length === 0 ? null : out.join('; ');
}

/** The first 1-based index where two logs differ (length included), or null if they are equal. */
function firstLogDifference(a: readonly LogEntry[], b: readonly LogEntry[]): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i]!.term !== b[i]!.term || JSON.stringify(a[i]!.command) !== JSON.stringify(b[i]!.command)) return i + 1;
  }
  return a.length === b.length ? null : n + 1;
}
