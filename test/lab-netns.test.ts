import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gradeSubmission } from '../grading/grade';
import { MembershipError, resolveMembership } from '../lib/lab/membership';
import { runLabProcesses } from '../lib/lab/process-lab';
import { parseLogText, parseStateMachineText } from '../lib/net/raftos-files';

const single = { nodes: 3, host: '127.0.0.1', basePort: 8000 };

describe('the lab across machines: --cluster and --listen', () => {
  it('node N is the N-th member of --cluster; --listen picks it, --id may say it too', () => {
    const cluster = '10.1.0.1:8000,10.1.0.2:8000,10.1.0.3:9000';
    assert.deepEqual(resolveMembership({ ...single, cluster, listen: '10.1.0.2:8000' }), {
      members: ['10.1.0.1:8000', '10.1.0.2:8000', '10.1.0.3:9000'], self: '10.1.0.2:8000', peers: ['10.1.0.1:8000', '10.1.0.3:9000'], nodeNumber: 2, joining: false,
    });
    assert.equal(resolveMembership({ ...single, cluster, id: 3 }).self, '10.1.0.3:9000');
    assert.equal(resolveMembership({ ...single, id: 2 }).self, '127.0.0.1:8001', 'without --cluster: the one-machine layout');
  });

  it('--join: a new node hears from the running members; its --listen may be a new address, node members + 1', () => {
    const cluster = '10.1.0.1:8000,10.1.0.2:8000,10.1.0.3:8000';
    assert.deepEqual(resolveMembership({ ...single, cluster, listen: '10.1.0.4:8000', join: true }), {
      members: ['10.1.0.1:8000', '10.1.0.2:8000', '10.1.0.3:8000', '10.1.0.4:8000'], self: '10.1.0.4:8000',
      peers: ['10.1.0.1:8000', '10.1.0.2:8000', '10.1.0.3:8000'], nodeNumber: 4, joining: true,
    });
    assert.equal(resolveMembership({ ...single, cluster, listen: '10.1.0.9:8000', id: 5, join: true }).nodeNumber, 5);
    const layout = resolveMembership({ ...single, nodes: 5, id: 4, join: true });
    assert.deepEqual([layout.self, layout.peers, layout.joining], ['127.0.0.1:8003', ['127.0.0.1:8000', '127.0.0.1:8001', '127.0.0.1:8002', '127.0.0.1:8004'], true]);
  });

  it('a bad --cluster or --listen is an error naming the option and the value', () => {
    const bad: [Parameters<typeof resolveMembership>[0], RegExp][] = [
      [{ ...single, cluster: '10.1.0.1:8000,,10.1.0.3:8000', id: 1 }, /--cluster: .*no empty member/],
      [{ ...single, cluster: '10.1.0.1:8000,laptop', id: 1 }, /--cluster member 2: expected "host:port".*"laptop"/],
      [{ ...single, cluster: '10.1.0.1:70000', id: 1 }, /--cluster member 1: port 70000 is out of range/],
      [{ ...single, cluster: '10.1.0.1:8000,10.1.0.1:8000', id: 1 }, /10\.1\.0\.1:8000 is listed twice/],
      [{ ...single, cluster: '10.1.0.1:8000,10.1.0.2:8000', listen: '10.1.0.9:8000' }, /--listen 10\.1\.0\.9:8000 is not one of --cluster's members .*; a new node joining a running cluster takes --join/],
      [{ ...single, id: 4 }, /--id must be between 1 and 3 \(--nodes\), got 4 \(to grow the cluster to 4 nodes or more, start node 4 with --join --nodes 5, then add it with npm run member\)/],
      [{ ...single, cluster: '10.1.0.1:8000,10.1.0.2:8000', listen: '10.1.0.9:8000', id: 2, join: true }, /--id 2 is member 2 of --cluster \(10\.1\.0\.2:8000\), not --listen 10\.1\.0\.9:8000: a joining node's --id is above 2/],
      [{ ...single, cluster: '10.1.0.1:8000,10.1.0.2:8000', id: 3, join: true }, /--id must be between 1 and 2 .*a new node joining the cluster gives its address with --listen host:port/],
      [{ ...single, cluster: '10.1.0.1:8000,10.1.0.2:8000', listen: '10.1.0.2' }, /--listen: expected "host:port"/],
      [{ ...single, cluster: '10.1.0.1:8000,10.1.0.2:8000', listen: '10.1.0.2:8000', id: 1 }, /--id 1 does not match --listen 10\.1\.0\.2:8000, member 2/],
      [{ ...single, cluster: '10.1.0.1:8000,10.1.0.2:8000' }, /give --listen/],
      [{ ...single, cluster: '10.1.0.1:8000', id: 1, given: { basePort: true } }, /--base-port cannot be combined with --cluster/],
      [{ ...single, listen: '10.1.0.1:8000' }, /--listen needs --cluster/],
    ];
    for (const [options, message] of bad) assert.throws(() => resolveMembership(options), (e: Error) => e instanceof MembershipError && message.test(e.message), JSON.stringify(options));
  });

  it('the node program refuses a bad --cluster before it binds anything', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'scripts', 'task.ts'), '--task', '2', '--cluster', '10.1.0.1:8000,10.1.0.2:8000', '--listen', '10.1.0.3:8000'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--listen 10\.1\.0\.3:8000 is not one of --cluster's members/);
  });
});

