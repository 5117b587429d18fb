import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster } from '../lib';
import {
  cdfPoints, electionCdf, electionCdfSpec, logGrid, messageArrows, messageDiagram, saveSvg, termTimeline, timelineData,
} from '../lib/viz';

/** Elect, write, crash the leader, re-elect, partition, heal and restart: every kind of mark the timeline draws. */
function story(seed = 1): { cluster: Cluster; crashed: string } {
  const cluster = new Cluster({ nodes: 3, seed });
  cluster.runUntil((c) => c.leader() !== null);
  cluster.propose({ data_id: 1 });
  cluster.runFor(300);
  const crashed = cluster.leader()!;
  cluster.crash(crashed);
  cluster.runUntil((c) => c.leader() !== null, { timeout: 10_000 });
  cluster.propose({ data_id: 2 });
  cluster.runFor(200);
  const leader = cluster.leader()!;
  cluster.partition([leader], cluster.ids.filter((id) => id !== leader && id !== crashed));
  cluster.propose({ data_id: 3 });
  cluster.runFor(1500);
  cluster.heal();
  cluster.restart(crashed);
  cluster.runFor(500);
  return { cluster, crashed };
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('plots (lib/viz)', function () {
  this.timeout(20_000);

  it('timelineData follows each node through its roles and terms, crashes and partitions', () => {
    const { cluster, crashed } = story();
    const data = timelineData(cluster);
    assert.deepEqual(data.nodes, cluster.ids);
    assert.equal(data.end, cluster.now);
    for (const id of cluster.ids) {
      const mine = data.segments.filter((s) => s.node === id);
      assert.equal(mine[0]!.start, 0);
      assert.equal(mine[mine.length - 1]!.end, cluster.now);
      for (let i = 1; i < mine.length; i++) assert.equal(mine[i]!.start, mine[i - 1]!.end, `${id}: segments are contiguous`);
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.term >= mine[i - 1]!.term, `${id}: terms never go down`);
    }
    const leaderTerms = data.segments.filter((s) => s.role === 'leader').map((s) => s.term);
    assert.equal(new Set(leaderTerms).size, leaderTerms.length, 'one leader stretch per term');
    assert.deepEqual(data.marks.map((m) => [m.node, m.kind]), [[crashed, 'crash'], [crashed, 'restart']]);
    assert.deepEqual(data.network.map((n) => n.kind), ['partition', 'heal']);
    const down = data.segments.filter((s) => s.role === 'down');
    assert.equal(down.length, 1);
    assert.equal(down[0]!.node, crashed);
    assert.equal(down[0]!.start, data.marks[0]!.t);
    assert.equal(down[0]!.end, data.marks[1]!.t);
  });

  it('termTimeline renders an SVG with every node, the roles, the terms and the crash and partition marks', async () => {
    const { cluster } = story();
    const svg = await termTimeline(cluster, { title: 'story of seed 1' });
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
    for (const id of cluster.ids) assert.ok(svg.includes(id), `names ${id}`);
    for (const word of ['story of seed 1', 'leader', 'follower', 'candidate', 'crash', 'restart', 'partition (', 'healed', 'T1', 'T2']) {
      assert.ok(svg.includes(word), `shows "${word}"`);
    }
    assert.equal(await termTimeline(story().cluster, { title: 'story of seed 1' }), svg, 'deterministic');
    assert.notEqual(await termTimeline(story(2).cluster, { title: 'story of seed 1' }), svg, 'another seed draws another story');
  });

  it('logGrid shows every entry of every node, coloured by term, with the commit index', async () => {
    const { cluster } = story();
    const svg = await logGrid(cluster);
    assert.match(svg, /^<svg[\s\S]*<\/svg>$/);
    for (const s of cluster.statuses()) {
      assert.ok(svg.includes(`${s.id.split(':')[1]} · commit ${s.commitIndex}`), `row of ${s.id}`);
    }
    const entries = cluster.statuses().reduce((n, s) => n + s.log.length, 0);
    assert.equal(count(svg, '<title>index '), entries, 'one cell per entry');
    assert.ok(svg.includes('data_id=3'));
    assert.equal(await logGrid(story().cluster), svg, 'deterministic');
    // An uncommitted entry is drawn dashed: a lone leader without a majority cannot commit.
    const lonely = new Cluster({ nodes: 3, seed: 3 });
    lonely.runUntil((c) => c.leader() !== null);
    const leader = lonely.leader()!;
    lonely.partition([leader], lonely.ids.filter((id) => id !== leader));
    lonely.propose({ x: 1 }, leader);
    lonely.runFor(50);
    const pale = await logGrid(lonely);
    assert.ok(pale.includes('(not committed)'));
    assert.ok(pale.includes('stroke-dasharray="3,2"'));
  });

  it('messageDiagram pairs every send with its delivery or drop, and draws them', async () => {
    const cluster = new Cluster({ nodes: 3, seed: 2 });
    cluster.runUntil((c) => c.leader() !== null);
    cluster.propose({ x: 1 });
    cluster.runFor(120);
    const arrows = messageArrows(cluster, { maxMessages: 1000 });
    const sends = cluster.trace.filter('send');
    assert.equal(arrows.length, sends.length);
    for (const a of arrows) {
      if (a.delivered !== null) assert.ok(a.delivered >= a.sent);
    }
    assert.ok(arrows.some((a) => a.type === 'RequestVote'));
    assert.ok(arrows.some((a) => a.type === 'AppendEntries'));
    const svg = await messageDiagram(cluster);
    assert.match(svg, /^<svg[\s\S]*<\/svg>$/);
    for (const port of ['8000', '8001', '8002']) assert.ok(svg.includes(`>${port}<`), `lifeline ${port}`);
    assert.ok(svg.includes('RV = RequestVote'));
    const arrowGroup = /<g[^>]*aria-label="arrow"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
    assert.ok(arrowGroup, 'an arrow mark');
    assert.equal(count(arrowGroup[1]!, '<path'), arrows.filter((a) => a.delivered !== null).length, 'one arrow per delivered message');

    const quiet = new Cluster({ nodes: 3, seed: 2, trace: 'state' });
    quiet.runFor(500);
    await assert.rejects(messageDiagram(quiet), /trace: "all"/);
  });

  it('messageDiagram marks dropped messages with their reason', async () => {
    const cluster = new Cluster({ nodes: 3, seed: 4 });
    cluster.runUntil((c) => c.leader() !== null);
    const start = cluster.now;
    cluster.disconnect(cluster.ids.find((id) => id !== cluster.leader())!);
    cluster.runFor(120);
    const arrows = messageArrows(cluster, { from: start });
    assert.ok(arrows.some((a) => a.dropped === 'partition'));
    const svg = await messageDiagram(cluster, { from: start });
    assert.ok(svg.includes('dropped (partition)'));
  });

  it('electionCdf draws one line per range and the paper numbers for those ranges', async () => {
    assert.deepEqual(cdfPoints([30, 10, 20, 20]), [
      { downtime: 10, fraction: 0.25 },
      { downtime: 20, fraction: 0.75 },
      { downtime: 30, fraction: 1 },
    ]);
    const ranges = [
      { label: '150-155', samples: [300, 250, 900, 400] },
      { label: '12-24', samples: [30, 40, 35] },
    ];
    const spec = electionCdfSpec(ranges) as { layer: { data: { values: { range: string; text?: string }[] } }[] };
    assert.deepEqual([...new Set(spec.layer[0]!.data.values.map((v) => v.range))], ['150-155', '12-24']);
    assert.deepEqual(spec.layer[1]!.data.values.map((v) => v.text), [
      'paper 150-155: median 287 ms', 'paper 12-24: mean 35 ms', 'paper 12-24: max 152 ms',
    ]);
    const svg = await electionCdf(ranges);
    assert.match(svg, /^<svg/);
    for (const word of ['150-155', '12-24', 'paper 150-155: median 287 ms', 'time without leader']) assert.ok(svg.includes(word), word);
    assert.ok(!svg.includes('paper 150-200'), 'no paper number for a range that is not plotted');
    assert.equal(await electionCdf(ranges), svg, 'deterministic');
    assert.throws(() => electionCdfSpec([{ label: '1-2', samples: [] }]), /1-2 has no samples/);
  });

  it('saveSvg writes the file (folders created) and refuses what is not an SVG', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlab-viz-'));
    try {
      const file = path.join(dir, 'plots', 'timeline.svg');
      const svg = await termTimeline(story().cluster);
      assert.equal(saveSvg(svg, file), file);
      assert.equal(fs.readFileSync(file, 'utf8').trim(), svg.trim());
      assert.throws(() => saveSvg('hello', path.join(dir, 'x.svg')), /not an SVG/);
      assert.ok(!fs.existsSync(path.join(dir, 'x.svg')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
