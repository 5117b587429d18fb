import { Rng } from '../../sim/rng';
import type { NodeRef, PlannedFault, ScenarioPlan, Step } from './plan';

/**
 * MIT 6.5840's Raft tests (raft/test_test.go, parts 3A-3C) as timed scenarios, compressed to a few virtual
 * seconds each (our election timeouts are 150-300 ms; config.go's RaftElectionTimeout is 1 s). Each follows its
 * Go original: the same faults in the same order, the same client calls, the same checks.
 */
export interface Scenario {
  readonly name: string;
  readonly part: '3A' | '3B' | '3C';
  readonly points: number;
  /** What it checks, in a line (shown in the checklist). */
  readonly description: string;
  plan(seed: number): ScenarioPlan;
}

const L = (as: string, plus = 0): NodeRef => ({ ref: as, plus });

/** Seeded choices of a scenario's own (apart from the cluster's stream, seeded with the same seed). */
function planRng(seed: number, salt: number): Rng {
  return new Rng(((Math.trunc(seed) * 2654435761) ^ salt) >>> 0);
}

function initialElection(): ScenarioPlan {
  return {
    servers: 3,
    faults: [],
    steps: [
      { at: 0, kind: 'leader', within: 2500 },
      { at: 1500, kind: 'terms', as: 'term1' },
      // does the leader and term stay the same with no network failure?
      { at: 3500, kind: 'terms', same: 'term1' },
      { at: 3500, kind: 'leader', within: 0 },
    ],
    durationMs: 3600,
  };
}

function reElection(): ScenarioPlan {
  return {
    servers: 3,
    faults: [
      { at: 1000, kind: 'disconnect', node: L('L1') },
      { at: 2500, kind: 'connect', node: L('L1') },
      { at: 4000, kind: 'disconnect', node: L('L2') },
      { at: 4000, kind: 'disconnect', node: L('L2', 1) },
      { at: 5500, kind: 'connect', node: L('L2', 1) },
      { at: 7000, kind: 'connect', node: L('L2') },
    ],
    steps: [
      { at: 0, kind: 'leader', as: 'L1', within: 1000 },
      // if the leader disconnects, a new one should be elected.
      { at: 1000, kind: 'leader', within: 1500 },
      // the old leader rejoins: it must step down and not disturb the new one.
      { at: 2500, kind: 'leader', within: 1000, unique: true },
      { at: 3900, kind: 'leader', as: 'L2', within: 100 },
      // no quorum: no leader.
      { at: 5400, kind: 'no-leader' },
      // a quorum again: a leader.
      { at: 5500, kind: 'leader', within: 1500 },
      { at: 7000, kind: 'leader', within: 1500 },
    ],
    durationMs: 8500,
  };
}

function manyElections(seed: number): ScenarioPlan {
  const servers = 7;
  const rng = planRng(seed, 0x3a3a);
  const faults: PlannedFault[] = [];
  const steps: Step[] = [{ at: 0, kind: 'leader', within: 1000 }];
  let t = 1000;
  for (let i = 1; i < 8; i++) {
    const chosen = [rng.int(0, servers - 1), rng.int(0, servers - 1), rng.int(0, servers - 1)];
    for (const n of chosen) faults.push({ at: t, kind: 'disconnect', node: n });
    // either the current leader is still connected, or the remaining four elect a new one.
    steps.push({ at: t, kind: 'leader', within: 1000 });
    for (const n of chosen) faults.push({ at: t + 1000, kind: 'connect', node: n });
    t += 1100;
  }
  steps.push({ at: t, kind: 'leader', within: 1500 });
  return { servers, faults, steps, durationMs: t + 1500 };
}

function basicAgree(): ScenarioPlan {
  return {
    servers: 3,
    faults: [],
    steps: [
      { at: 0, kind: 'one', value: 100, index: 1 },
      { at: 1000, kind: 'one', value: 200, index: 2 },
      { at: 1500, kind: 'one', value: 300, index: 3 },
    ],
    durationMs: 2000,
  };
}

