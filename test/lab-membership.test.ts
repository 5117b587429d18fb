import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkTask2, formatChecklist } from '../grading';
import { fileNamesFor, parseLogText } from '../lib/net/raftos-files';
import { configOf, type Configuration } from '../lib/raft/membership';
import type { LogEntry } from '../lib/raft/types';
import { freeBasePort, killAllProcesses, startProcess, startTaskProcess, type NodeProcess } from './helpers/processes';

const memberScript = path.join(__dirname, '..', 'scripts', 'member.ts');
const SECRET = 'membership lab secret';
const WAIT_MS = 30_000;

/** `npm run member -- ARGS`: its exit code and output. */
async function member(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const run = startProcess(memberScript, args);
  const code = await run.exited;
  return { code, output: run.output.join('\n') };
}

/** The voters a node program printed last ("configuration at index N: voters a, b; learners c"). */
function votersPrinted(node: NodeProcess): string[] | null {
  const line = [...node.output].reverse().find((l) => / configuration at index \d+: /.test(l));
  if (line === undefined) return null;
  return line.replace(/^.* configuration at index \d+: voters /, '').replace(/; learners .*$/, '').split(', ').sort();
}

function lastConfigIn(log: readonly LogEntry[]): Configuration | null {
  for (let i = log.length - 1; i >= 0; i--) {
    const config = configOf(log[i]!);
    if (config) return config;
  }
  return null;
}

