import * as os from 'node:os';
import * as path from 'node:path';
import { fingerprintArtifacts, storeFingerprint } from './similarity';
import { gradeFiles, gradeNotebooks, uniqueIds, type NotebookGrading, type SubmissionGrade } from './grade';
import { graderFingerprint, ResultsStore, submissionKey } from './results-store';
import { defaultLimits, loadSubmission, SubmissionError, type LoadLimits } from './submission';

/**
 * Grading a whole class, resumably: each submission is loaded (in memory), keyed by the hash of its graded files,
 * looked up in OUT/results/, graded only when no up-to-date result is there, and its result stored at once.
 * The same steps serve the local batch and the job queue (grading/queue/), which grades the content elsewhere.
 */

/** A submission read and keyed, ready to grade; or the reason it cannot be graded at all. */
export interface PreparedSubmission {
  readonly id: string;
  readonly source: string;
  readonly files?: ReadonlyMap<string, Uint8Array>;
  readonly key?: string;
  readonly error?: string;
}

export interface ClassOptions {
  readonly out: string;
  /** Forget stored results and grade everything again. */
  readonly fresh?: boolean;
  /** Submissions graded at once; default the number of cores. */
  readonly concurrency?: number;
  readonly notebooks?: NotebookGrading;
  readonly limits?: LoadLimits;
}

/** What stored results are keyed by besides the files: grader sources and the options that change a grade. */
export function fingerprintFor(options: Pick<ClassOptions, 'notebooks' | 'limits'>): string {
  const nb = options.notebooks;
  return graderFingerprint({
    // kernelRun adds a check (worth nothing): a result graded without it is not the one asked for with it.
    notebooks: nb ? { cellTimeoutS: nb.cellTimeoutS ?? null, totalTimeoutS: nb.totalTimeoutS ?? null, ...(nb.kernelRun ? { kernelRun: true } : {}) } : null,
    limits: options.limits ?? defaultLimits,
  });
}

export function defaultConcurrency(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export async function prepareSubmission(source: string, id: string, fingerprint: string, limits: LoadLimits = defaultLimits): Promise<PreparedSubmission> {
  try {
    const loaded = await loadSubmission(source, limits);
    return { id, source, files: loaded.files, key: submissionKey(loaded.files, fingerprint) };
  } catch (error) {
    const message = error instanceof SubmissionError ? error.message : `${path.basename(source)}: grader error: ${(error as Error).message}`;
    return { id, source, error: message };
  }
}

/** Grade files already in memory (here or on a queue worker); any problem becomes the grade's error. */
export async function gradeContent(id: string, source: string, files: ReadonlyMap<string, Uint8Array>, notebooks?: NotebookGrading): Promise<SubmissionGrade> {
  try {
    const grade = { ...gradeFiles(id, files, { programs: true, source }), artifacts: storeFingerprint(fingerprintArtifacts(files)) };
    if (!notebooks) return grade;
    return { ...grade, tasks: { ...grade.tasks, notebooks: await gradeNotebooks(id, files, notebooks) } };
  } catch (error) {
    return { submission: id, source, tasks: {}, error: `${path.basename(source)}: grader error: ${(error as Error).message}` };
  }
}

export function errorGrade(p: PreparedSubmission): SubmissionGrade {
  return { submission: p.id, source: p.source, tasks: {}, error: p.error ?? 'not graded' };
}

/** How a class run is going, after each submission. */
export interface ClassProgress {
  readonly total: number;
  readonly done: number;
  /** Results taken from OUT/results/ (graded by an earlier run). */
  readonly reused: number;
  /** Submissions that could not be graded so far. */
  readonly failures: number;
  readonly last: SubmissionGrade;
  /** `last` came from the store. */
  readonly lastReused: boolean;
}

export interface ClassResult {
  /** In the order of the sources. */
  readonly grades: SubmissionGrade[];
  readonly reused: number;
  readonly graded: number;
}

/** A results store for OUT, emptied first with --fresh. */
export function openStore(options: Pick<ClassOptions, 'out' | 'fresh'>): ResultsStore {
  const store = new ResultsStore(options.out);
  if (options.fresh) store.clear();
  return store;
}

/**
 * Grade the class on this machine, `concurrency` submissions at once. A stored, up-to-date result is reused;
 * a new one is stored as soon as it is computed. Grades with an error (unreadable submission, grader error)
 * are never stored: the next run tries them again.
 */
export async function gradeClass(sources: readonly string[], options: ClassOptions & { readonly onProgress?: (p: ClassProgress) => void }): Promise<ClassResult> {
  const store = openStore(options);
  const fingerprint = fingerprintFor(options);
  const ids = uniqueIds(sources);
  const grades: SubmissionGrade[] = new Array(sources.length);
  let next = 0;
  let done = 0;
  let reused = 0;
  let graded = 0;
  let failures = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= sources.length) return;
      const p = await prepareSubmission(sources[i]!, ids[i]!, fingerprint, options.limits);
      let grade: SubmissionGrade;
      let fromStore = false;
      if (p.files === undefined || p.key === undefined) {
        grade = errorGrade(p);
      } else {
        const stored = store.get(p.id, p.key);
        if (stored) {
          grade = { ...stored, source: p.source };
          reused++;
          fromStore = true;
        } else {
          grade = await gradeContent(p.id, p.source, p.files, options.notebooks);
          graded++;
          if (grade.error === undefined) store.put(p.id, p.key, grade);
        }
      }
      grades[i] = grade;
      if (grade.error !== undefined) failures++;
      options.onProgress?.({ total: sources.length, done: ++done, reused, failures, last: grade, lastReused: fromStore });
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? defaultConcurrency(), sources.length));
  await Promise.all(Array.from({ length: n }, worker));
  return { grades, reused, graded };
}

/**
 * Bound the JavaScript heap of every notebook kernel started from now on: the kernel is a node process started
 * by Jupyter from this process's environment, so it inherits NODE_OPTIONS (the Python runner ignores it).
 */
export function boundKernelMemory(megabytes: number): void {
  const kept = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o !== '' && !o.startsWith('--max-old-space-size'));
  process.env.NODE_OPTIONS = [...kept, `--max-old-space-size=${megabytes}`].join(' ');
}