function failAgree(): ScenarioPlan {
  return {
    servers: 3,
    faults: [
      { at: 1000, kind: 'disconnect', node: L('L', 1) },
      { at: 3500, kind: 'connect', node: L('L', 1) },
    ],
    steps: [
      { at: 0, kind: 'one', value: 101 },
      { at: 999, kind: 'leader', as: 'L', within: 0 },
      // the leader and the remaining follower agree despite the disconnected follower.
      { at: 1100, kind: 'one', value: 102 },
      { at: 1600, kind: 'one', value: 103 },
      { at: 2500, kind: 'one', value: 104 },
      { at: 3000, kind: 'one', value: 105 },
      // reconnected: every server keeps the earlier agreements and agrees on new commands.
      { at: 3600, kind: 'one', value: 106, retry: true },
      { at: 5000, kind: 'one', value: 107, retry: true },
    ],
    durationMs: 5500,
  };
}

function failNoAgree(): ScenarioPlan {
  return {
    servers: 5,
    faults: [
      { at: 1000, kind: 'disconnect', node: L('L', 1) },
      { at: 1000, kind: 'disconnect', node: L('L', 2) },
      { at: 1000, kind: 'disconnect', node: L('L', 3) },
      { at: 3000, kind: 'connect', node: L('L', 1) },
      { at: 3000, kind: 'connect', node: L('L', 2) },
      { at: 3000, kind: 'connect', node: L('L', 3) },
    ],
    steps: [
      { at: 0, kind: 'one', value: 10 },
      { at: 999, kind: 'leader', as: 'L', within: 0 },
      { at: 1050, kind: 'start', node: L('L'), value: 20, leader: true, index: [2], as: 'v20' },
      // three of five followers gone: 20 must not commit.
      { at: 2950, kind: 'not-committed', of: 'v20' },
      { at: 3000, kind: 'leader', as: 'L2', within: 1500 },
      { at: 4600, kind: 'one', value: 1000, retry: true },
    ],
    durationMs: 5000,
  };
}

function rejoin(): ScenarioPlan {
  return {
    servers: 3,
    faults: [
      { at: 1000, kind: 'disconnect', node: L('L1') },
      { at: 2800, kind: 'disconnect', node: L('L2') },
      { at: 2800, kind: 'connect', node: L('L1') },
      { at: 4800, kind: 'connect', node: L('L2') },
    ],
    steps: [
      { at: 0, kind: 'one', value: 101, retry: true },
      { at: 999, kind: 'leader', as: 'L1', within: 0 },
      // the old leader takes entries it can never commit.
      { at: 1010, kind: 'start', node: L('L1'), value: 102 },
      { at: 1010, kind: 'start', node: L('L1'), value: 103 },
      { at: 1010, kind: 'start', node: L('L1'), value: 104 },
      // the new leader commits, also at index 2.
      { at: 1050, kind: 'one', value: 103, retry: true },
      { at: 2799, kind: 'leader', as: 'L2', within: 0 },
      { at: 2850, kind: 'one', value: 104, retry: true },
      { at: 4850, kind: 'one', value: 105, retry: true },
    ],
    durationMs: 6000,
  };
}

