import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gradeNotebook, notebookRunnerProblem, withHiddenTests } from '../grading/notebook-grader';

const code = (source: string, raftlab?: Record<string, unknown>) => ({ cell_type: 'code', metadata: raftlab ? { raftlab } : {}, source, outputs: [], execution_count: null });
const kernelspec = { display_name: 'Raft Lab (TypeScript)', language: 'typescript', name: 'raftlab' };
const notebook = (cells: unknown[]) => ({ cells, metadata: { kernelspec }, nbformat: 4, nbformat_minor: 5 });

/** The reference (released solution) notebook: its autograder cells hold the hidden tests. */
const reference = notebook([
  code('const answer: number = 42;', { role: 'exercise', id: 'ex-answer' }),
  code("console.log(`Score: ${answer === 42 ? 2 : 0}/2`);", { role: 'autograder', id: 'check-answer', points: 2 }),
  code("console.log(`Score: ${typeof twice === 'function' && twice(3) === 6 ? 3 : 0}/3`);", { role: 'autograder', id: 'check-twice', points: 3 }),
]);

describe('grading: notebook autograding', () => {
  it('puts the hidden tests back: tampered autograder cells are replaced, deleted ones restored', () => {
    const student = notebook([
      code('const answer: number = 42;', { role: 'exercise', id: 'ex-answer' }),
      code("console.log('Score: 2/2');", { role: 'autograder', id: 'check-answer', points: 2 }),
      code("console.log('Score: 9/9');", { role: 'autograder', id: 'my-own-check', points: 9 }),
    ]);
    const { notebook: nb, restored } = withHiddenTests(student as never, reference as never);
    assert.deepEqual(restored, ['check-twice']);
    assert.equal(nb.cells.length, 4);
    assert.match(String(nb.cells[1]!.source), /answer === 42/);
    assert.deepEqual(nb.cells[2]!.metadata.raftlab, {}, "a cell the reference does not know is not graded");
    assert.match(String(nb.cells[3]!.source), /twice\(3\)/);
  });

  describe('in a real kernel', function () {
    this.timeout(180_000);
    let tmp: string;
    before(function () {
      const problem = notebookRunnerProblem();
      if (problem) {
        console.log(`      (skipped: ${problem})`);
        this.skip();
      }
    });
    beforeEach(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-nb-'));
      fs.mkdirSync(path.join(tmp, 'ref'));
      fs.writeFileSync(path.join(tmp, 'ref', '99-test.ipynb'), JSON.stringify(reference));
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it('scores each autograder cell from its own run, whatever the student wrote in it', async () => {
      const student = notebook([
        code('const answer: number = 42;', { role: 'exercise', id: 'ex-answer' }),
        code("console.log('Score: 2/2');", { role: 'autograder', id: 'check-answer', points: 2 }),
        code('const twice = (x: number) => x + 2;', { role: 'exercise', id: 'ex-twice' }),
        code("console.log('Score: 3/3');", { role: 'autograder', id: 'check-twice', points: 3 }),
      ]);
      const file = path.join(tmp, '99-test.ipynb');
      fs.writeFileSync(file, JSON.stringify(student));
      const r = await gradeNotebook(file, { workDir: path.join(tmp, 'work'), referenceDir: path.join(tmp, 'ref'), cellTimeoutS: 60, totalTimeoutS: 150 });
      assert.equal(r.problem, null);
      assert.deepEqual(r.checks.map((c) => [c.id, c.points, c.max]), [['99-test/check-answer', 2, 2], ['99-test/check-twice', 0, 3]]);
      assert.equal(r.score, 2);
      assert.equal(r.max, 5);
    });

    it('a runaway notebook is stopped at the total timeout, its kernel killed, and scores 0', async () => {
      const student = notebook([
        code('const answer: number = 42;\nwhile (answer === 42) { /* forever */ }', { role: 'exercise', id: 'ex-answer' }),
      ]);
      const file = path.join(tmp, '99-test.ipynb');
      fs.writeFileSync(file, JSON.stringify(student));
      const started = Date.now();
      const r = await gradeNotebook(file, { workDir: path.join(tmp, 'work'), referenceDir: path.join(tmp, 'ref'), cellTimeoutS: 600, totalTimeoutS: 20 });
      assert.match(r.problem ?? '', /ran longer than 20 s and was stopped/);
      assert.equal(r.score, 0);
      assert.ok(Date.now() - started < 120_000);
    });

    it('a notebook that is not JSON, or not a course notebook, is reported without running anything', async () => {
      const file = path.join(tmp, '99-test.ipynb');
      fs.writeFileSync(file, '{"cells": [');
      const r = await gradeNotebook(file, { workDir: path.join(tmp, 'work'), referenceDir: path.join(tmp, 'ref') });
      assert.match(r.problem ?? '', /not valid notebook JSON/);
      assert.equal(r.max, 5);
      const other = path.join(tmp, '98-unknown.ipynb');
      fs.writeFileSync(other, JSON.stringify(reference));
      assert.match((await gradeNotebook(other, { workDir: path.join(tmp, 'work'), referenceDir: path.join(tmp, 'ref') })).problem ?? '', /no notebook of that name/);
    });
  });
});
