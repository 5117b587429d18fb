import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  NotLeaderError, ProposalTimeoutError, RealNode, Replicated, ReplicatedDict, ReplicatedList, configure, getLeader, register,
  resetConfiguration, stop, type ConsensusNode,
} from '../lib';
import { freeBasePort } from './helpers/processes';

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The raftos-style API on real UDP nodes in this process (the lab's scripts use it one node per process). */
describe('raftos-style API on real nodes', function () {
  this.timeout(30_000);
  let dir: string;
  let nodes: RealNode[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-api-'));
  });
  afterEach(async () => {
    await stop();
    await Promise.all(nodes.map((n) => n.stop()));
    nodes = [];
    resetConfiguration();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function cluster(): Promise<{ ids: string[]; byId: Map<string, RealNode> }> {
    const base = await freeBasePort(3);
    const ids = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`);
    configure({ logPath: dir, serializer: 'compact-json', timings: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 } });
    const first = await register(ids[0]!, { cluster: ids.slice(1) });
    const rest = await Promise.all(ids.slice(1).map((id) => RealNode.start({ id, peers: ids, dir, timings: { heartbeatInterval: 30 } })));
    nodes = [first, ...rest];
    await until(() => nodes.some((n) => n.role === 'leader') && nodes.every((n) => n.getLeader() !== null && n.getLeader() === nodes.find((m) => m.role === 'leader')!.id), 10_000, 'a leader known to all');
    return { ids, byId: new Map(nodes.map((n) => [n.id, n])) };
  }

  it('register() makes the default node: getLeader() and Replicated without { node } use it', async () => {
    const { ids, byId } = await cluster();
    const leader = getLeader()!;
    assert.ok(ids.includes(leader));
    const dataId = new Replicated<number>('data_id', leader === ids[0] ? {} : { node: byId.get(leader)! });
    assert.equal(await dataId.set(5, { timeoutMs: 5000 }), 5);
    assert.equal(await dataId.get(), 5);
    await until(() => nodes.every((n) => n.readLocal('data_id') === 5), 5000, 'every node to apply data_id = 5');
    // configure({ serializer: 'compact-json' }) applies to register()'s node: its files use ujson's spelling.
    // get() reads through ReadIndex: it writes nothing to the log.
    const log = fs.readFileSync(path.join(dir, `${ids[0]!.replace(':', '_')}.log`), 'utf8').split('\n');
    const term = byId.get(leader)!.term;
    assert.deepEqual(log, [`{"term":${term},"command":{"data_id":5}}`, '']);
  });

  it('a follower write fails at once naming the leader; concurrent writes on the leader all land', async () => {
    const { byId } = await cluster();
    const leader = nodes.find((n) => n.role === 'leader')!;
    const follower = nodes.find((n) => n !== leader)!;
    await assert.rejects(new Replicated<number>('x', { node: follower }).set(1), (e: unknown) => e instanceof NotLeaderError && e.leaderId === leader.id);
    const list = new ReplicatedList<number>('items', { node: leader as ConsensusNode });
    await Promise.all(Array.from({ length: 20 }, (_, i) => list.append(i)));
    assert.deepEqual(await list.get(), Array.from({ length: 20 }, (_, i) => i));
    const dict = new ReplicatedDict<string>('names', { node: leader });
    await Promise.all([dict.setItem('a', 'x'), dict.setItem('b', 'y'), dict.update({ c: 'z' })]);
    assert.deepEqual(await dict.get(), { a: 'x', b: 'y', c: 'z' });
    assert.ok(byId.size === 3);
  });

  it('set() rejects with ProposalTimeoutError when no majority answers, instead of hanging', async () => {
    await cluster();
    const leader = nodes.find((n) => n.role === 'leader')!;
    for (const n of nodes) if (n !== leader) await n.stop();
    const started = Date.now();
    await assert.rejects(new Replicated<number>('y', { node: leader }).set(1, { timeoutMs: 500 }), ProposalTimeoutError);
    assert.ok(Date.now() - started >= 450);
  });

  it('configure({ snapshotEvery }) makes register()\'s node compact its log into a .snapshot file', async () => {
    const base = await freeBasePort(1);
    const id = `127.0.0.1:${base}`;
    configure({ logPath: dir, snapshotEvery: 3, timings: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 } });
    const node = await register(id, { cluster: [] });
    nodes = [node];
    await until(() => node.role === 'leader', 5000, 'a one-node cluster to elect itself');
    const x = new Replicated<number>('x');
    for (let i = 1; i <= 7; i++) await x.set(i);
    assert.equal(await x.get(), 7);
    assert.ok(node.snapshotIndex >= 6);
    const snapshot = JSON.parse(fs.readFileSync(path.join(dir, `${id.replace(':', '_')}.snapshot`), 'utf8')) as { state: { x: number } };
    assert.ok(snapshot.state.x >= 6);
  });

  it('configure() refuses unknown settings and serializers, naming them', () => {
    assert.throws(() => configure({ log_path: './' } as never), /unknown setting "log_path"/);
    assert.throws(() => configure({ serializer: 'msgpack' as never }), /serializer must be/);
    assert.throws(() => configure({ snapshotEvery: -1 }), /snapshotEvery must be a whole number/);
  });
});
