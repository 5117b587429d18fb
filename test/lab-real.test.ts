import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLabProcesses } from '../lib/lab/process-lab';
import { encodeDatagram } from '../lib/net/codec';
import { parseLogText, parseStateMachineText } from '../lib/net/raftos-files';
import { freeBasePort, killAllProcesses, startTaskProcess, type NodeProcess } from './helpers/processes';

/** Real processes on loopback. Every wait is bounded, every process is killed after each test. */
describe('the three-terminal lab with real processes', function () {
  this.timeout(90_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-lab-'));
  });
  afterEach(async () => {
    await killAllProcesses();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const lines = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter((l) => l !== '');

  async function startCluster(task: 2 | 3, extra: string[] = []): Promise<{ base: number; nodes: NodeProcess[] }> {
    const base = await freeBasePort(3);
    const nodes = [1, 2, 3].map((id) =>
      startTaskProcess(['--task', String(task), '--id', String(id), '--dir', dir, '--base-port', String(base), '--fast', ...extra]),
    );
    return { base, nodes };
  }

  /** Index of the node (0-2) that prints that it leads, after output line `from` of each. */
  async function leaderOf(nodes: NodeProcess[], timeoutMs: number, from: number[] = [0, 0, 0]): Promise<number> {
    return Promise.any(nodes.map((n, i) => n.waitFor(/\] leader in term \d+/, timeoutMs, from[i]).then(() => i)));
  }

  it('npm run lab -- task2 --fast: two leaders stopped with SIGINT, the survivor never leads, all files left', async () => {
    const base = await freeBasePort(3);
    const result = await runLabProcesses({ task: 2, fast: true, out: dir, basePort: base });
    assert.ok(result.ok, result.summary);
    assert.deepEqual(result.stops.map((s) => s.how), ['SIGINT', 'SIGINT', 'SIGINT']);
    for (const n of [1, 2, 3]) assert.ok(result.files.includes(`task2_node${n}.txt`));
    for (let p = base; p < base + 3; p++) {
      assert.ok(result.files.includes(`127.0.0.1_${p}.log`));
      assert.ok(result.files.includes(`127.0.0.1_${p}.storage`));
    }
    const [first, second, last] = result.stops.map((s) => s.node);
    assert.equal(lines(`task2_node${first}.txt`).at(-1), `LEADER IS NOW NODE ${first}`);
    assert.equal(lines(`task2_node${second}.txt`).at(-1), `LEADER IS NOW NODE ${second}`);
    const survivor = lines(`task2_node${last}.txt`);
    assert.deepEqual(survivor.slice(-3), ['LEADER => None', 'LEADER => None', 'LEADER => None']);
    for (const l of survivor) assert.match(l, /^LEADER => (None|127\.0\.0\.1:\d+)$/);
  });

  it('npm run lab -- task3 --fast: each leader writes its NODE_ID and exits; surviving logs agree', async () => {
    const base = await freeBasePort(3);
    const result = await runLabProcesses({ task: 3, fast: true, out: dir, basePort: base });
    assert.ok(result.ok, result.summary);
    assert.deepEqual(result.stops.map((s) => s.how), ['exited', 'exited', 'SIGINT']);
    const writers = result.stops.slice(0, 2).map((s) => s.node);
    for (const n of writers) {
      assert.deepEqual(lines(`task3_node${n}.txt`).slice(-3), [`LEADER -> ${n}`, 'done writing data_id', 'done writing data']);
    }
    const port = (n: number) => base + n - 1;
    const logOf = (n: number) => {
      const file = path.join(dir, `127.0.0.1_${port(n)}.log`);
      return parseLogText(fs.readFileSync(file, 'utf8'), file).entries.map((e) => e.command);
    };
    const expected = writers.map((n) => ({ data_id: n }));
    const [, second, last] = result.stops.map((s) => s.node) as [number, number, number];
    assert.deepEqual(logOf(second), expected);
    assert.deepEqual(logOf(last), expected);
    const sm = path.join(dir, `127.0.0.1_${port(last)}.state_machine`);
    assert.deepEqual(parseStateMachineText(fs.readFileSync(sm, 'utf8'), sm), { data_id: writers[1] });
    // raftos's exact spelling, as the manual's screenshots show it
    assert.equal(fs.readFileSync(path.join(dir, `127.0.0.1_${port(last)}.log`), 'utf8').split('\n')[0], `{"term": ${JSON.parse(fs.readFileSync(path.join(dir, `127.0.0.1_${port(last)}.log`), 'utf8').split('\n')[0]!).term}, "command": {"data_id": ${writers[0]}}}`);
  });

  it('a leader killed with SIGKILL is replaced; the lone survivor keeps campaigning and never leads', async () => {
    const { nodes } = await startCluster(2);
    const first = await leaderOf(nodes, 15_000);
    const marks = nodes.map((n) => n.output.length);
    nodes[first]!.child.kill('SIGKILL');
    await nodes[first]!.exited;
    const others = [0, 1, 2].filter((i) => i !== first);
    const second = await leaderOf(others.map((i) => nodes[i]!), 15_000, others.map((i) => marks[i]!)).then((k) => others[k]!);
    const survivor = others.find((i) => i !== second)!;
    nodes[second]!.child.kill('SIGINT');
    await nodes[second]!.exited;
    const from = nodes[survivor]!.output.length;
    // Five more elections started and lost: each prints "candidate in term N".
    for (let k = 0; k < 5; k++) {
      const at = nodes[survivor]!.output.length;
      await nodes[survivor]!.waitFor(/\] candidate in term \d+/, 15_000, at);
    }
    assert.ok(!nodes[survivor]!.output.slice(from).some((l) => /\] leader in term/.test(l)), 'the lone survivor never leads');
  });

  it('a restarted node reloads its files and carries on (Task 3 run twice without removing the files)', async () => {
    const base = await freeBasePort(3);
    const first = await runLabProcesses({ task: 3, fast: true, out: dir, basePort: base });
    assert.ok(first.ok, first.summary);
    const last = first.stops[2]!.node;
    const logFile = path.join(dir, `127.0.0.1_${base + last - 1}.log`);
    const before = parseLogText(fs.readFileSync(logFile, 'utf8'), logFile).entries;
    const storage = JSON.parse(fs.readFileSync(path.join(dir, `127.0.0.1_${base + last - 1}.storage`), 'utf8')) as { term: number };
    // Start all three again on the same files (no rm 127*): the next leader appends after what is there.
    const nodes = [1, 2, 3].map((id) =>
      startTaskProcess(['--task', '3', '--id', String(id), '--dir', dir, '--base-port', String(base), '--fast']),
    );
    const writer = await Promise.any(nodes.map((n, i) => n.waitFor(/\] done/, 30_000).then(() => i)));
    assert.equal(await nodes[writer]!.exited, 0);
    const after = parseLogText(fs.readFileSync(path.join(dir, `127.0.0.1_${base + writer}.log`), 'utf8'), 'log').entries;
    assert.deepEqual(after.slice(0, before.length), before, 'the old entries are kept, in order');
    assert.deepEqual(after.at(-1)!.command, { data_id: writer + 1 });
    assert.ok(after.at(-1)!.term > storage.term || after.at(-1)!.term > before.at(-1)!.term, 'new entries come in a later term');
  });

  it('a corrupt .log stops start-up with an error naming file and line, and the file is left as it was', async () => {
    const base = await freeBasePort(3);
    const file = path.join(dir, `127.0.0.1_${base}.log`);
    const corrupt = '{"term": 1, "command": {"data_id": 1}}\n{"term": 1, "command": {"data_id": \n';
    fs.writeFileSync(file, corrupt);
    const node = startTaskProcess(['--task', '2', '--id', '1', '--dir', dir, '--base-port', String(base), '--fast']);
    assert.equal(await node.exited, 1);
    assert.ok(node.output.some((l) => l.includes(`127.0.0.1_${base}.log line 2`)), node.output.join('\n'));
    assert.equal(fs.readFileSync(file, 'utf8'), corrupt);
  });

  it('a port already in use stops start-up with an error naming the address', async () => {
    const base = await freeBasePort(3);
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(base + 1, '127.0.0.1', () => resolve()));
    try {
      const node = startTaskProcess(['--task', '2', '--id', '2', '--dir', dir, '--base-port', String(base), '--fast']);
      assert.equal(await node.exited, 1);
      assert.ok(node.output.some((l) => l.includes(`127.0.0.1:${base + 1}`) && /in use/i.test(l)), node.output.join('\n'));
    } finally {
      squatter.close();
    }
  });

  it('garbage and unauthenticated datagrams are dropped and counted; the secured cluster keeps working', async () => {
    const { base, nodes } = await startCluster(2, ['--secret', 'correct horse battery staple']);
    const leader = await leaderOf(nodes, 15_000);
    const target = [0, 1, 2].find((i) => i !== leader)!;
    // On a busy machine two nodes can elect a leader before the third has bound its port: wait until it hears one.
    await nodes[target]!.waitFor(/the leader is 127\.0\.0\.1:\d+/, 15_000);
    const sock = dgram.createSocket('udp4');
    const send = (buf: Buffer) => new Promise<void>((r) => sock.send(buf, base + target, '127.0.0.1', () => r()));
    try {
      for (let i = 0; i < 20; i++) await send(Buffer.from(`garbage ${i} \u0000\u00ff`));
      // A well-formed RequestVote from a real peer's address, but without the secret: refused.
      const forged = encodeDatagram(`127.0.0.1:${base + leader}`, {
        type: 'RequestVote', term: 1_000_000, candidateId: `127.0.0.1:${base + leader}`, lastLogIndex: 0, lastLogTerm: 0,
      });
      for (let i = 0; i < 20; i++) await send(forged);
    } finally {
      sock.close();
    }
    // The cluster is undisturbed: kill the leader, and the others still elect one of themselves.
    const marks = nodes.map((n) => n.output.length);
    nodes[leader]!.child.kill('SIGKILL');
    const others = [0, 1, 2].filter((i) => i !== leader);
    await leaderOf(others.map((i) => nodes[i]!), 15_000, others.map((i) => marks[i]!));
    nodes[target]!.child.kill('SIGINT');
    await nodes[target]!.exited;
    const summary = nodes[target]!.output.find((l) => l.includes('dropped:'));
    assert.ok(summary, nodes[target]!.output.join('\n'));
    const count = (reason: string) => Number(new RegExp(`${reason} (\\d+)`).exec(summary)![1]);
    assert.ok(count('malformed') + count('unauthenticated') >= 40, summary);
    assert.ok(count('unauthenticated') >= 20, summary);
    assert.ok(!nodes[target]!.output.some((l) => /term 1000000/.test(l)), 'the forged term was never adopted');
  });
});