function backup(seed: number): ScenarioPlan {
  const rng = planRng(seed, 0xbac0);
  const v = (): number => rng.int(1, 1_000_000_000);
  const faults: PlannedFault[] = [
    { at: 1000, kind: 'disconnect', node: L('L1', 2) },
    { at: 1000, kind: 'disconnect', node: L('L1', 3) },
    { at: 1000, kind: 'disconnect', node: L('L1', 4) },
    // the leader and one follower hold 30 entries nobody else has.
    { at: 1500, kind: 'disconnect', node: L('L1') },
    { at: 1500, kind: 'disconnect', node: L('L1', 1) },
    { at: 1500, kind: 'connect', node: L('L1', 2) },
    { at: 1500, kind: 'connect', node: L('L1', 3) },
    { at: 1500, kind: 'connect', node: L('L1', 4) },
    // the new majority commits 30 entries; then its leader loses a follower and takes 30 more it cannot commit.
    { at: 4000, kind: 'disconnect', node: { first: [L('L1', 2), L('L1', 3)], except: ['L2'] } },
    { at: 4500, kind: 'disconnect', node: 0 },
    { at: 4500, kind: 'disconnect', node: 1 },
    { at: 4500, kind: 'disconnect', node: 2 },
    { at: 4500, kind: 'disconnect', node: 3 },
    { at: 4500, kind: 'disconnect', node: 4 },
    // the first leader, its follower and the cut-off server: they must back up over the conflicting entries.
    { at: 4500, kind: 'connect', node: L('L1') },
    { at: 4500, kind: 'connect', node: L('L1', 1) },
    { at: 4500, kind: 'connect', node: { first: [L('L1', 2), L('L1', 3)], except: ['L2'] } },
    { at: 7500, kind: 'connect', node: 0 },
    { at: 7500, kind: 'connect', node: 1 },
    { at: 7500, kind: 'connect', node: 2 },
    { at: 7500, kind: 'connect', node: 3 },
    { at: 7500, kind: 'connect', node: 4 },
  ];
  const steps: Step[] = [
    { at: 0, kind: 'one', value: v(), retry: true },
    { at: 999, kind: 'leader', as: 'L1', within: 0 },
    ...Array.from({ length: 30 }, (): Step => ({ at: 1010, kind: 'start', node: L('L1'), value: v() })),
    { at: 1600, kind: 'one', value: v(), retry: true, chain: 30 },
    { at: 3999, kind: 'leader', as: 'L2', within: 0 },
    ...Array.from({ length: 30 }, (): Step => ({ at: 4010, kind: 'start', node: L('L2'), value: v() })),
    { at: 4600, kind: 'one', value: v(), retry: true, chain: 30 },
    { at: 7600, kind: 'one', value: v(), retry: true },
  ];
  // 8 entries per AppendEntries: a follower far behind is caught up over several messages
  return { servers: 5, faults, steps, durationMs: 8000, maxEntriesPerAppend: 8 };
}

/**
 * The paper's Figure 8 as faults, then TestFigure83C. (a) A leads and gets entry 2 to one follower only;
 * (b) the other three elect B, which takes a different entry 2 and is cut off at once; (c) A, its follower and
 * one more (X) elect C among A and its follower: C holds entry 2 of term 2 on a majority, which must not count as
 * committed; (d) C is cut off and B comes back with D and X: only B can win, and it overwrites entry 2.
 * Then leaders are crashed right after taking commands, servers restarted whenever fewer than 3 are up.
 */
