import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeClass, reports, until } from './helpers/class-batch';

const run = promisify(execFile);
const repo = path.join(__dirname, '..');
const CLASS = 160;

function grade(batch: string, out: string, ...extra: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'grading/cli.ts', '--batch', batch, '--out', out, ...extra], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
}

const resultFiles = (out: string) => (fs.existsSync(path.join(out, 'results')) ? fs.readdirSync(path.join(out, 'results')).filter((n) => n.endsWith('.json')) : []);

describe('grading: a class graded resumably (OUT/results)', function () {
  this.timeout(120_000);
  let tmp: string;
  let batch: string;
  let reference: string;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-resume-'));
    batch = path.join(tmp, 'class');
    makeClass(batch, CLASS);
    reference = path.join(tmp, 'uninterrupted');
    await grade(batch, reference);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a grader SIGKILLed in the middle of a batch keeps its results; the rerun grades the rest and writes the same gradebook', async () => {
    const out = path.join(tmp, 'killed');
    const child = spawn(process.execPath, ['--import', 'tsx', 'grading/cli.ts', '--batch', batch, '--out', out], { cwd: repo, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await until(() => resultFiles(out).length >= 40 || child.exitCode !== null, 60_000, '40 stored results');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const kept = resultFiles(out).length;
    assert.ok(kept >= 40 && kept < CLASS, `killed mid-batch: ${kept} of ${CLASS} results stored`);
    assert.ok(!fs.existsSync(path.join(out, 'gradebook.csv')), 'no gradebook was written by the killed run');

    const { stderr } = await grade(batch, out);
    const reused = Number(/(\d+) results? reused/.exec(stderr)?.[1] ?? 0);
    assert.equal(reused, kept, 'the rerun reused every result stored before the kill, and graded only the rest');
    assert.deepEqual(reports(out), reports(reference));
    assert.equal(resultFiles(out).length, resultFiles(reference).length);
  });

  it('a rerun reuses every result; a changed submission is graded again; --fresh grades everything', async () => {
    const out = path.join(tmp, 'changed');
    await grade(batch, out);
    const again = await grade(batch, out);
    assert.match(again.stderr, new RegExp(`${resultFiles(out).length} results reused`));

    // The first copy of the manual's example (full marks; makeClass cycles datasets/ in name order): break its Task 2.
    const example = fs.readdirSync(path.join(repo, 'datasets', 'submissions')).sort().indexOf('manual-example');
    const id = `PES${String(example).padStart(4, '0')}`;
    const sample = path.join(batch, id);
    const dir = fs.readdirSync(sample).find((n) => fs.statSync(path.join(sample, n)).isDirectory());
    const student = dir ? path.join(sample, dir) : sample;
    const before = JSON.parse((await grade(batch, out, '--json')).stdout) as { submission: string; tasks: { task2?: { score: number } } }[];
    const row = before.find((r) => r.submission === id)!;
    assert.equal(row.tasks.task2?.score, 10);
    try {
      fs.writeFileSync(path.join(student, 'task2_node2.txt'), '');
      const changed = await grade(batch, out, '--json');
      assert.match(changed.stderr, new RegExp(`${resultFiles(out).length - 1} results reused`));
      const after = JSON.parse(changed.stdout) as typeof before;
      assert.ok(after.find((r) => r.submission === id)!.tasks.task2!.score < 10, 'the changed submission was graded again');
      assert.deepEqual(after.filter((r) => r.submission !== id), before.filter((r) => r.submission !== id));

      const fresh = await grade(batch, out, '--fresh');
      assert.doesNotMatch(fresh.stderr, /reused/);
    } finally {
      fs.rmSync(sample, { recursive: true, force: true });
      fs.cpSync(path.join(repo, 'datasets', 'submissions', 'manual-example'), sample, { recursive: true });
    }
  });
});
