import { formatChecklist, taskResult, type Check, type TaskResult } from './checklist';

/**
 * The notebooks' autograder cells. A cell lists checks, each worth some points:
 *
 *   await autograder('Exercise 1: grantVote', [
 *     check(1, 'vote.stale-term', 'refuses a candidate whose term is older than ours', () => { ... },
 *           'return false when request.term < currentTerm (Figure 2, RequestVote receiver rule 1)'),
 *   ]);
 *
 * and prints the grader's checklist (each check, its points, what was found and what to fix). When a check
 * fails, the cell fails (autograder throws); when all pass it prints only the checklist, on stdout.
 */
export interface NotebookCheck {
  readonly points: number;
  readonly id: string;
  readonly description: string;
  /** Throws (an assertion, any error) when the check fails; may be async. */
  readonly run: () => unknown;
  /** What to change when the check fails. */
  readonly fix: string;
}

export function check(points: number, id: string, description: string, run: () => unknown, fix: string): NotebookCheck {
  if (!(points > 0)) throw new RangeError(`check ${id}: points must be positive, got ${points}`);
  return { points, id, description, run, fix };
}

/** Thrown by autograder() when a check fails: the checklist is in the message too, so it survives any output. */
export class AutograderFailure extends Error {
  declare readonly title: string;
  declare readonly result: TaskResult;

  constructor(title: string, result: TaskResult) {
    const failed = result.checks.filter((c) => !c.passed).map((c) => c.id);
    super(`Autograder: ${title}: ${failed.length} check${failed.length === 1 ? '' : 's'} failed (${failed.join(', ')}); score ${result.score}/${result.max}. Fix what the checklist above says and run the cell again.`);
    this.name = 'AutograderFailure';
    // Not enumerable, and no stack: the notebook shows this one line under the checklist, not a dump.
    Object.defineProperty(this, 'title', { value: title, enumerable: false });
    Object.defineProperty(this, 'result', { value: result, enumerable: false });
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** The first line of an error, without the stack: what a student needs to read. */
function reason(error: unknown): string {
  if (error instanceof Error) {
    const text = error.message.split('\n').filter((l) => l.trim() !== '').slice(0, 4).join(' / ');
    return error.name === 'AssertionError' || error.name === 'Error' ? text : `${error.name}: ${text}`;
  }
  return String(error);
}

/** Run the checks in order (each one even when an earlier one failed), as a grader Check list. */
export async function runChecks(checks: readonly NotebookCheck[]): Promise<TaskResult> {
  const ids = new Set<string>();
  const results: Check[] = [];
  for (const c of checks) {
    if (ids.has(c.id)) throw new Error(`autograder: two checks are called ${c.id}`);
    ids.add(c.id);
    try {
      await c.run();
      results.push({ id: c.id, points: c.points, max: c.points, passed: true, message: c.description });
    } catch (error) {
      results.push({
        id: c.id, points: 0, max: c.points, passed: false,
        message: `${c.description}\nfound: ${reason(error)}\nfix: ${c.fix}`,
      });
    }
  }
  return taskResult(results);
}

/** Where the grader's trusted harness receives every result (grading/trusted-score); none in a notebook. */
export type ResultSink = (title: string, result: TaskResult) => void;
let resultSink: ResultSink | null = null;

/**
 * Install the grader's result sink: every autograder()/reportResult() result goes to it (in the harness's own
 * memory, then out on a pipe only the grader reads). Printed checklists are for people; scores come from here.
 */
export function installResultSink(sink: ResultSink): void {
  if (resultSink !== null) throw new Error('autograder: a result sink is already installed');
  resultSink = sink;
}

export interface AutograderOptions {
  /** The cell's total, hidden tests included (metadata points): the student version names the points it cannot see. */
  readonly points?: number;
}

/** Run the checks, print the checklist, and fail (throw AutograderFailure) if any check failed. */
export async function autograder(title: string, checks: readonly NotebookCheck[], options: AutograderOptions = {}): Promise<TaskResult> {
  const result = await runChecks(checks);
  resultSink?.(title, result);
  console.log(formatChecklist(result, `Autograder: ${title}`));
  const hidden = (options.points ?? result.max) - result.max;
  if (hidden > 0) console.log(`(out of ${options.points} points: ${hidden} more come from hidden tests, which the instructor's grader runs)`);
  if (hidden < 0) throw new Error(`autograder ${title}: its checks are worth ${result.max} points, more than the cell's ${options.points}`);
  if (!result.passed) throw new AutograderFailure(title, result);
  return result;
}

/**
 * Print a grader result (e.g. grading's checkTask2 on a run's files) as the same checklist, and fail the cell
 * if it did not pass.
 */
export function reportResult(title: string, result: TaskResult): TaskResult {
  resultSink?.(title, result);
  console.log(formatChecklist(result, `Autograder: ${title}`));
  if (!result.passed) throw new AutograderFailure(title, result);
  return result;
}
