/**
 * npm run release [-- --check] [-- --student DIR]
 *
 * From each notebooks/source/NN-name.ipynb (solutions and hidden tests marked, see notebooks/README.md) writes
 *   notebooks/solution/NN-name.ipynb  solutions and hidden tests kept, markers and outputs removed
 *   notebooks/NN-name.ipynb           what students open: solutions replaced by a TODO, hidden tests removed
 * --check writes nothing and fails if a generated notebook is missing or out of date.
 * --student DIR writes the students' copy (DIR and DIR.zip: no solutions, no hidden tests; see
 * scripts/course/release-student.ts) from the committed notebooks, which must be up to date.
 * A file at a generated path that was not generated (no metadata.raftlab.generated) is never overwritten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { layout, listSources, NotebookError, readNotebook, writeNotebook, type Notebook } from './course/notebook-format';
import { releaseNotebook } from './course/release-notebook';
import { writeStudentRelease } from './course/release-student';

const root = path.resolve(__dirname, '..');

function rendered(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + '\n';
}

function wasGenerated(file: string): boolean {
  try {
    const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
    const meta = nb.metadata?.raftlab as { generated?: unknown } | undefined;
    return typeof meta?.generated === 'string';
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const options = new Command('release')
    .description('Produce the solution and student notebooks from notebooks/source')
    .option('--check', 'write nothing; fail if a generated notebook is missing or out of date')
    .option('--student <dir>', "write the students' copy of the course to DIR and DIR.zip (no solutions, no hidden tests)")
    .parse()
    .opts<{ check?: boolean; student?: string }>();
  const sources = listSources(root);
  if (sources.length === 0) throw new Error(`no notebooks in ${layout.source} (expected names like 01-leader-election.ipynb)`);
  const plan: { file: string; content: string }[] = [];
  for (const file of sources) {
    const rel = path.relative(root, file);
    const released = releaseNotebook(rel, readNotebook(file), rel);
    const name = path.basename(file);
    plan.push({ file: path.join(root, layout.solution, name), content: rendered(released.solution) });
    plan.push({ file: path.join(root, layout.student, name), content: rendered(released.student) });
    console.log(`${rel}: ${released.exercises} exercise cell(s), ${released.autograders} autograder cell(s), ${released.points} points`);
  }
  const stale = plan.filter((p) => !fs.existsSync(p.file) || fs.readFileSync(p.file, 'utf8') !== p.content);
  if (options.student !== undefined) {
    if (stale.length > 0) throw new Error(`out of date: ${stale.map((p) => path.relative(root, p.file)).join(', ')}; run "npm run release" first`);
    const release = await writeStudentRelease(root, options.student);
    console.log(`release: the students' copy: ${release.files.length} files in ${release.dir}, and ${release.zip}; no solution or hidden test in them`);
    for (const a of release.compiled) console.log(`  ${a.file}: carried compiled (minified .js and .d.ts), it answers ${a.answers.join(', ')}`);
    for (const r of release.inLibrary) console.log(`  note: the solution of ${r.notebook} ${r.cell} is also the library's own reference code (lib/), which students can read`);
    return;
  }
  if (options.check) {
    for (const p of stale) console.log(`out of date: ${path.relative(root, p.file)}`);
    if (stale.length > 0) {
      console.log('run "npm run release" and commit the notebooks it writes');
      process.exitCode = 1;
    } else {
      console.log(`release: ${plan.length} generated notebooks are up to date`);
    }
    return;
  }
  const foreign = stale.filter((p) => fs.existsSync(p.file) && !wasGenerated(p.file));
  if (foreign.length > 0) {
    throw new Error(
      `refusing to overwrite ${foreign.map((p) => path.relative(root, p.file)).join(', ')}: not written by "npm run release" ` +
        `(no metadata.raftlab.generated). Move the file's content into ${layout.source}/ and delete it, then run again.`,
    );
  }
  for (const p of stale) {
    writeNotebook(p.file, JSON.parse(p.content) as Notebook);
    console.log(`wrote ${path.relative(root, p.file)}`);
  }
  console.log(`release: ${plan.length - stale.length} unchanged, ${stale.length} written`);
}

main().catch((error: unknown) => {
  // A NotebookError names the notebook, the cell and the line; any other error is a bug and keeps its stack.
  console.error(error instanceof NotebookError || (error instanceof Error && /^--student|students' copy|out of date/.test(error.message)) ? `release: ${(error as Error).message}` : error);
  process.exit(1);
});
