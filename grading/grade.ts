import * as fs from 'node:fs';
import * as path from 'node:path';
import { taskJson, taskResult, type TaskResult } from './checks';
import type { SubmissionFiles } from './lab-files';
import { defaultLimits, loadSubmission, SubmissionError, submissionId, type LoadLimits } from './submission';
import { gradeNotebook, NOTEBOOK_NAME } from './notebook-grader';
import { safeFileName } from './file-names';
import { fingerprintArtifacts, storeFingerprint, type StoredFingerprint } from './similarity';
import { checkTask2 } from './task2';
import { checkTask3 } from './task3';

/** The grade of one submission: both tasks, or the error that kept it from being graded. */
export interface SubmissionGrade {
  readonly submission: string;
  readonly source: string;
  readonly tasks: { readonly task2?: TaskResult; readonly task3?: TaskResult; readonly notebooks?: TaskResult };
  readonly error?: string;
  /** What the similarity report compares (grading/similarity.ts); only for loaded submissions. */
  readonly artifacts?: StoredFingerprint;
}

/** Grade files already in memory (a loaded submission, or a notebook's files). */
export function gradeFiles(id: string, files: SubmissionFiles, options: { readonly programs?: boolean; readonly source?: string } = {}): SubmissionGrade {
  return {
    submission: id,
    source: options.source ?? id,
    tasks: {
      task2: checkTask2(files, { programs: options.programs ?? true }),
      task3: checkTask3(files),
    },
  };
}

export interface NotebookGrading {
  /** The grader's own work folder: notebooks are copied there and executed there, nowhere else. */
  readonly workDir: string;
  readonly cellTimeoutS?: number;
  readonly totalTimeoutS?: number;
  /** Run student code without bubblewrap (only inside a throwaway container). */
  readonly unsafeNoSandbox?: boolean;
  /** Also execute each notebook in its kernel, for a feedback check worth nothing (default false; scores never depend on it). */
  readonly kernelRun?: boolean;
}

/** Load and grade one folder or zip; any problem becomes the grade's error, never an exception. */
export async function gradeSubmission(source: string, limits: LoadLimits = defaultLimits, notebooks?: NotebookGrading): Promise<SubmissionGrade> {
  try {
    const loaded = await loadSubmission(source, limits);
    const grade = { ...gradeFiles(loaded.id, loaded.files, { programs: true, source }), artifacts: storeFingerprint(fingerprintArtifacts(loaded.files)) };
    if (!notebooks) return grade;
    return { ...grade, tasks: { ...grade.tasks, notebooks: await gradeNotebooks(loaded.id, loaded.files, notebooks) } };
  } catch (error) {
    const message = error instanceof SubmissionError ? error.message : `${path.basename(source)}: grader error: ${(error as Error).message}`;
    return { submission: submissionId(source), source, tasks: {}, error: message };
  }
}

/** Every course notebook in the submission, run with the hidden tests; one check per autograder cell. */
export async function gradeNotebooks(id: string, files: ReadonlyMap<string, Uint8Array | string>, options: NotebookGrading): Promise<TaskResult> {
  const names = [...files.keys()].filter((n) => NOTEBOOK_NAME.test(n)).sort();
  if (names.length === 0) return taskResult([{ id: 'notebooks', points: 0, max: 0, passed: false, message: 'no course notebook (NN-name.ipynb) in the submission' }]);
  fs.mkdirSync(options.workDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(options.workDir, `${safeFileName(id)}-`));
  const checks = [];
  for (const name of names) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, files.get(name)!);
    const result = await gradeNotebook(file, {
      workDir: dir, ...(options.cellTimeoutS ? { cellTimeoutS: options.cellTimeoutS } : {}), ...(options.totalTimeoutS ? { totalTimeoutS: options.totalTimeoutS } : {}),
      ...(options.unsafeNoSandbox ? { unsafeNoSandbox: true } : {}), ...(options.kernelRun ? { kernelRun: true } : {}),
    });
    checks.push(...result.checks);
  }
  return taskResult(checks);
}

/** The submissions inside a batch folder: every folder and .zip file, sorted by name; `exclude` is skipped. */
export function listBatch(dir: string, exclude: readonly string[] = []): string[] {
  const skip = new Set(exclude.map((p) => path.resolve(p)));
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === '__MACOSX') continue;
    const full = path.join(dir, entry.name);
    if (skip.has(path.resolve(full))) continue;
    if (entry.isDirectory() || entry.isSymbolicLink() || /\.zip$/i.test(entry.name)) out.push(full);
  }
  return out.sort();
}

export interface BatchOptions {
  /** Submissions graded at once (default 16). */
  readonly concurrency?: number;
  readonly limits?: LoadLimits;
  /** Also run each submission's course notebooks (slow: a kernel per notebook). */
  readonly notebooks?: NotebookGrading;
  /** Called after each submission, with how many are done. */
  readonly onProgress?: (done: number, total: number, grade: SubmissionGrade) => void;
}

/** Grade many submissions, several at a time; one broken submission never stops the batch. Results keep input order. */
export async function gradeBatch(sources: readonly string[], options: BatchOptions = {}): Promise<SubmissionGrade[]> {
  const results: SubmissionGrade[] = new Array(sources.length);
  const ids = uniqueIds(sources);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= sources.length) return;
      const grade = await gradeSubmission(sources[i]!, options.limits ?? defaultLimits, options.notebooks);
      results[i] = { ...grade, submission: ids[i]! };
      options.onProgress?.(++done, sources.length, results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 16, sources.length)) }, worker));
  return results;
}

/** Student ids from names; `A/` and `A.zip` in one batch become `A` and `A.zip`. */
export function uniqueIds(sources: readonly string[]): string[] {
  const ids = sources.map(submissionId);
  const count = new Map<string, number>();
  for (const id of ids) count.set(id, (count.get(id) ?? 0) + 1);
  return ids.map((id, i) => (count.get(id)! > 1 ? path.basename(sources[i]!) : id));
}

/** The --json element: {"submission", "tasks": {"task2": {...}, "task3": {...}}, "error"?}. */
export function submissionJson(g: SubmissionGrade): { submission: string; tasks: Record<string, ReturnType<typeof taskJson>>; error?: string } {
  const tasks: Record<string, ReturnType<typeof taskJson>> = {};
  if (g.tasks.task2) tasks['task2'] = taskJson(g.tasks.task2);
  if (g.tasks.task3) tasks['task3'] = taskJson(g.tasks.task3);
  if (g.tasks.notebooks) tasks['notebooks'] = taskJson(g.tasks.notebooks);
  return g.error === undefined ? { submission: g.submission, tasks } : { submission: g.submission, tasks, error: g.error };
}
