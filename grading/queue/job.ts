import { createHash } from 'node:crypto';
import type { NotebookGrading } from '../grade';

/**
 * A grading job carries the submission's content (its graded files, base64), never a path: a worker needs no
 * shared file system. Its id is derived from the submission id and the key its result is stored under, so the
 * same submission enqueued twice is one job, and is counted once.
 */
export interface GradeJobData {
  readonly submission: string;
  /** Where the instructor read it (shown in messages only). */
  readonly source: string;
  /** submissionKey(files, fingerprint): the worker recomputes it and refuses a job whose content or grader differs. */
  readonly key: string;
  readonly fingerprint: string;
  readonly files: Record<string, string>;
  readonly notebooks: Omit<NotebookGrading, 'workDir'> | null;
}

export function jobIdFor(submission: string, key: string): string {
  // BullMQ ids may not contain ':'; hex keeps any student id safe.
  return `${createHash('sha256').update(submission).digest('hex').slice(0, 16)}-${key.slice(0, 40)}`;
}

export function encodeFiles(files: ReadonlyMap<string, Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, bytes] of files) out[name] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return out;
}

export function decodeFiles(files: Record<string, string>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of Object.keys(files)) out.set(name, Buffer.from(files[name]!, 'base64'));
  return out;
}

/** A job's time limit: each notebook's own limit (its kernel is killed then) plus a margin, or two minutes for artifacts only. */
export function jobTimeoutMs(data: GradeJobData): number {
  const notebooks = Object.keys(data.files).filter((n) => n.endsWith('.ipynb')).length;
  if (!data.notebooks || notebooks === 0) return 120_000;
  return notebooks * (data.notebooks.totalTimeoutS ?? 900) * 1000 + 60_000;
}
