/**
 * What every grading check reports, and how a task's checks add up. The same types serve the command line,
 * the gradebook and the notebooks' autograder cells.
 */

export interface Check {
  /** Stable id, e.g. 't3.log-matching'. */
  readonly id: string;
  /** Points earned (partial credit possible). */
  readonly points: number;
  /** Points this check is worth. */
  readonly max: number;
  readonly passed: boolean;
  /** What was found, and when it failed, what to fix. */
  readonly message: string;
}

export interface TaskResult {
  readonly score: number;
  readonly max: number;
  /** Every check passed. */
  readonly passed: boolean;
  readonly checks: readonly Check[];
}

export function pass(id: string, max: number, message: string): Check {
  return { id, points: max, max, passed: true, message };
}

export function fail(id: string, max: number, message: string, points = 0): Check {
  return { id, points: Math.max(0, Math.min(points, max)), max, passed: false, message };
}

/** Partial credit in proportion to `ok` of `total` parts, rounded down to a half point. */
export function partial(id: string, max: number, ok: number, total: number, message: string): Check {
  if (total > 0 && ok >= total) return pass(id, max, message);
  const points = total === 0 ? 0 : Math.floor((2 * max * ok) / total) / 2;
  return fail(id, max, message, points);
}

export function taskResult(checks: readonly Check[]): TaskResult {
  let score = 0;
  let max = 0;
  for (const c of checks) {
    score += c.points;
    max += c.max;
  }
  return { score, max, passed: checks.every((c) => c.passed), checks };
}

/** A readable checklist: each check, its points and what to fix; then the score. */
export function formatChecklist(result: TaskResult, title?: string): string {
  const lines: string[] = [];
  if (title) lines.push(title);
  const width = Math.max(...result.checks.map((c) => c.id.length), 4);
  for (const c of result.checks) {
    const mark = c.passed ? '[x]' : '[ ]';
    const points = `${formatPoints(c.points)}/${formatPoints(c.max)}`.padStart(7);
    const [first, ...rest] = c.message.split('\n');
    lines.push(`${mark} ${c.id.padEnd(width)} ${points}  ${first ?? ''}`);
    for (const more of rest) lines.push(`${' '.repeat(width + 14)}${more}`);
  }
  lines.push(`Score: ${formatPoints(result.score)}/${formatPoints(result.max)}${result.passed ? ' (all checks passed)' : ''}`);
  return lines.join('\n');
}

export function formatPoints(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** The JSON form of a check, exactly the keys the instructor's --json output promises. */
export function checkJson(c: Check): { id: string; passed: boolean; points: number; message: string } {
  return { id: c.id, passed: c.passed, points: c.points, message: c.message };
}

export function taskJson(r: TaskResult): { score: number; max: number; passed: boolean; checks: ReturnType<typeof checkJson>[] } {
  return { score: r.score, max: r.max, passed: r.passed, checks: r.checks.map(checkJson) };
}
