import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { precompileKernelLibrary } from '../grading/kernel-library';
import { trustedScore } from '../grading/trusted-score/run';
import { gradeNotebook, kernelSandboxView, notebookRunnerProblem, withHiddenTests } from '../grading/notebook-grader';
import { runSandboxed, sandboxProblem } from '../grading/sandbox';

const code = (source: string, raftlab?: Record<string, unknown>) => ({ cell_type: 'code', metadata: raftlab ? { raftlab } : {}, source, outputs: [], execution_count: null });
const kernelspec = { display_name: 'Raft Lab (TypeScript)', language: 'typescript', name: 'raftlab' };
const notebook = (cells: unknown[]) => ({ cells, metadata: { kernelspec }, nbformat: 4, nbformat_minor: 5 });

/** The reference (released solution) notebook: its autograder cells hold the hidden tests. */
const reference = notebook([
  code("import { autograder, check } from './lib/course/autograder';\nimport { strict as assert } from 'node:assert';"),
  code('function answer(): number {\n  return 42;\n}', { role: 'exercise', id: 'ex-answer' }),
  code("await autograder('answer', [check(2, 'answer.value', 'is 42', () => assert.equal(answer(), 42), 'return 42')]);", { role: 'autograder', id: 'check-answer', points: 2 }),
  code('function twice(x: number): number {\n  return 2 * x;\n}', { role: 'exercise', id: 'ex-twice' }),
  code("await autograder('twice', [check(3, 'twice.3', 'doubles', () => assert.equal(twice(3), 6), 'return 2 * x')]);", { role: 'autograder', id: 'check-twice', points: 3 }),
]);

