/**
 * The instructor's command line:
 *   npm run grade -- [--json] [--batch DIR] [--out DIR] [--concurrency N] [--notebooks] [PATH ...]
 * Each PATH is one submission (a folder or a zip); --batch DIR grades every folder and zip inside DIR.
 * --notebooks also runs each submission's course notebooks (NN-name.ipynb) with the hidden tests put back, in
 * OUT/work/, and adds their autograder points. Writes OUT/gradebook.csv, OUT/feedback/<id>.md|.html and OUT/similarity.md|.csv (alike submissions; never a score); with --json prints one JSON array on stdout.
 */
import * as path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { formatPoints } from './checks';
import { gradeBatch, listBatch, submissionJson, type SubmissionGrade } from './grade';
import { writeReports } from './gradebook';
import { writeSimilarity } from './similarity';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('grade')
    .description("Grade Raft lab submissions (the manual's Task 2 and Task 3 artifacts), each a folder or a zip.")
    .argument('[paths...]', 'submissions: folders or zip files')
    .option('--json', 'print one JSON array on stdout, one element per submission')
    .option('--batch <dir>', 'grade every folder and zip inside DIR')
    .option('--out <dir>', 'where gradebook.csv and feedback/ go', 'out/grading')
    .option('--concurrency <n>', 'submissions graded at once (with --notebooks: at most 2 by default)', positiveInt)
    .option('--notebooks', 'also run the course notebooks in each submission (hidden tests put back) and add their points')
    .option('--cell-timeout <s>', 'with --notebooks: seconds one cell may run', positiveInt, 120)
    .option('--notebook-timeout <s>', 'with --notebooks: seconds one notebook may run; then its kernel is killed', positiveInt, 900)
    .showHelpAfterError();
  program.parse(argv as string[]);
  const opts = program.opts<{ json?: boolean; batch?: string; out: string; concurrency?: number; notebooks?: boolean; cellTimeout: number; notebookTimeout: number }>();
  const sources = [...(program.args as string[])];
  if (opts.batch !== undefined) {
    try {
      sources.push(...listBatch(opts.batch, [opts.out]));
    } catch (error) {
      process.stderr.write(`grade: cannot read --batch ${opts.batch}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  if (sources.length === 0) {
    program.error('nothing to grade: give submission paths, or --batch DIR');
  }

  const showBar = Boolean(process.stdout.isTTY && process.stderr.isTTY) && sources.length > 1;
  const bar = showBar ? new SingleBar({ stream: process.stderr, format: 'grading {bar} {value}/{total} {id}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic) : null;
  bar?.start(sources.length, 0, { id: '' });
  const grades = await gradeBatch(sources, {
    concurrency: opts.concurrency ?? (opts.notebooks ? 2 : 16),
    ...(opts.notebooks ? { notebooks: { workDir: path.join(opts.out, 'work'), cellTimeoutS: opts.cellTimeout, totalTimeoutS: opts.notebookTimeout } } : {}),
    onProgress: (done, _total, g) => bar?.update(done, { id: g.submission }),
  });
  bar?.stop();

  const written = writeReports(opts.out, grades);
  const similar = writeSimilarity(opts.out, grades).report.pairs.length;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(grades.map(submissionJson), null, 2)}\n`);
  } else {
    for (const g of grades) process.stdout.write(`${summaryLine(g)}\n`);
  }
  const errors = grades.filter((g) => g.error !== undefined).length;
  process.stderr.write(
    `grade: ${grades.length} submission${grades.length === 1 ? '' : 's'} graded${errors > 0 ? ` (${errors} could not be read)` : ''}; `
    + `gradebook ${path.join(opts.out, 'gradebook.csv')}, feedback in ${path.join(opts.out, 'feedback')} (${written.length - 1} files); `
    + `${similar} similar pair${similar === 1 ? '' : 's'} in ${path.join(opts.out, 'similarity.md')}\n`,
  );
  return 0;
}

function summaryLine(g: SubmissionGrade): string {
  if (g.error !== undefined) return `${g.submission}: ERROR ${g.error}`;
  const t2 = g.tasks.task2;
  const t3 = g.tasks.task3;
  const nb = g.tasks.notebooks;
  const part = (name: string, r: typeof t2) => (r ? `${name} ${formatPoints(r.score)}/${formatPoints(r.max)}` : `${name} -`);
  const score = (t2?.score ?? 0) + (t3?.score ?? 0) + (nb?.score ?? 0);
  const max = (t2?.max ?? 0) + (t3?.max ?? 0) + (nb?.max ?? 0);
  const failed = [...(t2?.checks ?? []), ...(t3?.checks ?? []), ...(nb?.checks ?? [])].filter((c) => !c.passed).map((c) => c.id);
  return `${g.submission}: ${part('task2', t2)}, ${part('task3', t3)}${nb ? `, ${part('notebooks', nb)}` : ''}, total ${formatPoints(score)}/${formatPoints(max)}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}`;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`grade: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