function figure8(seed: number): ScenarioPlan {
  const servers = 5;
  const rng = planRng(seed, 0xf188);
  const others = [L('A', 2), L('A', 3), L('A', 4)];
  const faults: PlannedFault[] = [
    { at: 1000, kind: 'disconnect', node: L('A', 2) },
    { at: 1000, kind: 'disconnect', node: L('A', 3) },
    { at: 1000, kind: 'disconnect', node: L('A', 4) },
    { at: 1100, kind: 'disconnect', node: L('A') },
    { at: 1100, kind: 'disconnect', node: L('A', 1) },
    { at: 1100, kind: 'connect', node: L('A', 2) },
    { at: 1100, kind: 'connect', node: L('A', 3) },
    { at: 1100, kind: 'connect', node: L('A', 4) },
    { at: 2800.5, kind: 'disconnect', node: L('B') },
    { at: 2802, kind: 'disconnect', node: L('Y') },
    { at: 2802, kind: 'connect', node: L('A') },
    { at: 2802, kind: 'connect', node: L('A', 1) },
    { at: 4500, kind: 'disconnect', node: L('C') },
    { at: 4500, kind: 'connect', node: L('B') },
  ];
  const steps: Step[] = [
    { at: 0, kind: 'one', value: 1 },
    { at: 999, kind: 'leader', as: 'A', within: 0 },
    { at: 1010, kind: 'start', node: L('A'), value: 2 },
    { at: 1150, kind: 'leader', as: 'B', within: 1500 },
    { at: 2800, kind: 'start', node: L('B'), value: 3 },
    { at: 2801, kind: 'name', as: 'X', node: { first: others, except: ['B'] } },
    { at: 2801, kind: 'name', as: 'Y', node: { first: others, except: ['B', 'X'] } },
    { at: 2900, kind: 'leader', as: 'C', within: 1500 },
    { at: 5500, kind: 'recover' },
    { at: 5510, kind: 'one', value: 4, retry: true },
  ];
  let t = 6500;
  for (let i = 0; i < 120; i++) {
    steps.push({ at: t, kind: 'start', node: 'all', value: rng.int(1, 1e9) });
    t += rng.int(0, 999) < 100 ? rng.int(0, 499) : rng.int(0, 12);
    faults.push({ at: t, kind: 'crash', node: { leader: 0 } });
    faults.push({ at: t, kind: 'restart', node: rng.int(0, servers - 1), ifUpBelow: 3 });
    t += 1;
  }
  steps.push({ at: t, kind: 'recover' }, { at: t + 10, kind: 'one', value: rng.int(1, 1e9), retry: true });
  return { servers, faults, steps, durationMs: t + 100 };
}

function unreliableAgree(): ScenarioPlan {
  const steps: Step[] = [];
  for (let iters = 1; iters < 20; iters++) {
    for (let j = 0; j < 4; j++) steps.push({ at: 100 * iters, kind: 'one', value: 100 * iters + j, servers: 1, retry: true });
    steps.push({ at: 100 * iters, kind: 'one', value: iters, servers: 1, retry: true });
  }
  steps.push({ at: 2500, kind: 'one', value: 100, retry: true });
  return { servers: 5, faults: [{ at: 0, kind: 'network', preset: 'unreliable', forMs: 2500 }], steps, durationMs: 3000 };
}

/** TestFigure8Unreliable3C: an unreliable network, later with long reordering; leaders cut off now and then. */
function figure8Unreliable(seed: number): ScenarioPlan {
  const servers = 5;
  const rng = planRng(seed, 0xf18e);
  const faults: PlannedFault[] = [{ at: 0, kind: 'network', preset: 'unreliable' }];
  const steps: Step[] = [{ at: 0, kind: 'one', value: rng.int(1, 9999), servers: 1, retry: true }];
  let t = 800;
  for (let i = 0; i < 200; i++) {
    if (i === 60) faults.push({ at: t, kind: 'network', preset: 'long-reordering' });
    steps.push({ at: t, kind: 'start', node: 'all', value: rng.int(1, 9999) });
    t += rng.int(0, 999) < 100 ? rng.int(0, 499) : rng.int(0, 12);
    if (rng.int(0, 999) < 500) faults.push({ at: t, kind: 'disconnect', node: { leader: 0 } });
    faults.push({ at: t, kind: 'connect', node: rng.int(0, servers - 1) });
    t += 1;
  }
  steps.push({ at: t, kind: 'recover' }, { at: t + 10, kind: 'one', value: rng.int(10_000, 20_000), retry: true });
  return { servers, faults, steps, durationMs: t + 100 };
}

