/**
 * Golden determinism: seeded runs of the simulator (faults, zoo variants, Figure 16 trials, a busy cluster at
 * every trace level) must give bit for bit the same trace as they did before any optimization. Each case hashes
 * everything a run shows (every trace event with its whole message, the nodes' final state, counters) and
 * compares it with a SHA-256 computed once on the unoptimized simulator. A change to these constants is a change
 * of behaviour: only make one on purpose.
 */
import assert from 'node:assert/strict';
import { createHash, type Hash } from 'node:crypto';
import { runSeed } from '../lib/fuzz/campaign';
import { zooVariants } from '../lib/fuzz/zoo';
import { paperRanges, runTrial, slowReplies } from '../lib/course/figure16';
import { Cluster } from '../lib/sim/cluster';
import type { TraceLevel } from '../lib/sim/trace';

/** Numbers in full precision (JSON.stringify's shortest round-trip form), -0 and non-finite values kept apart. */
function write(hash: Hash, value: unknown): void {
  hash.update(
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return `#${String(v)}`;
      if (typeof v === 'number' && Object.is(v, -0)) return '#-0';
      if (v instanceof Set) return { set: [...(v as Set<unknown>)] };
      return v;
    }) ?? 'undefined',
  );
  hash.update('\n');
}

function hashCluster(hash: Hash, cluster: Cluster): void {
  for (const e of cluster.trace.events) write(hash, e);
  write(hash, { count: cluster.trace.count, deliveries: cluster.deliveries, now: cluster.now, next: cluster.nextEventTime() });
  // snapshotIndex joined NodeStatus after the recording; the log and lastIndex still show every snapshot.
  for (const s of cluster.statuses()) write(hash, { ...s, snapshotIndex: undefined });
  for (const m of cluster.inFlight()) write(hash, m);
}

function digest(fill: (hash: Hash) => void): string {
  const hash = createHash('sha256');
  fill(hash);
  return hash.digest('hex');
}

function fuzzDigest(seeds: readonly number[], trace: TraceLevel, variant?: (typeof zooVariants)[number]): string {
  return digest((hash) => {
    for (const seed of seeds) {
      const r = runSeed(seed, { trace, ...(variant ? { variant } : {}) });
      write(hash, { seed, failure: r.failure, proposed: r.proposed, acknowledged: r.acknowledged, endTime: r.endTime });
      hashCluster(hash, r.cluster);
    }
  });
}

function busyDigest(trace: TraceLevel, observe: boolean): string {
  return digest((hash) => {
    const cluster = new Cluster({ nodes: 5, seed: 7, trace, timings: { heartbeatInterval: 50 } });
    if (observe) cluster.trace.observe((e) => write(hash, e));
    let n = 0;
    const tick = (): void => {
      cluster.propose({ n: n++ });
      cluster.after(1, tick);
    };
    cluster.after(1, tick);
    cluster.runFor(1_500);
    cluster.crash(cluster.leader()!);
    cluster.runFor(1_000);
    hashCluster(hash, cluster);
  });
}

/** The explorer's and the notebooks' hand-driven faults: in-flight drops and delays, links, campaigns, restarts. */
function scriptedDigest(): string {
  return digest((hash) => {
    const cluster = new Cluster({
      nodes: 5, seed: 42, trace: 'all', preVote: true, checkQuorum: true, leaderNoop: true, maxEntriesPerAppend: 3,
      network: { loss: 0.05, duplicate: 0.05, reorder: 0.2, reorderWindow: 30, latencyByType: slowReplies },
    });
    const ids = cluster.ids;
    cluster.runUntil((c) => c.leader() !== null);
    for (let i = 0; i < 40; i++) {
      cluster.propose({ i });
      cluster.runFor(7);
      const flying = cluster.inFlight();
      if (flying.length > 2) {
        cluster.dropInFlight(flying[0]!.id);
        cluster.delayInFlight(flying[flying.length - 1]!.id, 25);
      }
    }
    cluster.partition([ids[0]!, ids[1]!], [ids[2]!, ids[3]!, ids[4]!]);
    cluster.runFor(800);
    cluster.cutLink(ids[2]!, ids[3]!);
    cluster.disconnect(ids[4]!);
    cluster.runFor(500);
    cluster.heal();
    cluster.crash(ids[1]!);
    cluster.campaign(ids[3]!);
    cluster.runFor(300);
    cluster.restart(ids[1]!);
    cluster.connect(ids[4]!);
    cluster.restoreLink(ids[2]!, ids[3]!);
    cluster.setNetwork({ loss: 0, duplicate: 0, reorder: 0 });
    for (let i = 0; i < 20; i++) cluster.propose({ late: i }, ids[i % 5]);
    cluster.runFor(2_000);
    hashCluster(hash, cluster);
    write(hash, cluster.timeline());
    write(hash, cluster.trace.toCSV());
  });
}

