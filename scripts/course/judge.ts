/**
 * What a notebook run must look like (npm run notebooks:check):
 * - solution versions: every code cell ok;
 * - student versions: a failing cell must be an autograder cell showing the checklist (a "[ ] " line, a "fix: "
 *   line and the score), and every autograder cell that grades exercises must fail (else its checks pass
 *   without a solution: checks that cannot fail). Autograder cells marked needsSolution: false may pass.
 */

export type Version = 'solution' | 'student';

export interface CellReport {
  readonly index: number;
  readonly id: string | null;
  readonly role: 'exercise' | 'autograder' | null;
  readonly needsSolution: boolean;
  readonly status: string;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunReport {
  readonly notebook: string;
  readonly wall: number;
  readonly problem: string | null;
  readonly cells: CellReport[];
}

/** What is wrong with a run, given its version; [] when it is as it should be. */
export function judge(version: Version, report: RunReport): string[] {
  const problems: string[] = [];
  if (report.problem) problems.push(report.problem);
  const where = (c: CellReport) => `cell ${c.index}${c.id ? ` (${c.id})` : ''}`;
  const firstLines = (s: string) => s.trim().split('\n').slice(0, 6).join('\n      ');
  for (const c of report.cells) {
    const failed = c.status !== 'ok';
    if (version === 'solution') {
      if (failed) problems.push(`${where(c)} ${c.status}: ${firstLines(c.stderr || c.stdout)}`);
      continue;
    }
    if (c.role === 'autograder') {
      const checklist = /^\[ \] /m.test(c.stdout) && /^(fix|rule to check): /m.test(c.stdout.replace(/^ +/gm, '')) && /Score: /.test(c.stdout);
      if (failed && !checklist) problems.push(`${where(c)} failed without the checklist: ${firstLines(c.stderr || c.stdout)}`);
      if (!failed && c.needsSolution) problems.push(`${where(c)} passes in the student version: its checks do not need the exercise's solution`);
      continue;
    }
    if (failed) problems.push(`${where(c)} (${c.role ?? 'not an exercise check'}) ${c.status}: ${firstLines(c.stderr || c.stdout)}`);
  }
  return problems;
}