function persist1(): ScenarioPlan {
  return {
    servers: 3,
    faults: [
      // crash and restart every server.
      { at: 500, kind: 'crash', node: 0 },
      { at: 500, kind: 'crash', node: 1 },
      { at: 500, kind: 'crash', node: 2 },
      { at: 510, kind: 'restart', node: 0 },
      { at: 510, kind: 'restart', node: 1 },
      { at: 510, kind: 'restart', node: 2 },
      { at: 1500, kind: 'crash', node: L('L1') },
      { at: 1510, kind: 'restart', node: L('L1') },
      { at: 2500, kind: 'crash', node: L('L2') },
      { at: 3200, kind: 'restart', node: L('L2') },
      { at: 4500, kind: 'crash', node: L('L3', 1) },
      { at: 5200, kind: 'restart', node: L('L3', 1) },
    ],
    steps: [
      { at: 0, kind: 'one', value: 11, retry: true },
      { at: 600, kind: 'one', value: 12, retry: true },
      { at: 1499, kind: 'leader', as: 'L1', within: 0 },
      { at: 1600, kind: 'one', value: 13, retry: true },
      { at: 2499, kind: 'leader', as: 'L2', within: 0 },
      { at: 2600, kind: 'one', value: 14, retry: true },
      // wait for the restarted leader to catch up before crashing another.
      { at: 3250, kind: 'applied', index: 4, within: 1000 },
      { at: 4499, kind: 'leader', as: 'L3', within: 0 },
      { at: 4600, kind: 'one', value: 15, retry: true },
      { at: 5300, kind: 'one', value: 16, retry: true },
    ],
    durationMs: 6000,
  };
}

function persist2(seed: number): ScenarioPlan {
  void seed;
  const faults: PlannedFault[] = [];
  const steps: Step[] = [];
  let index = 1;
  let t = 0;
  for (let iter = 0; iter < 3; iter++) {
    const as = `L${iter}`;
    steps.push({ at: t, kind: 'one', value: 10 + index++, retry: true });
    steps.push({ at: t + 499, kind: 'leader', as, within: 0 });
    faults.push({ at: t + 500, kind: 'disconnect', node: L(as, 1) }, { at: t + 500, kind: 'disconnect', node: L(as, 2) });
    steps.push({ at: t + 510, kind: 'one', value: 10 + index++, retry: true });
    faults.push(
      { at: t + 1000, kind: 'disconnect', node: L(as, 0) },
      { at: t + 1000, kind: 'disconnect', node: L(as, 3) },
      { at: t + 1000, kind: 'disconnect', node: L(as, 4) },
      { at: t + 1000, kind: 'crash', node: L(as, 1) },
      { at: t + 1000, kind: 'crash', node: L(as, 2) },
      { at: t + 1010, kind: 'restart', node: L(as, 1) },
      { at: t + 1010, kind: 'restart', node: L(as, 2) },
      { at: t + 1010, kind: 'connect', node: L(as, 1) },
      { at: t + 1010, kind: 'connect', node: L(as, 2) },
      { at: t + 2000, kind: 'crash', node: L(as, 3) },
      { at: t + 2010, kind: 'restart', node: L(as, 3) },
      { at: t + 2010, kind: 'connect', node: L(as, 3) },
    );
    steps.push({ at: t + 2020, kind: 'one', value: 10 + index++, retry: true });
    faults.push({ at: t + 3000, kind: 'connect', node: L(as, 4) }, { at: t + 3000, kind: 'connect', node: L(as, 0) });
    t += 3010;
  }
  steps.push({ at: t, kind: 'one', value: 1000, retry: true });
  return { servers: 5, faults, steps, durationMs: t + 500 };
}

function persist3(): ScenarioPlan {
  return {
    servers: 3,
    faults: [
      { at: 500, kind: 'disconnect', node: L('L', 2) },
      { at: 1000, kind: 'crash', node: L('L', 0) },
      { at: 1000, kind: 'crash', node: L('L', 1) },
      { at: 1000, kind: 'connect', node: L('L', 2) },
      { at: 1010, kind: 'restart', node: L('L', 0) },
      { at: 2000, kind: 'restart', node: L('L', 1) },
    ],
    steps: [
      { at: 0, kind: 'one', value: 101, retry: true },
      { at: 499, kind: 'leader', as: 'L', within: 0 },
      { at: 510, kind: 'one', value: 102, retry: true },
      { at: 1020, kind: 'one', value: 103, retry: true },
      { at: 2010, kind: 'one', value: 104, retry: true },
    ],
    durationMs: 3000,
  };
}

