import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { handlerNames, type Handlers } from '../lib/raft/context';
import { saveImpl } from '../lib/course/save-impl';
import { assembleHandIn } from '../lib/course/hand-in';
import { runLabProcesses } from '../lib/lab/process-lab';
import { gradeSubmission } from '../grading/index';
import { freeBasePort } from './helpers/processes';
import { solutionFunctions } from './helpers/solution-handlers';

/**
 * The student's Raft for real: the solution notebooks' handlers, saved by saveImpl, run as three real UDP
 * processes (`--impl`) through Task 2 and Task 3 in one folder, as the manual has it; the files and the hand-in
 * zip grade full marks with the instructor's grader.
 */
describe('your Raft for real: --impl with the solution handlers', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-lab-impl-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves every handler, runs Task 2 and Task 3 on it, and the folder and the hand-in zip grade full marks', async () => {
    const fns = solutionFunctions('01-leader-election.ipynb', '02-log-replication.ipynb');
    const handlers: Partial<Handlers> = {};
    for (const name of handlerNames) {
      assert.equal(typeof fns[name], 'function', `the solution notebooks define ${name}`);
      (handlers as Record<string, Function>)[name] = fns[name]!;
    }
    const saved = saveImpl(path.join(dir, 'my-raft', 'raft.js'), { handlers, helpers: { logIsUpToDate: fns.logIsUpToDate! } });
    assert.deepEqual(Object.keys(saved.handlers).sort(), [...handlerNames].sort());
    // the module stands alone: it is a file of its own, with none of the reference's code
    assert.doesNotMatch(fs.readFileSync(saved.written, 'utf8'), /require\(/);

    const run = path.join(dir, 'run');
    // Both tasks on the same three ports, as in the manual (the grader reads the cluster off the node files).
    const basePort = await freeBasePort(3);
    for (const task of [2, 3] as const) {
      const lines: string[] = [];
      const result = await runLabProcesses({ task, fast: true, out: run, basePort, impl: saved.written, echo: (l) => lines.push(l) });
      assert.ok(result.ok, result.summary + '\n' + lines.slice(-20).join('\n'));
      for (const n of [1, 2, 3]) assert.ok(lines.some((l) => l.startsWith(`node ${n} |`) && l.includes(`your Raft from ${saved.written}`)), `node ${n} did not run the module`);
    }
    const sh = fs.readFileSync(path.join(run, '1.sh'), 'utf8');
    assert.match(sh, /--impl /);

    const folderGrade = await gradeSubmission(run);
    assert.equal(folderGrade.error, undefined, folderGrade.error);
    for (const t of [folderGrade.tasks.task2!, folderGrade.tasks.task3!]) {
      assert.equal(t.score, t.max, t.checks.filter((c) => !c.passed).map((c) => `${c.id}: ${c.message}`).join('\n'));
    }

    const svg = path.join(dir, 'plot.svg');
    fs.writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const nb = path.join(dir, '01-leader-election.ipynb');
    fs.copyFileSync(path.join(__dirname, '..', 'notebooks', '01-leader-election.ipynb'), nb);
    const handIn = await assembleHandIn({ srn: 'PES1UG21CS001', task2Dir: run, task3Dir: run, impl: saved.written, notebooks: [nb], plots: [svg], out: path.join(dir, 'hand-in') });
    assert.deepEqual(handIn.missing, []);
    for (const name of ['1.sh', '2.sh', '3.sh', 'raft.js', 'plots/plot.svg', '01-leader-election.ipynb', 'task2_node1.txt', 'task3_node3.txt']) assert.ok(handIn.files.includes(name), name);
    const zipGrade = await gradeSubmission(handIn.zip);
    assert.equal(zipGrade.error, undefined, zipGrade.error);
    assert.equal(zipGrade.submission, 'PES1UG21CS001');
    for (const t of [zipGrade.tasks.task2!, zipGrade.tasks.task3!]) assert.equal(t.score, t.max, t.checks.filter((c) => !c.passed).map((c) => c.message).join('\n'));
    // a second hand-in never overwrites the first
    const again = await assembleHandIn({ srn: 'PES1UG21CS001', task2Dir: run, task3Dir: run, impl: saved.written, notebooks: [nb], out: path.join(dir, 'hand-in') });
    assert.notEqual(again.zip, handIn.zip);
    assert.ok(fs.existsSync(handIn.zip));
  });
});