/** Real node programs (`npm run task2`, --fast) and `npm run member` (or `npm run lab`), on free loopback ports, with a secret. */
describe('the lab grows from 3 nodes to 5 and shrinks back: --join and npm run member', function () {
  this.timeout(180_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-lab-member-'));
  });
  afterEach(async () => {
    await killAllProcesses();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Resolves once `node` prints `voters` (in any order) as its configuration. */
  async function untilVoters(node: NodeProcess, voters: readonly string[]): Promise<void> {
    const want = JSON.stringify([...voters].sort());
    await node.waitFor(/ configuration at index \d+: /, WAIT_MS);
    const deadline = Date.now() + WAIT_MS;
    while (JSON.stringify(votersPrinted(node)) !== want) {
      if (Date.now() > deadline) throw new Error(`node never printed voters ${want}; output:\n${node.output.join('\n')}`);
      await node.waitFor(/ configuration at index \d+: /, WAIT_MS, node.output.length);
    }
  }

  it('start 3, join 4 and 5 and add them, remove the leader and another: 3 voters that still elect and replicate', async () => {
    const base = await freeBasePort(5);
    const ids = [0, 1, 2, 3, 4].map((i) => `127.0.0.1:${base + i}`);
    const common = ['--task', '2', '--dir', dir, '--fast', '--secret', SECRET];
    const layout = [...common, '--base-port', String(base)];
    // Node 4 joins in the one-machine layout; node 5 as it would across machines: --cluster names the running members.
    const startArgs = (n: number) => (n <= 3
      ? ['--id', String(n), ...layout]
      : n === 4 ? ['--join', '--id', '4', '--nodes', '5', ...layout] : ['--join', '--cluster', ids.slice(0, 3).join(','), '--listen', ids[4]!, '--id', '5', ...common]);
    const nodes = new Map<string, NodeProcess>();
    for (const n of [1, 2, 3]) nodes.set(ids[n - 1]!, startTaskProcess(startArgs(n)));
    await Promise.any([...nodes.values()].map((p) => p.waitFor(/\] leader in term \d+/, WAIT_MS)));

    // Without the cluster's secret, the nodes do not listen: a clear failure, not a change.
    const stranger = await member(['add', '4', '--base-port', String(base), '--timeout', '2']);
    assert.equal(stranger.code, 1, stranger.output);
    assert.match(stranger.output, /member: adding 127\.0\.0\.1:\d+: no leader committed the change .*no server answered.*--secret/);

    for (const n of [4, 5]) {
      const joining = startTaskProcess(startArgs(n));
      nodes.set(ids[n - 1]!, joining);
      await joining.waitFor(/joining: waiting for the leader to add/, WAIT_MS);
      const added = await member(['add', String(n), '--base-port', String(base), '--secret', SECRET]);
      assert.equal(added.code, 0, added.output);
      assert.match(added.output, new RegExp(`member: added ${ids[n - 1]!.replace(/\./g, '\\.')}: it is a voter`));
    }
    await Promise.all([...nodes.values()].map((p) => untilVoters(p, ids)));
    const again = await member(['add', '5', '--base-port', String(base), '--secret', SECRET]);
    assert.equal(again.code, 0, `adding a voter again is a no-op: ${again.output}`);
    assert.match(again.output, /already a voter/);

    // Shrink: remove the leader (it hands the leadership over first, and the new leader removes it).
    const ask = ['--cluster', ids.join(','), '--secret', SECRET];
    const leader = /committed by the leader (\S+)/.exec(again.output)![1]!;
    const removedLeader = await member(['remove', leader, ...ask, '--verbose']);
    assert.equal(removedLeader.code, 0, removedLeader.output);
    assert.match(removedLeader.output, /handed the leadership to \S+, which removes it/);
    const successor = /committed by the leader (\S+)/.exec(removedLeader.output)![1]!;
    assert.notEqual(successor, leader);
    nodes.get(leader)!.child.kill('SIGINT');
    await nodes.get(leader)!.exited;
    nodes.delete(leader);
    await Promise.all([...nodes.values()].map((p) => untilVoters(p, [...nodes.keys()])));

    // The new leader stops too: the other three (of four voters) elect a leader, which removes it.
    const marks = new Map([...nodes].map(([id, p]) => [id, p.output.length]));
    nodes.get(successor)!.child.kill('SIGINT');
    await nodes.get(successor)!.exited;
    nodes.delete(successor);
    await Promise.any([...nodes].map(([id, p]) => p.waitFor(/\] leader in term \d+/, WAIT_MS, marks.get(id))));
    const removedStopped = await member(['remove', successor, ...ask]);
    assert.equal(removedStopped.code, 0, removedStopped.output);
    const survivors = [...nodes.keys()].sort();
    assert.equal(survivors.length, 3);
    await Promise.all([...nodes.values()].map((p) => untilVoters(p, survivors)));

    // A refused change names the reason and exits non-zero.
    const notMember = await member(['remove', successor, ...ask]);
    assert.equal(notMember.code, 1, notMember.output);
    assert.match(notMember.output, /refused: \S+ is not a member/);

    for (const p of nodes.values()) p.child.kill('SIGINT');
    await Promise.all([...nodes.values()].map((p) => p.exited));

    // The files: each survivor's log is the same, and ends with the 3-voter configuration; every node's log had 5.
    const logs = ids.map((id) => parseLogText(fs.readFileSync(fileNamesFor(dir, id).log, 'utf8'), id).entries);
    for (const [i, log] of logs.entries()) {
      assert.ok(log.some((e) => configOf(e)?.voters.length === 5), `${ids[i]}'s .log holds the 5-voter configuration`);
    }
    const survivorLogs = survivors.map((id) => logs[ids.indexOf(id)]!);
    for (const log of survivorLogs) {
      assert.deepEqual(log, survivorLogs[0], 'the survivors\' logs agree');
      assert.deepEqual([...lastConfigIn(log)!.voters].sort(), survivors);
    }
    assert.ok(!fs.readFileSync(fileNamesFor(dir, survivors[0]!).stateMachine, 'utf8').includes('raftlab.config'), 'configurations are not application state');

    // The grader reads such a hand-in: five nodes' files and configuration entries in the logs.
    const files = new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    const graded = checkTask2(files);
    for (const id of ['t2.files', 't2.consistent']) assert.ok(graded.checks.find((c) => c.id === id)?.passed, formatChecklist(graded));
    assert.match(graded.checks.find((c) => c.id === 't2.consistent')!.message, new RegExp(`every address is a node of ${ids.join(', ').replace(/\./g, '\\.')}`));
  });

  it('npm run lab -- membership does it in one command: adds nodes 4 and 5, removes the leader and a follower, stops every process, and leaves a hand-in the grader reads', async () => {
    const base = await freeBasePort(5);
    const ids = [0, 1, 2, 3, 4].map((i) => `127.0.0.1:${base + i}`);
    const run = startProcess(path.join(__dirname, '..', 'scripts', 'lab.ts'), ['membership', '--fast', '--quiet', '--out', dir, '--base-port', String(base), '--secret', SECRET]);
    const code = await run.exited;
    const output = run.output.join('\n');
    assert.equal(code, 0, output);
    // Every node program it started has stopped: their five ports are free again.
    for (const id of ids) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(Number(id.split(':')[1]), '127.0.0.1', () => resolve()));
      socket.close();
    }
    const survivors = /shrank back to (.*):$/m.exec(output)![1]!.split(', ').sort();
    assert.equal(survivors.length, 3);
    assert.match(output, /removed the leader, node \d \(\S+\): it handed its leadership to \S+, which removed it/);

    const logs = ids.map((id) => parseLogText(fs.readFileSync(fileNamesFor(dir, id).log, 'utf8'), id).entries);
    for (const [i, log] of logs.entries()) assert.ok(log.some((e) => configOf(e)?.voters.length === 5), `${ids[i]}'s .log holds the 5-voter configuration`);
    const survivorLogs = survivors.map((id) => logs[ids.indexOf(id)]!);
    for (const log of survivorLogs) {
      assert.deepEqual(log, survivorLogs[0], "the survivors' logs agree");
      assert.deepEqual([...lastConfigIn(log)!.voters].sort(), survivors);
    }
    const script = fs.readFileSync(path.join(dir, 'membership.sh'), 'utf8');
    assert.match(script, new RegExp(`npm run member -- add 5 --nodes 4 --base-port ${base} --secret "\\$RAFT_LAB_SECRET"`));
    assert.ok(!script.includes(SECRET), 'the secret is not written into the folder');

    const files = new Map(fs.readdirSync(dir).filter((f) => !f.endsWith('.sh')).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    const graded = checkTask2(files);
    for (const id of ['t2.files', 't2.consistent']) assert.ok(graded.checks.find((c) => c.id === id)?.passed, formatChecklist(graded));
  });
});
