import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { RaftNode } from '../lib/raft/node';
import { Cluster } from '../lib/sim/cluster';
import { fuzzSeeds, runOptionsFor, runSeed, seedsToCatch } from '../lib/fuzz/campaign';
import { runSchedule } from '../lib/fuzz/run';
import { generateSchedule, type Schedule } from '../lib/fuzz/schedule';
import { sameFailure, shrinkSchedule } from '../lib/fuzz/shrink';
import { zooVariant, zooVariants } from '../lib/fuzz/zoo';

/** Each variant's first failing seed from seed 1, computed once for the tests below. */
const catches = new Map<string, ReturnType<typeof seedsToCatch>>();
function caught(name: string): NonNullable<ReturnType<typeof seedsToCatch>> {
  if (!catches.has(name)) catches.set(name, seedsToCatch(zooVariant(name), { from: 1, budget: 1000 }));
  const c = catches.get(name);
  assert.ok(c, `${name} was not caught in 1,000 seeds`);
  return c;
}

describe('fuzz: randomized fault simulation', () => {
  describe('fault schedules', () => {
    it('are plain data, the same for the same seed, sorted, and name only existing nodes', () => {
      for (let seed = 1; seed <= 50; seed++) {
        const s = generateSchedule(seed);
        assert.deepEqual(generateSchedule(seed), s);
        assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
        assert.ok(s.nodes >= 3 && s.nodes <= 5);
        assert.ok(s.faults.length > 0);
        for (let i = 1; i < s.faults.length; i++) assert.ok(s.faults[i - 1]!.at <= s.faults[i]!.at);
        for (const f of s.faults) {
          assert.ok(f.at >= 0 && f.at < s.durationMs);
          const named =
            f.kind === 'crash' || f.kind === 'restart' ? [f.node]
            : f.kind === 'clog' || f.kind === 'unclog' ? [f.node, f.peer]
            : f.kind === 'cut' ? [f.from, f.to]
            : f.kind === 'partition' ? f.groups.flat()
            : f.kind === 'transfer-leader' ? [f.to]
            : [];
          const spares = f.kind === 'remove-server' ? 2 : 0; // the two servers that may join
          if (f.kind === 'remove-server') assert.ok(Number.isInteger(f.node) && f.node >= 0 && f.node < s.nodes + spares);
          for (const n of named) assert.ok(Number.isInteger(n) && n >= 0 && n < s.nodes, `${JSON.stringify(f)} in a ${s.nodes}-node cluster`);
        }
      }
      const kinds = new Set(Array.from({ length: 50 }, (_, i) => generateSchedule(i + 1).faults.map((f) => f.kind)).flat());
      assert.deepEqual(
        [...kinds].sort(),
        ['add-server', 'clog', 'crash', 'crash-leader', 'cut', 'heal', 'isolate-leader', 'network', 'partition', 'remove-server', 'restart', 'transfer-leader', 'unclog'],
      );
      const readers = Array.from({ length: 50 }, (_, i) => generateSchedule(i + 1).readEveryMs);
      assert.ok(readers.some((r) => r === 0) && readers.some((r) => r > 0), 'some seeds read through ReadIndex, some do not');
      const clients = new Set(Array.from({ length: 50 }, (_, i) => generateSchedule(i + 1).client));
      assert.deepEqual([...clients].sort(), ['newest', 'sticky']);
    });

    it('respect the node range and reject a bad one', () => {
      assert.equal(generateSchedule(7, { minNodes: 7, maxNodes: 7 }).nodes, 7);
      assert.throws(() => generateSchedule(1, { minNodes: 5, maxNodes: 3 }), /1 <= min <= max/);
    });
  });

  describe('Figure 2 rules', () => {
    it('300 seeds of 3-5 nodes under faults: no safety violation, and liveness after the heal', () => {
      const summary = fuzzSeeds(1, 300);
      assert.deepEqual(summary.failed, []);
      // Not vacuous: clients really wrote, and most writes were acknowledged.
      assert.ok(summary.proposed > 50_000, `only ${summary.proposed} writes accepted`);
      assert.ok(summary.acknowledged > summary.proposed * 0.8, `${summary.acknowledged} of ${summary.proposed} acknowledged`);
    });

    it('7-node clusters too', () => {
      assert.deepEqual(fuzzSeeds(1, 20, { minNodes: 7, maxNodes: 7 }).failed, []);
    });

    it('a seed replays to the identical trace', () => {
      const a = runSeed(42, { trace: 'all' });
      const b = runSeed(42, { trace: 'all' });
      assert.equal(a.failure, null);
      assert.ok(a.cluster.trace.events.length > 1000);
      assert.deepEqual(b.cluster.trace.toJSON(), a.cluster.trace.toJSON());
      // The fast path (trace off) runs the same events.
      assert.equal(runSeed(42).cluster.trace.count, a.cluster.trace.count);
    });
  });

  describe('the bug zoo', () => {
    // Measured from seed 1 (3-5 nodes, 10 virtual s): commit-earlier-term 30, keep-vote-on-new-term 1, vote-twice 1,
    // answer-before-persisting 2, no-up-to-date-check 1, keep-conflicting-suffix 1. The Figure 8 anomaly is the
    // rare one: 17 of seeds 1-2000 catch it (it needs a leader to die between committing an old entry by counting
    // and replicating one of its own term, and a stale leader with a higher-term entry to come back).
    for (const variant of zooVariants) {
      it(`catches ${variant.name} within 1,000 seeds`, () => {
        const first = caught(variant.name);
        assert.ok(first.seeds <= 1000);
        // Catching again from the reported seed gives the same failure (a failure is its seed).
        const again = seedsToCatch(variant, { from: first.seed, budget: 1 });
        assert.deepEqual(again?.failure, first.failure);
      });
    }

    it('has the six variants of the issue, and a clear error for an unknown one', () => {
      assert.equal(zooVariants.length, 6);
      assert.throws(() => zooVariant('nope'), /no bug-zoo variant "nope" \(known: commit-earlier-term, /);
    });

    it('catches the earlier-term commit as the Figure 8 anomaly, the double vote as two leaders in a term', () => {
      const fig8 = caught('commit-earlier-term').failure;
      assert.ok(fig8.kind === 'safety' && /Leader Completeness|State Machine Safety/.test(fig8.property));
      const twice = caught('vote-twice').failure;
      assert.ok(twice.kind === 'safety' && twice.property === 'Election Safety');
      const suffix = caught('keep-conflicting-suffix').failure;
      assert.ok(suffix.kind === 'safety' && suffix.property === 'Log Matching');
    });
  });

  describe('shrinking', () => {
    it('shrinks a failing schedule to fewer faults that still fail the same way, and no single fault can go', () => {
      const variant = zooVariant('keep-conflicting-suffix');
      const first = caught(variant.name);
      const schedule = generateSchedule(first.seed);
      const options = runOptionsFor({ variant });
      const run = (s: Schedule) => runSchedule(s, options).failure;
      const shrunk = shrinkSchedule(schedule, first.failure, run);
      assert.ok(shrunk.schedule.faults.length < schedule.faults.length, `${shrunk.schedule.faults.length} of ${schedule.faults.length}`);
      const again = run(shrunk.schedule);
      assert.ok(again !== null && sameFailure(again, first.failure));
      assert.equal(shrunk.minimal, true);
      for (let i = 0; i < shrunk.schedule.faults.length; i++) {
        const fewer = { ...shrunk.schedule, faults: shrunk.schedule.faults.filter((_, j) => j !== i) };
        const f = run(fewer);
        assert.ok(f === null || !sameFailure(f, first.failure), `fault ${i} could still be removed`);
      }
    });

    it('keeps every fault when the failure needs them all', () => {
      const schedule = generateSchedule(3);
      const failure = { kind: 'liveness' as const, detail: 'needs every fault', time: 0 };
      const needsAll = (s: Schedule) => (s.faults.length === schedule.faults.length ? failure : null);
      const shrunk = shrinkSchedule(schedule, failure, needsAll);
      assert.equal(shrunk.minimal, true);
      assert.equal(shrunk.schedule.faults.length, schedule.faults.length);
    });
  });

  describe('bug-zoo handler replacements', () => {
    const entry = (term: number) => ({ term, command: { t: term } });

    it('keep-conflicting-suffix keeps the entries after an overwritten conflict', () => {
      const persisted = { currentTerm: 1, votedFor: null, log: [entry(1), entry(1), entry(1)] };
      const message = { type: 'AppendEntries' as const, term: 2, leaderId: 'b', prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2)], leaderCommit: 0 };
      const good = new RaftNode({ id: 'a', peers: ['b', 'c'], random: () => 0.5 }, persisted);
      good.step('b', message, 1);
      assert.deepEqual(good.log.map((e) => e.term), [1, 2]);
      const bad = new RaftNode({ id: 'a', peers: ['b', 'c'], random: () => 0.5, handlers: zooVariant('keep-conflicting-suffix').handlers! }, persisted);
      bad.step('b', message, 1);
      assert.deepEqual(bad.log.map((e) => e.term), [1, 2, 1]);
    });

    it('keep-vote-on-new-term keeps the old vote when a higher term arrives', () => {
      const request = { type: 'RequestVote' as const, term: 2, candidateId: 'c', lastLogIndex: 0, lastLogTerm: 0 };
      const persisted = { currentTerm: 1, votedFor: 'b', log: [] };
      const good = new RaftNode({ id: 'a', peers: ['b', 'c'], random: () => 0.5 }, persisted);
      good.step('c', request, 1);
      assert.equal(good.votedFor, 'c');
      const bad = new RaftNode({ id: 'a', peers: ['b', 'c'], random: () => 0.5, handlers: zooVariant('keep-vote-on-new-term').handlers! }, persisted);
      const reply = bad.step('c', request, 1).messages[0]!.message;
      assert.equal(bad.currentTerm, 2);
      assert.equal(bad.votedFor, 'b');
      assert.ok(reply.type === 'RequestVoteReply' && !reply.voteGranted);
    });

    it('answerBeforePersistingMs: a crash right after starting an election loses the new term', () => {
      const termAfterCrash = (bugs?: { answerBeforePersistingMs: number }) => {
        const c = new Cluster({ nodes: 3, seed: 5, trace: 'off', ...(bugs ? { bugs } : {}) });
        c.campaign('127.0.0.1:8000');
        assert.equal(c.status('127.0.0.1:8000').term, 1);
        c.runFor(1); // the RequestVotes are already on their way
        c.crash('127.0.0.1:8000');
        c.restart('127.0.0.1:8000');
        return c.status('127.0.0.1:8000').term;
      };
      assert.equal(termAfterCrash(), 1);
      assert.equal(termAfterCrash({ answerBeforePersistingMs: 20 }), 0);
    });
  });

  describe('npm run fuzz', () => {
    it('prints the JSON summary as its last line', function () {
      this.timeout(120_000);
      const out = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/fuzz.ts', '--seeds', '60', '--from', '1000', '--json', '--workers', '1'], {
        encoding: 'utf8',
      });
      assert.equal(out.status, 0, out.stderr);
      const last = out.stdout.trim().split('\n').pop()!;
      const summary = JSON.parse(last) as Record<string, unknown>;
      assert.deepEqual(Object.keys(summary), ['seeds', 'violations', 'seeds_per_s', 'zoo']);
      assert.equal(summary.seeds, 60);
      assert.equal(summary.violations, 0);
      assert.ok(typeof summary.seeds_per_s === 'number' && summary.seeds_per_s > 0);
      assert.deepEqual(summary.zoo, {});
    });

    it('reports a failing seed with its replay command and a shrunk schedule', function () {
      this.timeout(120_000);
      const out = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/fuzz.ts', '--seeds', '10', '--from', '1', '--variant', 'vote-twice', '--json', '--workers', '1', '--report', '1'],
        { encoding: 'utf8' },
      );
      assert.equal(out.status, 1);
      const failed = /seed (\d+) FAILED \(bug-zoo variant vote-twice\)/.exec(out.stderr);
      assert.ok(failed, out.stderr.slice(-2000));
      assert.match(out.stderr, /Election Safety violated/);
      assert.match(out.stderr, new RegExp(`replay: npm run fuzz -- --replay ${failed[1]} --nodes 3-5 --variant vote-twice`));
      assert.match(out.stderr, /shrunk from \d+ to \d+ faults/);
      const summary = JSON.parse(out.stdout.trim().split('\n').pop()!) as { violations: number };
      assert.ok(summary.violations >= 1);
      assert.equal((out.stderr.match(/ FAILED \(/g) ?? []).length, 1, '--report 1 details one failing seed');
    });

    it('rejects a bad option with a clear error', () => {
      const out = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/fuzz.ts', '--nodes', '5-3'], { encoding: 'utf8' });
      assert.notEqual(out.status, 0);
      assert.match(out.stderr, /--nodes.*expected N or MIN-MAX/);
    });
  });
});
