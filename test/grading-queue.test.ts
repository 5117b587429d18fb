import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { redisConnection } from '../grading/queue/connection';
import { QUEUE_NAME } from '../grading/queue/connection';
import { makeClass, reports } from './helpers/class-batch';
import { startProcess, killAllProcesses, type NodeProcess } from './helpers/processes';
import { startRedis, type RedisServer } from './helpers/redis';

const run = promisify(execFile);
const repo = path.join(__dirname, '..');
const CLASS = 24;

const worker = (redis: RedisServer, ...extra: string[]) => startProcess(path.join(repo, 'grading', 'queue', 'worker-cli.ts'), ['--queue', redis.url, '--lock-ms', '2000', ...extra]);
const instructor = (redis: RedisServer, batch: string, out: string) => startProcess(path.join(repo, 'grading', 'cli.ts'), ['--queue', redis.url, '--batch', batch, '--out', out]);

/** The job ids a worker reported as graded. */
const gradedBy = (w: NodeProcess) => w.output.map((l) => /^grade-worker: graded (\S+)/.exec(l)?.[1]).filter((id): id is string => id !== undefined);

describe('grading: a class on the job queue (BullMQ on a real redis-server, worker processes)', function () {
  this.timeout(120_000);
  let tmp: string;
  let batch: string;
  let local: string;
  let redis: RedisServer | null = null;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-queue-'));
    batch = path.join(tmp, 'class');
    makeClass(batch, CLASS);
    local = path.join(tmp, 'local');
    await run(process.execPath, ['--import', 'tsx', 'grading/cli.ts', '--batch', batch, '--out', local], { cwd: repo });
  });
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await killAllProcesses();
    await redis?.stop();
    redis = null;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  async function completedJobs(): Promise<number> {
    const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis!.url) });
    try {
      const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active');
      assert.equal(counts['failed'], 0);
      assert.equal(counts['waiting'], 0);
      assert.equal(counts['active'], 0);
      return counts['completed']!;
    } finally {
      await queue.close();
    }
  }

  it('two workers grade the class; the instructor\'s gradebook and feedback equal a one-machine run\'s', async () => {
    const a = worker(redis!);
    const b = worker(redis!);
    await Promise.all([a.waitFor(/worker ready/, 30_000), b.waitFor(/worker ready/, 30_000)]);
    const out = path.join(tmp, 'two-workers');
    const grader = instructor(redis!, batch, out);
    assert.equal(await grader.exited, 0, grader.output.join('\n'));
    assert.deepEqual(reports(out), reports(local));
    const graded = [...gradedBy(a), ...gradedBy(b)];
    assert.equal(graded.length, new Set(graded).size, 'no job graded twice');
    assert.equal(new Set(graded).size, (await completedJobs()));
    assert.ok(graded.length > 0 && graded.length <= CLASS);

    // The same command again: every result is in OUT/results, nothing is enqueued.
    const again = instructor(redis!, batch, out);
    assert.equal(await again.exited, 0);
    assert.ok(again.output.some((l) => new RegExp(`${graded.length} results reused`).test(l)), again.output.join('\n'));
    assert.equal([...gradedBy(a), ...gradedBy(b)].length, graded.length);
  });

  it('a worker SIGKILLed holding a job: its job goes to another worker, and every submission is graded exactly once', async () => {
    const doomed = worker(redis!, '--concurrency', '1', '--job-delay-ms', '600000');
    await doomed.waitFor(/worker ready/, 30_000);
    const out = path.join(tmp, 'killed-worker');
    const grader = instructor(redis!, batch, out);
    const started = await doomed.waitFor(/^grade-worker: started /, 30_000);
    const heldJob = /started (\S+)/.exec(started)![1]!;
    doomed.child.kill('SIGKILL');
    await doomed.exited;

    const b = worker(redis!);
    const c = worker(redis!);
    assert.equal(await grader.exited, 0, grader.output.join('\n'));
    assert.deepEqual(reports(out), reports(local));
    const graded = [...gradedBy(b), ...gradedBy(c)];
    assert.equal(graded.length, new Set(graded).size, `no job graded twice: ${graded.join(' ')}`);
    assert.ok(graded.includes(heldJob), 'the dead worker\'s job was graded by another worker');
    assert.equal(gradedBy(doomed).length, 0);
    assert.equal(graded.length, await completedJobs());
  });
});
