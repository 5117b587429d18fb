/**
 * npm run release [-- --check]
 *
 * From each notebooks/source/NN-name.ipynb (solutions and hidden tests marked, see notebooks/README.md) writes
 *   notebooks/solution/NN-name.ipynb  solutions and hidden tests kept, markers and outputs removed
 *   notebooks/NN-name.ipynb           what students open: solutions replaced by a TODO, hidden tests removed
 * --check writes nothing and fails if a generated notebook is missing or out of date.
 * A file at a generated path that was not generated (no metadata.raftlab.generated) is never overwritten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { layout, listSources, NotebookError, readNotebook, writeNotebook, type Notebook } from './course/notebook-format';
import { releaseNotebook } from './course/release-notebook';

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

function main(): void {
  const options = new Command('release')
    .description('Produce the solution and student notebooks from notebooks/source')
    .option('--check', 'write nothing; fail if a generated notebook is missing or out of date')
    .parse()
    .opts<{ check?: boolean }>();
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

try {
  main();
} catch (error) {
  // A NotebookError names the notebook, the cell and the line; any other error is a bug and keeps its stack.
  console.error(error instanceof NotebookError ? `release: ${error.message}` : error);
  process.exit(1);
}
