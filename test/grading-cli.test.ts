import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { feedbackHtml, gradebookCsv } from '../grading';

const run = promisify(execFile);
const repo = path.join(__dirname, '..');
const datasets = path.join(repo, 'datasets', 'submissions');

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

describe('grading: the instructor\'s command line', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-cli-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--batch --json: one JSON array element per submission, a gradebook CSV and Markdown+HTML feedback', async () => {
    const batch = path.join(tmp, 'batch');
    fs.mkdirSync(batch);
    copyDir(path.join(datasets, 'manual-example'), path.join(batch, 'PES1201800001'));
    copyDir(path.join(datasets, 'broken-t2-one-leader'), path.join(batch, 'PES1201800002'));
    fs.writeFileSync(path.join(batch, 'PES1201800003.zip'), 'this is not a zip');
    fs.writeFileSync(path.join(batch, 'notes.txt'), 'not a submission');
    const out = path.join(tmp, 'out');
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'grading/cli.ts', '--json', '--batch', batch, '--out', out], { cwd: repo });
    const result = JSON.parse(stdout) as { submission: string; tasks: Record<string, { score: number; max: number; passed: boolean; checks: Record<string, unknown>[] }>; error?: string }[];
    assert.deepEqual(result.map((r) => r.submission), ['PES1201800001', 'PES1201800002', 'PES1201800003']);
    assert.deepEqual(Object.keys(result[0]!), ['submission', 'tasks']);
    assert.deepEqual(Object.keys(result[0]!.tasks), ['task2', 'task3']);
    assert.deepEqual(Object.keys(result[0]!.tasks['task2']!), ['score', 'max', 'passed', 'checks']);
    assert.deepEqual(Object.keys(result[0]!.tasks['task2']!.checks[0]!), ['id', 'passed', 'points', 'message']);
    assert.equal(result[0]!.tasks['task2']!.score, 10);
    assert.equal(result[1]!.tasks['task2']!.passed, false);
    assert.match(result[2]!.error!, /PES1201800003\.zip: not a readable zip file/);
    assert.deepEqual(result[2]!.tasks, {});
    assert.match(stderr, /3 submissions graded \(1 could not be read\)/);

    const csv = fs.readFileSync(path.join(out, 'gradebook.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'student_id,task2 (/10),task3 (/10),total (/20),error');
    assert.equal(csv[1], 'PES1201800001,10,10,20,');
    assert.equal(csv[2], 'PES1201800002,8,10,18,');
    assert.match(csv[3]!, /^PES1201800003,0,0,0,"PES1201800003\.zip: not a readable zip file/);
    const md = fs.readFileSync(path.join(out, 'feedback', 'PES1201800002.md'), 'utf8');
    assert.match(md, /\*\*Total: 18 \/ 20\*\*/);
    assert.match(md, /- \[ \] `t2\.reelection` \(0\/2\): only node 3/);
    assert.match(fs.readFileSync(path.join(out, 'feedback', 'PES1201800001.html'), 'utf8'), /<h2>Task 3: replication: 10 \/ 10<\/h2>/);
    assert.ok(fs.existsSync(path.join(out, 'feedback', 'PES1201800003.md')));
  });

  it('PATH arguments without --json print one line per submission', async () => {
    const out = path.join(tmp, 'out');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'grading/cli.ts', '--out', out, path.join(datasets, 'manual-example'), path.join(datasets, 'broken-t3-storage-term')], { cwd: repo });
    assert.deepEqual(stdout.trim().split('\n'), [
      'manual-example: task2 10/10, task3 10/10, total 20/20',
      'broken-t3-storage-term: task2 10/10, task3 9.5/10, total 19.5/20 (failed: t3.storage)',
    ]);
  });

  it('CSV cells cannot become spreadsheet formulas, and HTML feedback is escaped', () => {
    const g = { submission: '=HYPERLINK("x")', source: 'x', tasks: {}, error: '<script>alert(1)</script>, "quoted"' };
    assert.equal(gradebookCsv([g]).split('\n')[1], `"'=HYPERLINK(""x"")",0,0,0,"<script>alert(1)</script>, ""quoted"""`);
    const html = feedbackHtml(g);
    assert.ok(!html.includes('<script>'));
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });
});
