import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SubmissionGrade } from './grade';
import { safeFileName } from './file-names';

/**
 * One result file per graded submission in OUT/results/, written atomically (temporary file, rename) as
 * soon as the submission is graded, so a grader killed at submission 600 of 1,000 keeps its 599 results.
 * A result is up to date when its key matches: the hash of the submission's graded files together with the
 * grader's fingerprint (its own sources, the library and the reference notebooks, and the grading options).
 */

const RESULTS_DIR = 'results';
const FORMAT = 1;

interface StoredResult {
  readonly format: number;
  readonly submission: string;
  /** submissionKey(): what this result was computed from. */
  readonly key: string;
  readonly gradedAt: string;
  readonly grade: SubmissionGrade;
}

/** sha256 over the files' names and bytes, in name order: the same files always give the same hash. */
export function filesHash(files: ReadonlyMap<string, Uint8Array | string>): string {
  const h = createHash('sha256');
  for (const name of [...files.keys()].sort()) {
    const bytes = files.get(name)!;
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    h.update(`${name}\0${buf.length}\0`);
    h.update(buf);
  }
  return h.digest('hex');
}

/** The key a result is stored under: what was graded (files) and how (the grader's fingerprint). */
export function submissionKey(files: ReadonlyMap<string, Uint8Array | string>, fingerprint: string): string {
  return createHash('sha256').update(fingerprint).update('\0').update(filesHash(files)).digest('hex');
}

function sourcesHash(h: ReturnType<typeof createHash>, dir: string, accept: (name: string) => boolean): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourcesHash(h, full, accept);
    else if (entry.isFile() && accept(entry.name)) {
      h.update(`${path.relative(repoRoot, full)}\0`);
      h.update(fs.readFileSync(full));
    }
  }
}

const repoRoot = path.resolve(__dirname, '..');

/**
 * What a grade depends on besides the submission: the grader's and the library's sources, the reference
 * notebooks (hidden tests) and the options. A change to any of them makes every stored result stale.
 */
export function graderFingerprint(options: Record<string, unknown>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(options));
  sourcesHash(h, path.join(repoRoot, 'grading'), (n) => n.endsWith('.ts'));
  sourcesHash(h, path.join(repoRoot, 'lib'), (n) => n.endsWith('.ts'));
  if (options['notebooks']) sourcesHash(h, path.join(repoRoot, 'notebooks', 'solution'), (n) => n.endsWith('.ipynb'));
  return h.digest('hex');
}

export class ResultsStore {
  readonly dir: string;

  constructor(outDir: string) {
    this.dir = path.join(outDir, RESULTS_DIR);
    fs.mkdirSync(this.dir, { recursive: true });
  }

  /** One file per submission id; the id's hash keeps ids that map to the same safe name apart. */
  fileOf(submission: string): string {
    const tag = createHash('sha256').update(submission).digest('hex').slice(0, 10);
    return path.join(this.dir, `${safeFileName(submission).slice(0, 80)}.${tag}.json`);
  }

  /** The stored grade of `submission` if it was computed under `key`; otherwise (none, stale, unreadable) null. */
  get(submission: string, key: string): SubmissionGrade | null {
    let text: string;
    try {
      text = fs.readFileSync(this.fileOf(submission), 'utf8');
    } catch {
      return null;
    }
    try {
      const stored = JSON.parse(text) as StoredResult;
      if (stored.format !== FORMAT || stored.submission !== submission || stored.key !== key) return null;
      return stored.grade;
    } catch {
      return null; // a damaged file is graded again and replaced
    }
  }

  /** Write the grade atomically: a reader (or a rerun after a kill) sees the old file or the new one, never half. */
  put(submission: string, key: string, grade: SubmissionGrade): void {
    const file = this.fileOf(submission);
    const stored: StoredResult = { format: FORMAT, submission, key, gradedAt: new Date().toISOString(), grade };
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    // No fsync: it costs more than grading an artifact submission. The rename is atomic against a killed
    // process; after a power cut a file may come back empty, and get() then grades that submission again.
    fs.writeFileSync(tmp, JSON.stringify(stored));
    fs.renameSync(tmp, file);
  }

  /** --fresh: forget every stored result (only this store's files are removed). */
  clear(): number {
    let removed = 0;
    for (const name of fs.readdirSync(this.dir)) {
      if (/\.json$|\.tmp$/.test(name)) {
        fs.rmSync(path.join(this.dir, name), { force: true });
        removed++;
      }
    }
    return removed;
  }
}