/** 6.5840's churn tests, crash/restart only: servers crash and come back at random while clients write. */
function churn(seed: number): ScenarioPlan {
  const servers = 5;
  const rng = planRng(seed, 0xc4c4);
  const faults: PlannedFault[] = [];
  const steps: Step[] = [];
  let value = 1;
  for (let t = 0; t < 4000; t += 100) {
    steps.push({ at: t, kind: 'one', value: value++, servers: 1, retry: true });
    const roll = rng.int(0, 99);
    if (roll < 10) {
      // every server crashes a few ms after the write: what was acknowledged must already be on stable storage
      const at = t + rng.int(3, 15);
      for (let i = 0; i < servers; i++) faults.push({ at, kind: 'crash', node: i });
      for (let i = 0; i < servers; i++) faults.push({ at: t + 80, kind: 'restart', node: i });
    } else if (roll < 20) faults.push({ at: t + 50, kind: 'crash', node: rng.int(0, servers - 1) });
    else if (roll < 30) faults.push({ at: t + 50, kind: 'crash', node: { leader: 0 } });
    else if (roll < 60) faults.push({ at: t + 50, kind: 'restart', node: rng.int(0, servers - 1) });
  }
  steps.push({ at: 4000, kind: 'recover' }, { at: 4010, kind: 'one', value: 10_000, retry: true });
  return { servers, faults, steps, durationMs: 4500 };
}

export const scenarios: readonly Scenario[] = Object.freeze([
  { name: 'InitialElection', part: '3A', points: 5, description: 'a leader is elected, and stays with no failures', plan: initialElection },
  { name: 'ReElection', part: '3A', points: 5, description: 'a new leader after a disconnection; none without a majority', plan: reElection },
  { name: 'ManyElections', part: '3A', points: 5, description: '7 servers, 3 disconnected at random, 7 times', plan: manyElections },
  { name: 'BasicAgree', part: '3B', points: 4, description: 'three commands agreed at indexes 1, 2, 3', plan: basicAgree },
  { name: 'FailAgree', part: '3B', points: 4, description: 'agreement despite a disconnected follower, which then catches up', plan: failAgree },
  { name: 'FailNoAgree', part: '3B', points: 4, description: 'no agreement when 3 of 5 followers are gone', plan: failNoAgree },
  { name: 'Rejoin', part: '3B', points: 4, description: 'a partitioned leader rejoins and its uncommitted entries go', plan: rejoin },
  { name: 'Backup', part: '3B', points: 5, description: 'leaders back up quickly over incorrect follower logs', plan: backup },
  { name: 'Figure8', part: '3B', points: 5, description: "leaders crash right after taking commands (the paper's Figure 8)", plan: figure8 },
  { name: 'UnreliableAgree', part: '3B', points: 4, description: 'agreement over a lossy, duplicating, reordering network', plan: unreliableAgree },
  { name: 'Figure8Unreliable', part: '3B', points: 5, description: 'Figure 8 over an unreliable network with long reordering', plan: figure8Unreliable },
  { name: 'Persist1', part: '3C', points: 4, description: 'state survives crashing every server, and the leader', plan: persist1 },
  { name: 'Persist2', part: '3C', points: 4, description: 'more crashes and partitions with persistence', plan: persist2 },
  { name: 'Persist3', part: '3C', points: 4, description: 'a crashed majority comes back from what it persisted', plan: persist3 },
  { name: 'Churn', part: '3C', points: 5, description: 'servers crash and restart at random while clients write', plan: churn },
]);

export type ScenarioName = (typeof scenarios)[number]['name'];

export const scenarioNames: readonly string[] = Object.freeze(scenarios.map((s) => s.name));

export function scenarioByName(name: string): Scenario {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new RangeError(`no scenario ${JSON.stringify(name)} (known: ${scenarioNames.join(', ')})`);
  return s;
}