function figure16Digest(): string {
  return digest((hash) => {
    for (const range of paperRanges) {
      if (range.min === range.max) continue; // 150-150 runs to the cap: slow, and covered by the others
      for (let seed = 1; seed <= 4; seed++) write(hash, runTrial(range, seed));
    }
    for (let seed = 1; seed <= 4; seed++) write(hash, runTrial({ min: 150, max: 155 }, seed, { latencyByType: slowReplies, trace: 'state' }));
  });
}

/**
 * The constants, computed on the simulator before it was optimized (commit f9dd5f8); those of the fuzz seeds and
 * the zoo again on 09d922a, still unoptimized, once the schedules read, hand leadership over and snapshot, and
 * once more when the schedules gained membership changes and lease reads (on the optimized code, every other
 * hash unchanged); the zoo's once more when a crashed node's status counted its log from its snapshot (lastIndex
 * had left the snapshot out); fuzzAll's once more when a follower stopped echoing a read round to a deposed leader
 * (one of its seeds had such a reply).
 */
const golden = {
  fuzzAll: '93cd1aef24b22c562bfca1cdef3cc0d2767d842e85adc64d83fa7574dc4b6501',
  fuzzOff: 'f89eec0d07ffe5536d5f9c96c839395f14bcec14946314be6f7fd25a2465f67b',
  zoo: '9fb37478c0f53e9a16c118d15ca60ae344da0304b7a65ede02535739be5bd82b',
  busyState: '2477511d3c5c6b1ca409ff1e4c5fac7925e5c0ed0ff02a6d599f4a48e6ff570c',
  busyAll: '68949a3644ca48e1670377950c6d23e4895ca423b622cfec874eca716fe03db8',
  busyOff: 'd3c8b730ecd0aea05fac53d033bb479a2ac840b86384952b2379efa829ef4761',
  busyObserved: '68949a3644ca48e1670377950c6d23e4895ca423b622cfec874eca716fe03db8',
  scripted: '54833042fdfb4e5604d03a4ba0488ee67b6530b84163080a9aef213d718b67c1',
  figure16: 'bc7ac8e047ca11b82643197e9818214b4cd3c06ab04ad9eb5e7c04ab0346c4d4',
};

const fuzzSeedList = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

const cases: [keyof typeof golden, () => string][] = [
  ['fuzzAll', () => fuzzDigest(fuzzSeedList, 'all')],
  ['fuzzOff', () => fuzzDigest(Array.from({ length: 40 }, (_, i) => i + 1), 'off')],
  [
    'zoo',
    () =>
      digest((hash) => {
        for (const variant of zooVariants) write(hash, { variant: variant.name, run: fuzzDigest([1, 2, 3, 4, 5, 6], 'state', variant) });
      }),
  ],
  ['busyState', () => busyDigest('state', false)],
  ['busyAll', () => busyDigest('all', false)],
  ['busyOff', () => busyDigest('off', false)],
  ['busyObserved', () => busyDigest('off', true)],
  ['scripted', scriptedDigest],
  ['figure16', figure16Digest],
];

describe('simulator golden determinism (the same seed gives the same trace, bit for bit)', () => {
  it('events read during a run, across the trace store\'s chunks, are those read once at the end', () => {
    const make = (): Cluster => {
      const cluster = new Cluster({ nodes: 5, seed: 3, trace: 'all' });
      let n = 0;
      const tick = (): void => {
        cluster.propose({ n: n++ });
        cluster.after(1, tick);
      };
      cluster.after(1, tick);
      return cluster;
    };
    const once = make().runFor(2_000).trace.events;
    const during = make();
    const seen: unknown[] = [];
    for (let t = 0; t < 2_000; t += 37) {
      during.runUntilTime(t);
      seen.push(during.trace.events.length);
    }
    during.runUntilTime(2_000);
    assert.ok(once.length > 3 * 8192, `${once.length} events: more than a few chunks`);
    assert.deepEqual(during.trace.events, once);
    assert.ok(seen.length > 20);
  });

  for (const [name, run] of cases) {
    it(name, () => {
      const value = run();
      if (process.env.GOLDEN_PRINT) process.stdout.write(`GOLDEN ${name}: '${value}',\n`);
      assert.equal(value, golden[name], `${name}: the run differs from the recorded one`);
    });
  }
});
