import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { judge, type CellReport } from '../scripts/course/judge';
import { layout, listSources, NotebookError, readNotebook, sourceText, type Notebook, type NotebookCell } from '../scripts/course/notebook-format';
import { releaseNotebook } from '../scripts/course/release-notebook';

function cell(cell_type: NotebookCell['cell_type'], source: string, raftlab?: NotebookCell['metadata']['raftlab'], id?: string): NotebookCell {
  return {
    cell_type, ...(id ? { id } : {}), metadata: raftlab ? { raftlab } : {}, source: source.split(/(?<=\n)/),
    ...(cell_type === 'code' ? { execution_count: 3, outputs: [{ output_type: 'stream', name: 'stdout', text: 'old output' }] } : {}),
  };
}

function notebook(...cells: NotebookCell[]): Notebook {
  return { cells, metadata: { kernelspec: { name: 'raftlab' } }, nbformat: 4, nbformat_minor: 5 };
}

const exercise = cell('code', [
  'function grantVote(ctx: VoteContext): boolean {',
  '  const unused = 1;',
  '  // BEGIN SOLUTION',
  '  return ctx.request.term >= ctx.currentTerm;',
  '  // END SOLUTION',
  '}',
].join('\n'), { role: 'exercise', id: '01-grant-vote', todo: 'apply rule 1' }, 'ex');

const grader = cell('code', [
  "await autograder('x', [",
  "  check(1, 'a', 'visible', () => {}, 'fix'),",
  '  // BEGIN HIDDEN TESTS',
  "  check(1, 'b', 'hidden', () => {}, 'fix'),",
  '  // END HIDDEN TESTS',
  ']);',
].join('\n'), { role: 'autograder', id: '01-check', points: 2 }, 'ag');