/**
 * Three nodes in three Linux network namespaces joined by a bridge in a fourth: addresses 10.x that exist only
 * inside the namespaces this test creates (nothing on the machine's own network changes), removed afterwards.
 */
describe('the lab across machines: three network namespaces', function () {
  this.timeout(180_000);
  const tag = `rl${process.pid % 100000}`;
  const bridgeNs = `${tag}-br`;
  const nodeNs = [1, 2, 3].map((n) => `${tag}-n${n}`);
  const subnet = `10.${100 + (process.pid % 100)}.${(process.pid >> 7) % 250}`;
  const members = [1, 2, 3].map((n) => `${subnet}.${n}:8000`);
  let dir: string;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

  const removeNamespaces = () => {
    for (const ns of [...nodeNs, bridgeNs]) spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
  };

  before(function () {
    const why = process.getuid?.() !== 0 ? 'not root' : spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status !== 0 ? '`ip netns` is not available (iproute2)' : null;
    if (why) {
      console.log(`      (skipped: ${why}; network namespaces need root and iproute2)`);
      this.skip();
    }
    removeNamespaces();
    try {
      ip('netns', 'add', bridgeNs);
      ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
      nodeNs.forEach((ns, i) => {
        ip('netns', 'add', ns);
        ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i + 1}`, 'netns', bridgeNs);
        ip('-n', bridgeNs, 'link', 'set', `p${i + 1}`, 'master', 'br0', 'up');
        ip('-n', ns, 'addr', 'add', `${subnet}.${i + 1}/24`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
      });
    } catch (error) {
      removeNamespaces();
      throw new Error(`could not build the test's network namespaces: ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
    }
  });
  after(removeNamespaces);
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-lab-netns-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const inNamespace = (n: number) => ['ip', 'netns', 'exec', nodeNs[n - 1]!];
  const lines = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter((l) => l !== '');
  const fileOf = (n: number, ext: string) => path.join(dir, `${members[n - 1]!.replace(':', '_')}.${ext}`);

  it("the nodes' addresses exist only inside their namespaces", () => {
    assert.ok(!execFileSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).includes(`${subnet}.`), 'not on the machine itself');
    assert.match(execFileSync('ip', ['-n', nodeNs[1]!, '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }), new RegExp(`inet ${subnet.replace(/\./g, '\\.')}\\.2/24`));
  });

  it('Task 2 then Task 3 across the three: leaders stopped, others elected, each write replicated, the files graded', async () => {
    const two = await runLabProcesses({ task: 2, fast: true, out: dir, members, wrap: inNamespace });
    assert.ok(two.ok, two.summary);
    assert.deepEqual(two.stops.map((s) => s.how), ['SIGINT', 'SIGINT', 'SIGINT']);
    const [first, second, last] = two.stops.map((s) => s.node) as [number, number, number];
    assert.equal(lines(`task2_node${first}.txt`).at(-1), `LEADER IS NOW NODE ${first}`);
    assert.equal(lines(`task2_node${second}.txt`).at(-1), `LEADER IS NOW NODE ${second}`, 'a new leader was elected after the first was stopped');
    for (const l of lines(`task2_node${last}.txt`)) assert.match(l, new RegExp(`^LEADER => (None|${subnet.replace(/\./g, '\\.')}\\.[123]:8000)$`));

    const three = await runLabProcesses({ task: 3, fast: true, out: dir, members, wrap: inNamespace });
    assert.ok(three.ok, three.summary);
    const writers = three.stops.slice(0, 2).map((s) => s.node);
    const survivor = three.stops[2]!.node;
    const logOf = (n: number) => parseLogText(fs.readFileSync(fileOf(n, 'log'), 'utf8'), fileOf(n, 'log')).entries.map((e) => e.command);
    assert.deepEqual(logOf(survivor), writers.map((n) => ({ data_id: n })), 'both writes reached the survivor, in order');
    assert.deepEqual(logOf(writers[1]!), writers.map((n) => ({ data_id: n })));
    for (const n of [1, 2, 3]) for (const ext of ['log', 'storage']) assert.ok(fs.existsSync(fileOf(n, ext)), `${fileOf(n, ext)} exists`);
    assert.deepEqual(parseStateMachineText(fs.readFileSync(fileOf(survivor, 'state_machine'), 'utf8'), 'state machine'), { data_id: writers[1] });
    assert.match(fs.readFileSync(path.join(dir, `${survivor}.sh`), 'utf8'), new RegExp(`--cluster ${members.join(',')} --listen ${members[survivor - 1]}`), 'the script says how the node was started');

    // The grader takes the cluster from the files' names and the scripts' --cluster: full marks, as on one machine.
    const grade = await gradeSubmission(dir);
    assert.equal(grade.error, undefined);
    for (const t of [grade.tasks.task2!, grade.tasks.task3!]) {
      assert.equal(t.score, t.max, t.checks.filter((c) => !c.passed).map((c) => `${c.id}: ${c.message}`).join('\n'));
    }
  });
});