describe('grading: notebook autograding', () => {
  it('puts the hidden tests back: tampered autograder cells are replaced, deleted ones restored', () => {
    const student = notebook([
      code('function answer(): number { return 42; }', { role: 'exercise', id: 'ex-answer' }),
      code("console.log('Score: 2/2');", { role: 'autograder', id: 'check-answer', points: 2 }),
      code("console.log('Score: 9/9');", { role: 'autograder', id: 'my-own-check', points: 9 }),
    ]);
    const { notebook: nb, restored } = withHiddenTests(student as never, reference as never);
    assert.deepEqual(restored, ['check-twice']);
    assert.equal(nb.cells.length, 4);
    assert.match(String(nb.cells[1]!.source), /answer\(\), 42/);
    assert.deepEqual(nb.cells[2]!.metadata.raftlab, {}, "a cell the reference does not know is not graded");
    assert.match(String(nb.cells[3]!.source), /twice\(3\)/);
  });

  describe('in a real kernel', function () {
    this.timeout(180_000);
    let tmp: string;
    before(function () {
      const problem = notebookRunnerProblem() ?? sandboxProblem();
      if (problem) {
        console.log(`      (skipped: ${problem})`);
        this.skip();
      }
    });
    it('the sandboxed kernel finds the compiled library: its cache key is the same inside the sandbox\'s view', async () => {
      const root = path.resolve(__dirname, '..');
      const key = "console.log(require('./jupyter/kernels/raftlab/lib-cache.js').cacheDir())";
      // The kernel's own `node` (kernel.json runs "node" from the sandbox's PATH), not this test's Node.
      const outside = execFileSync('node', ['-e', key], { cwd: root, encoding: 'utf8' }).trim();
      const r = await runSandboxed({
        argv: ['node', '-e', key], root, allow: kernelSandboxView, files: { '.keep': '' }, privateAt: path.join(root, 'out'), cwd: root,
        env: { PATH: '/usr/bin:/bin' },
      });
      assert.equal(r.verdict, null, r.stderr);
      // The sandbox may show the checkout at another path: compare the key, the cache folder's name.
      assert.equal(path.basename(r.stdout.trim()), path.basename(outside));
    });

    beforeEach(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-nb-'));
      fs.mkdirSync(path.join(tmp, 'ref'));
      fs.writeFileSync(path.join(tmp, 'ref', '99-test.ipynb'), JSON.stringify(reference));
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("scores each autograder cell from the reference's own run, whatever the student wrote in it", async () => {
      const student = notebook([
        code('function answer(): number { return 42; }', { role: 'exercise', id: 'ex-answer' }),
        code("console.log('Score: 2/2');", { role: 'autograder', id: 'check-answer', points: 2 }),
        code('const twice = (x: number) => x + 2;', { role: 'exercise', id: 'ex-twice' }),
        code("console.log('Score: 3/3');", { role: 'autograder', id: 'check-twice', points: 3 }),
      ]);
      const file = path.join(tmp, '99-test.ipynb');
      fs.writeFileSync(file, JSON.stringify(student));
      const r = await gradeNotebook(file, { workDir: path.join(tmp, 'work'), referenceDir: path.join(tmp, 'ref'), publicDir: path.join(tmp, 'ref'), cellTimeoutS: 60, totalTimeoutS: 150, kernelRun: true });
      assert.equal(r.problem, null);
      assert.deepEqual(r.checks.map((c) => [c.id, c.points, c.max]), [['99-test/check-answer', 2, 2], ['99-test/check-twice', 0, 3], ['99-test/kernel-run', 0, 0]]);
      assert.match(r.checks[1]!.message, /found: .*5.*6|Expected/s);
      assert.equal(r.score, 2);
      assert.equal(r.max, 5);
    });

    it('by default only the trusted harness runs, on the compiled library (no compiler in the sandbox): the same checks as on the sources, no kernel-run check', async () => {
      const root = path.resolve(__dirname, '..');
      const student = notebook([
        code('function answer(): number { return 42; }', { role: 'exercise', id: 'ex-answer' }),
        code('const twice = (x: number) => x + 2;', { role: 'exercise', id: 'ex-twice' }),
      ]);
      const file = path.join(tmp, '99-test.ipynb');
      fs.writeFileSync(file, JSON.stringify(student));
      const graded = await gradeNotebook(file, { workDir: path.join(tmp, 'work'), referenceDir: path.join(tmp, 'ref'), totalTimeoutS: 150 });
      assert.deepEqual(graded.checks.map((c) => [c.id, c.points, c.max]), [['99-test/check-answer', 2, 2], ['99-test/check-twice', 0, 3]]);
      const compiledLibrary = await precompileKernelLibrary();
      const onCompiled = await trustedScore('99-test.ipynb', reference.cells as never, student.cells as never, { root, compiledLibrary });
      const onSources = await trustedScore('99-test.ipynb', reference.cells as never, student.cells as never, { root });
      assert.equal(onCompiled.problem, null);
      assert.deepEqual(onCompiled.checks, onSources.checks);
      assert.ok(onCompiled.startupMs !== null && onCompiled.startupMs > 0, 'the first reference cell started');
      const boot = spawnSync('node', [path.join(root, 'grading', 'trusted-score', 'harness-boot.js'), path.join(tmp, 'nothing-here')], { encoding: 'utf8' });
      assert.equal(boot.status, 2);
      assert.match(boot.stderr, /no compiled library at .*nothing-here/);
    });

    it("a runaway kernel run is stopped at the total timeout, its processes killed; the scores are the harness's", async () => {
      const student = notebook([
        code('function answer(): number { return 42; }', { role: 'exercise', id: 'ex-answer' }),
        code('let spins = 0;\nwhile (spins >= 0) { spins++; }'),
      ]);
      const file = path.join(tmp, '99-test.ipynb');
      fs.writeFileSync(file, JSON.stringify(student));
      const r = await gradeNotebook(file, { workDir: path.join(tmp, 'work'), referenceDir: path.join(tmp, 'ref'), cellTimeoutS: 600, totalTimeoutS: 20, kernelRun: true });
      assert.match(r.checks.find((c) => c.id === '99-test/kernel-run')!.message, /ran longer than 20 s and was stopped/);
      assert.equal(r.score, 2);
      assert.match(r.checks.find((c) => c.id === '99-test/check-twice')!.message, /no exercise cell ex-twice/);
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