describe('course release (scripts/course)', () => {
  it('student version: solutions become a TODO stub at the same indentation, hidden tests disappear, outputs cleared', () => {
    const released = releaseNotebook('t.ipynb', notebook(cell('markdown', '# Title', undefined, 'md'), exercise, grader), 'notebooks/source/t.ipynb');
    const [md, ex, ag] = released.student.cells;
    assert.equal(sourceText(md!), '# Title');
    assert.equal(sourceText(ex!), [
      'function grantVote(ctx: VoteContext): boolean {',
      '  const unused = 1;',
      '  // YOUR CODE HERE (exercise 01-grant-vote)',
      '  throw new Error("TODO: exercise 01-grant-vote: apply rule 1");',
      '}',
    ].join('\n'));
    assert.equal(sourceText(ag!), "await autograder('x', [\n  check(1, 'a', 'visible', () => {}, 'fix'),\n]);");
    for (const c of [ex!, ag!]) {
      assert.deepEqual(c.outputs, []);
      assert.equal(c.execution_count, null);
    }
    assert.deepEqual(ex!.metadata.raftlab, { role: 'exercise', id: '01-grant-vote', todo: 'apply rule 1' }, 'roles kept for the check');
    assert.equal((released.student.metadata.raftlab as { version: string }).version, 'student');
    assert.equal(released.points, 2);
    assert.equal(released.exercises, 1);
  });

  it('solution version: everything kept but the marker lines and the outputs', () => {
    const released = releaseNotebook('t.ipynb', notebook(exercise, grader), 'src');
    const [ex, ag] = released.solution.cells;
    assert.ok(!sourceText(ex!).includes('BEGIN'));
    assert.ok(sourceText(ex!).includes('return ctx.request.term >= ctx.currentTerm;'));
    assert.ok(sourceText(ag!).includes("check(1, 'b', 'hidden'"));
    assert.ok(!sourceText(ag!).includes('HIDDEN'));
    assert.equal(released.solution.cells[0]!.id, 'ex');
    assert.equal((released.solution.metadata.raftlab as { version: string }).version, 'solution');
  });

  it('the committed notebooks are what "npm run release" makes of notebooks/source', () => {
    const root = path.resolve(__dirname, '..');
    const sources = listSources(root);
    assert.ok(sources.length >= 2, 'the course has notebooks');
    for (const file of sources) {
      const rel = path.relative(root, file);
      const released = releaseNotebook(rel, readNotebook(file), rel);
      const name = path.basename(file);
      for (const [dir, nb] of [[layout.solution, released.solution], [layout.student, released.student]] as const) {
        const target = path.join(root, dir, name);
        assert.ok(fs.existsSync(target), `${path.join(dir, name)} is missing: run "npm run release"`);
        assert.equal(fs.readFileSync(target, 'utf8'), JSON.stringify(nb, null, 1) + '\n', `${path.join(dir, name)} is out of date: run "npm run release"`);
      }
    }
  });

  it('notebook 06 (membership and clients): three exercises, each graded by an autograder cell that needs it', () => {
    const root = path.resolve(__dirname, '..');
    const file = listSources(root).find((f) => path.basename(f) === '06-membership-and-clients.ipynb');
    assert.ok(file, 'notebooks/source/06-membership-and-clients.ipynb');
    const released = releaseNotebook('06.ipynb', readNotebook(file), 'src');
    assert.equal(released.exercises, 3);
    assert.equal(released.autograders, 3);
    assert.equal(released.points, 31);
    const student = released.student.cells.map((c) => sourceText(c)).join('\n');
    for (const name of ['majoritiesOverlap', 'mayAnswerRead', 'applyOnce']) {
      assert.match(student, new RegExp(`function ${name}\\(`), name);
    }
    assert.equal((student.match(/throw new Error\("TODO: exercise 06-/g) ?? []).length, 3);
    assert.doesNotMatch(student, /BEGIN HIDDEN TESTS|overlap\.all-pairs|session\.old/);
  });

  it('refuses malformed sources, naming the notebook, the cell and the line', () => {
    const bad = (c: NotebookCell, pattern: RegExp) => assert.throws(() => releaseNotebook('nb.ipynb', notebook(c), 'src'), (e: Error) => e instanceof NotebookError && pattern.test(e.message));
    bad(cell('code', 'x\n// BEGIN SOLUTION\ny', { role: 'exercise', id: '01-a' }), /^nb\.ipynb: cell 0 \(01-a\), line 2: the SOLUTION region is never closed/);
    bad(cell('code', '// END SOLUTION', { role: 'exercise', id: '01-a' }), /line 1: \/\/ END SOLUTION without its BEGIN/);
    bad(cell('code', '// BEGIN SOLUTION\n// END SOLUTION'), /cell 0, line 1: .*outside an exercise cell/);
    bad(cell('code', 'x // BEGIN SOLUTION', { role: 'exercise', id: '01-a' }), /must be alone on its line/);
    bad(cell('code', 'x', { role: 'exercise', id: '01-a' }), /exercise cell without a \/\/ BEGIN SOLUTION region/);
    bad(cell('code', 'x', { role: 'autograder', id: '01-a' }), /points must be a positive number/);
    bad(cell('code', 'x', { role: 'grader' as 'autograder', id: '01-a' }), /role must be "exercise" or "autograder"/);
    bad(cell('code', 'x', { role: 'exercise', id: 'Bad Id' }), /id must look like "01-grant-vote"/);
    assert.throws(() => releaseNotebook('nb.ipynb', notebook(exercise, exercise), 'src'), /cell 1 \(01-grant-vote\): cell id ex is used twice/);
  });
});

describe('notebooks check verdicts (scripts/course/judge)', () => {
  const ok = (index: number, role: CellReport['role'] = null): CellReport => ({ index, id: null, role, needsSolution: true, status: 'ok', stdout: '', stderr: '' });
  const checklist = 'Autograder: x\n[ ] a   0/1  visible\n              found: TODO\n              fix: do it\nScore: 0/1';
  const failedGrader: CellReport = { index: 2, id: '01-check', role: 'autograder', needsSolution: true, status: 'error', stdout: checklist, stderr: 'AutograderFailure' };
  const report = (...cells: CellReport[]) => ({ notebook: 'n', wall: 1, problem: null, cells });

  it('a solution notebook must be green everywhere', () => {
    assert.deepEqual(judge('solution', report(ok(0), ok(1, 'autograder'))), []);
    assert.match(judge('solution', report(ok(0), failedGrader))[0]!, /cell 2 \(01-check\) error/);
  });

  it('a student notebook fails only in autograder cells that show the checklist, and in every one that needs a solution', () => {
    assert.deepEqual(judge('student', report(ok(0), ok(1, 'exercise'), failedGrader)), []);
    assert.match(judge('student', report(ok(0), { ...failedGrader, stdout: 'ReferenceError' }))[0]!, /failed without the checklist/);
    assert.match(judge('student', report(ok(0), ok(2, 'autograder')))[0]!, /passes in the student version/);
    assert.deepEqual(judge('student', report({ ...ok(2, 'autograder'), needsSolution: false })), []);
    assert.match(judge('student', report({ ...ok(1), status: 'error', stderr: 'TypeError: x' }))[0]!, /cell 1 \(not an exercise check\) error: TypeError/);
    assert.match(judge('student', { ...report(), problem: 'timeout: cell 3' })[0]!, /timeout/);
  });
});
