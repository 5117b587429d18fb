import { studentNodeFactory } from './student-node';
import type { Handlers } from '../raft/context';
/**
 * Helpers of notebook 02 (log replication): the Figure 8 script on S1-S5, the scenarios the autograder runs on
 * the student's checkConsistency and advanceCommitIndex, and reading back the Task 3 files.
 * Every check throws an Error whose message says what went wrong and what to fix; it returns a short summary
 * when it passes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseLogText } from '../net/raftos-files';
import type { RaftRules } from '../raft/rules';
import { figure2Rules } from '../raft/rules';
import type { LogEntry, NodeId } from '../raft/types';
import { Cluster, InvariantViolation, labNodeIds, type ClusterBugs } from '../sim/cluster';
import { Rng } from '../sim/rng';

// ---- Small views ----

/** A read-only log view over terms, as checkConsistency and advanceCommitIndex receive it: logOf([1, 1, 2]). */
export function logOf(terms: readonly number[]): { readonly lastIndex: number; termAt(index: number): number | undefined } {
  return {
    lastIndex: terms.length,
    termAt: (index: number) => (index === 0 ? 0 : index >= 1 && index <= terms.length ? terms[index - 1] : undefined),
  };
}

/** The terms of a node's log, index 1 first. */
export function logTerms(cluster: Cluster, id: NodeId): number[] {
  return cluster.status(id).log.map((e) => e.term);
}

/** One line per node: its log as terms, its commit index and role. */
export function showLogs(cluster: Cluster): string {
  return cluster.ids
    .map((id) => {
      const s = cluster.status(id);
      const cells = s.log.map((e, i) => (i < s.commitIndex ? `${e.term}*` : `${e.term} `)).join(' ');
      return `${id.padEnd(4)} ${s.role.padEnd(9)} term ${String(s.term).padStart(2)} commit ${s.commitIndex}  | ${cells}`;
    })
    .join('\n');
}

// ---- Figure 8 on S1-S5 ----

export const figure8Ids = ['S1', 'S2', 'S3', 'S4', 'S5'] as const;

/**
 * Five servers with long election timers (only campaign() starts elections) and a fixed 1 ms latency, so every
 * step of the script is exact.
 */
export function figure8Cluster(rules?: Partial<RaftRules>, handlers?: Partial<Handlers>): Cluster {
  return new Cluster({
    nodes: [...figure8Ids],
    seed: 8,
    network: { latency: { kind: 'fixed', ms: 1 } },
    timings: { electionTimeout: { min: 60_000, max: 60_000 }, heartbeatInterval: 20 },
    trace: 'state',
    // A student's rules and handlers run isolated (the library's own variants in process): studentNodeFactory.
    ...(rules || handlers ? { createNode: studentNodeFactory({ ...(rules ? { rules } : {}), ...(handlers ? { handlers } : {}) }) } : {}),
  });
}

/** Campaign until `id` leads `term` (a campaign in a term whose votes are already cast fails; try again). */
export function elect(c: Cluster, id: NodeId, term: number): void {
  for (let tries = 0; c.status(id).term < term; tries++) {
    if (tries > 20) throw new Error(`${id} could not reach term ${term}`);
    c.campaign(id);
    c.runFor(10);
  }
  if (c.status(id).role !== 'leader' || c.status(id).term !== term) {
    throw new Error(`${id} did not win term ${term}: it is ${c.status(id).role} in term ${c.status(id).term}`);
  }
}

/** Step (a): S2 leads term 1 (index 1 everywhere), then S1 leads term 2 and gets index 2 to S2 only. */
export function figure8StepA(c: Cluster): void {
  elect(c, 'S2', 1);
  c.propose({ x: 1 });
  c.runFor(50);
  elect(c, 'S1', 2);
  c.partition(['S1', 'S2'], ['S3', 'S4', 'S5']);
  c.propose({ x: 2 });
  c.runFor(50);
}

/** Step (b): S1 crashes; S5 wins term 3 with S3, S4 and itself, and takes a different entry at index 2. */
export function figure8StepB(c: Cluster): void {
  c.crash('S1');
  c.heal();
  elect(c, 'S5', 3);
  c.disconnect('S5');
  c.propose({ x: 3 });
  c.runFor(50);
}

/** Step (c): S5 crashes; S1 restarts, wins term 4 (S2, S3, S4 vote) and copies its term-2 entry to S3. */
export function figure8StepC(c: Cluster): void {
  c.crash('S5');
  c.connect('S5');
  c.restart('S1');
  elect(c, 'S1', 4);
  c.runFor(50);
}

/** Step (d): S1 crashes; S5 restarts and is elected for term 5 (its last term 3 beats their 2), then writes. */
export function figure8StepD(c: Cluster): void {
  c.crash('S1');
  c.restart('S5');
  elect(c, 'S5', 5);
  c.propose({ x: 5 });
  c.runFor(50);
}

/** Step (e), instead of (d): S1 first gets an entry of its own term 4 onto a majority. */
export function figure8StepE(c: Cluster): void {
  c.propose({ x: 4 });
  c.runFor(50);
}

// ---- Autograder scenarios for the student's rules ----

/** Targeted cases for checkConsistency: [log terms, prevLogIndex, prevLogTerm, expected result]. */
export const consistencyCases: readonly {
  readonly why: string;
  readonly log: readonly number[];
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly expected: { ok: true } | { ok: false; conflictIndex: number; conflictTerm?: number };
}[] = [
  { why: 'an empty log matches the position before index 1', log: [], prevLogIndex: 0, prevLogTerm: 0, expected: { ok: true } },
  { why: 'a long log also matches at index 0', log: [1, 2, 2], prevLogIndex: 0, prevLogTerm: 0, expected: { ok: true } },
  { why: 'same term at prevLogIndex: accept', log: [1, 1, 2], prevLogIndex: 3, prevLogTerm: 2, expected: { ok: true } },
  { why: 'a match in the middle of a longer log: accept (extra entries are handled later)', log: [1, 1, 2, 2], prevLogIndex: 2, prevLogTerm: 1, expected: { ok: true } },
  { why: 'the log is too short: refuse, conflictIndex = lastIndex + 1, no conflictTerm', log: [1, 1], prevLogIndex: 5, prevLogTerm: 3, expected: { ok: false, conflictIndex: 3 } },
  { why: 'an empty log is too short for index 1', log: [], prevLogIndex: 1, prevLogTerm: 1, expected: { ok: false, conflictIndex: 1 } },
  { why: 'a different term at prevLogIndex: refuse, conflictTerm = that term, conflictIndex = its first index', log: [1, 2, 2, 2], prevLogIndex: 4, prevLogTerm: 3, expected: { ok: false, conflictIndex: 2, conflictTerm: 2 } },
  { why: 'the conflicting term starts at index 1', log: [4, 4, 4], prevLogIndex: 2, prevLogTerm: 5, expected: { ok: false, conflictIndex: 1, conflictTerm: 4 } },
  { why: 'the conflicting term is in the middle', log: [1, 1, 3, 3, 5], prevLogIndex: 4, prevLogTerm: 4, expected: { ok: false, conflictIndex: 3, conflictTerm: 3 } },
];

type ConsistencyFn = RaftRules['checkConsistency'];
type CommitFn = RaftRules['advanceCommitIndex'];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Normalise a result for comparison: drop an undefined conflictTerm. */
function normalise(result: unknown): unknown {
  if (result && typeof result === 'object' && 'conflictTerm' in result && (result as { conflictTerm?: unknown }).conflictTerm === undefined) {
    const { conflictTerm: _dropped, ...rest } = result as Record<string, unknown>;
    return rest;
  }
  return result;
}

/** Accept/refuse decisions only. Throws naming the first wrong case. */
export function checkConsistencyDecisions(fn: ConsistencyFn): string {
  for (const c of consistencyCases) {
    const got = fn(logOf(c.log), c.prevLogIndex, c.prevLogTerm);
    if (!got || typeof got.ok !== 'boolean') throw new Error(`returned ${JSON.stringify(got)}; expected an object with ok: true or false`);
    if (got.ok !== c.expected.ok) {
      throw new Error(`log terms [${c.log.join(', ')}], prevLogIndex ${c.prevLogIndex}, prevLogTerm ${c.prevLogTerm}: ok should be ${c.expected.ok} (${c.why})`);
    }
  }
  return `${consistencyCases.length} cases decided right`;
}

/** The refusal hints (conflictIndex, conflictTerm). Throws naming the first wrong case. */
export function checkConsistencyHints(fn: ConsistencyFn): string {
  for (const c of consistencyCases) {
    const got = normalise(fn(logOf(c.log), c.prevLogIndex, c.prevLogTerm));
    if (!same(got, c.expected)) {
      throw new Error(
        `log terms [${c.log.join(', ')}], prevLogIndex ${c.prevLogIndex}, prevLogTerm ${c.prevLogTerm}: ` +
          `expected ${JSON.stringify(c.expected)}, got ${JSON.stringify(got)} (${c.why})`,
      );
    }
  }
  return 'every refusal carries the right hint';
}

/** Targeted cases for advanceCommitIndex. */
export const commitCases: readonly {
  readonly why: string;
  readonly log: readonly number[];
  readonly matchIndexes: readonly number[];
  readonly currentTerm: number;
  readonly commitIndex: number;
  readonly expected: number;
}[] = [
  { why: 'nothing replicated yet', log: [], matchIndexes: [0, 0, 0], currentTerm: 1, commitIndex: 0, expected: 0 },
  { why: '2 of 3 hold index 2 of the current term', log: [1, 1], matchIndexes: [2, 2, 0], currentTerm: 1, commitIndex: 0, expected: 2 },
  { why: 'only the leader holds index 3: 2 of 3 hold index 2', log: [1, 1, 1], matchIndexes: [3, 2, 1], currentTerm: 1, commitIndex: 0, expected: 2 },
  { why: '5 servers: 3 of 5 hold index 4', log: [2, 2, 2, 2, 2], matchIndexes: [5, 4, 4, 1, 0], currentTerm: 2, commitIndex: 1, expected: 4 },
  { why: '5 servers: only 2 of 5 hold anything past index 1', log: [2, 2, 2], matchIndexes: [3, 3, 1, 1, 0], currentTerm: 2, commitIndex: 1, expected: 1 },
  { why: 'Figure 8 (c): index 2 is on a majority but of term 2, the leader is in term 4: do not commit', log: [1, 2], matchIndexes: [2, 2, 2, 1, 0], currentTerm: 4, commitIndex: 1, expected: 1 },
  { why: 'Figure 8 (e): index 3 of term 4 on a majority commits, and index 2 with it', log: [1, 2, 4], matchIndexes: [3, 3, 3, 1, 0], currentTerm: 4, commitIndex: 1, expected: 3 },
  { why: 'a majority holds an old-term entry and only a minority the current-term one', log: [1, 1, 3], matchIndexes: [3, 2, 2], currentTerm: 3, commitIndex: 0, expected: 0 },
  { why: 'never move the commit index backwards', log: [1, 1, 1], matchIndexes: [3, 0, 0], currentTerm: 1, commitIndex: 2, expected: 2 },
  { why: 'a one-server cluster commits its own entries', log: [1, 1], matchIndexes: [2], currentTerm: 1, commitIndex: 0, expected: 2 },
];

export function checkCommitCases(fn: CommitFn): string {
  for (const c of commitCases) {
    const got = fn({ matchIndexes: c.matchIndexes, currentTerm: c.currentTerm, commitIndex: c.commitIndex, log: logOf(c.log) });
    if (got !== c.expected) {
      throw new Error(
        `log terms [${c.log.join(', ')}], matchIndexes [${c.matchIndexes.join(', ')}], currentTerm ${c.currentTerm}, ` +
          `commitIndex ${c.commitIndex}: expected ${c.expected}, got ${JSON.stringify(got)} (${c.why})`,
      );
    }
  }
  return `${commitCases.length} cases right`;
}

/**
 * A busy run on the given rules: 5 nodes, an unreliable network (loss, duplicates, reordering), proposals, the
 * leader crashed, a partition, healed, the leader restarted. At the end every log must be the same, fully
 * committed and applied, and hold every command the leaders accepted in the last, quiet phase.
 */
export function checkLogsConverge(rules: Partial<RaftRules>, seed: number): string {
  const c = new Cluster({
    seed,
    nodes: 5,
    trace: 'state',
    rules,
    network: { loss: 0.05, duplicate: 0.05, reorder: 0.1, reorderWindow: 50 },
  });
  for (let i = 0; i < 15; i++) {
    c.runFor(100);
    c.propose({ k: i });
  }
  const leader = c.leader();
  if (leader) c.crash(leader);
  c.partition([c.ids[0]!, c.ids[1]!], [c.ids[2]!, c.ids[3]!, c.ids[4]!]);
  for (let i = 0; i < 5; i++) {
    c.runFor(300);
    c.propose({ p: i });
  }
  c.heal();
  if (leader) c.restart(leader);
  c.setNetwork({ loss: 0, duplicate: 0, reorder: 0 });
  c.runFor(1500);
  const accepted: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const r = c.propose({ final: i });
    if (r.accepted) accepted.push({ final: i });
    c.runFor(200);
  }
  c.runFor(2000);
  if (accepted.length === 0) throw new Error(`seed ${seed}: no leader accepted a command after the partition healed`);
  const statuses = c.statuses();
  const reference = statuses[0]!;
  for (const s of statuses) {
    if (!same(s.log, reference.log)) {
      throw new Error(
        `seed ${seed}: logs differ after the cluster healed:\n${showLogs(c)}\n` +
          'A follower must refuse AppendEntries unless its entry at prevLogIndex has prevLogTerm (check your ok cases).',
      );
    }
    if (s.commitIndex !== s.log.length) {
      throw new Error(`seed ${seed}: ${s.id} committed ${s.commitIndex} of ${s.log.length} entries after a quiet 2 s:\n${showLogs(c)}`);
    }
    if (s.lastApplied !== s.commitIndex) throw new Error(`seed ${seed}: ${s.id} applied ${s.lastApplied} of ${s.commitIndex} committed entries`);
  }
  const commands = reference.log.map((e) => JSON.stringify(e.command));
  for (const cmd of accepted) {
    if (!commands.includes(JSON.stringify(cmd))) throw new Error(`seed ${seed}: the accepted command ${JSON.stringify(cmd)} is missing from the logs`);
  }
  return `seed ${seed}: 5 logs identical, ${reference.log.length} entries committed and applied`;
}

/**
 * The Figure 8 script on the given rules: after step (c) the term-2 entry at index 2 must not be committed, and
 * step (d) must run without the safety monitor stopping the cluster (no committed entry lost).
 */
export function checkFigure8(rules: Partial<RaftRules>): string {
  const c = figure8Cluster(rules);
  try {
    figure8StepA(c);
    figure8StepB(c);
    figure8StepC(c);
    if (c.status('S1').commitIndex >= 2) {
      throw new Error(
        `after step (c) S1 (leader of term 4) committed index ${c.status('S1').commitIndex}, an entry of term 2 counted on a majority. ` +
          'Only an entry of the current term may be committed by counting replicas.',
      );
    }
    figure8StepD(c);
  } catch (error) {
    if (error instanceof InvariantViolation) {
      throw new Error(`the safety monitor stopped the Figure 8 script: ${error.property}: ${error.detail}`);
    }
    throw error;
  }
  return 'index 2 (term 2) not committed in (c); (d) overwrote it safely';
}

/**
 * A 5-node cluster under a seeded nemesis (proposals, leader crashes, restarts, disconnections, heals), as in
 * test/safety-monitor.test.ts. Returns the violation, or null when the run finished with the monitor silent.
 */
export function runUnderNemesis(
  seed: number,
  rules?: Partial<RaftRules>,
  options: { rounds?: number; bugs?: ClusterBugs; handlers?: Partial<Handlers> } = {},
): { violation: InvariantViolation | null; cluster: Cluster } {
  const rounds = options.rounds ?? 200;
  const impl = { ...(rules ? { rules } : {}), ...(options.handlers ? { handlers: options.handlers } : {}) };
  const cluster = new Cluster({ nodes: 5, seed, trace: 'state', ...(rules || options.handlers ? { createNode: studentNodeFactory(impl) } : {}), ...(options.bugs ? { bugs: options.bugs } : {}) });
  const nemesis = new Rng(seed + 1_000_003);
  let command = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      cluster.runFor(nemesis.int(10, 300));
      const leader = cluster.leader();
      switch (nemesis.int(0, 5)) {
        case 0:
        case 1:
          for (let k = nemesis.int(1, 3); k > 0; k--) cluster.propose({ k: ++command });
          break;
        case 2:
          if (leader) cluster.crash(leader);
          break;
        case 3:
          cluster.restart(nemesis.pick(cluster.ids));
          break;
        case 4:
          cluster.disconnect(leader ?? nemesis.pick(cluster.ids));
          break;
        case 5:
          cluster.heal();
          break;
      }
    }
  } catch (error) {
    if (error instanceof InvariantViolation) return { violation: error, cluster };
    throw error;
  }
  return { violation: null, cluster };
}

/** The nemesis on several seeds: the monitor must never fire, and something must get committed. */
export function checkNemesis(rules: Partial<RaftRules>, seeds: readonly number[]): string {
  let committed = 0;
  for (const seed of seeds) {
    const { violation, cluster } = runUnderNemesis(seed, rules);
    if (violation) throw new Error(`seed ${seed}: ${violation.property} violated: ${violation.detail}`);
    committed += cluster.safety?.committedIndex ?? 0;
  }
  if (committed === 0) throw new Error('nothing was ever committed: does advanceCommitIndex ever move forward?');
  return `${seeds.length} seeds, ${committed} entries committed, monitor silent`;
}

/** The rules a student's functions plug into. */
export function studentRules(parts: Pick<Partial<RaftRules>, 'checkConsistency' | 'advanceCommitIndex'>): Partial<RaftRules> {
  return { ...figure2Rules, ...parts };
}

// ---- Task 3's files ----

const task3Ids = labNodeIds(3);

/** Every node's log in a Task 3 folder, read back from its .log file (errors name the file and line). */
export function readTask3Logs(dir: string): Map<NodeId, readonly LogEntry[]> {
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist: run the Task 3 cell first`);
  const logs = new Map<NodeId, readonly LogEntry[]>();
  for (const id of task3Ids) {
    const file = path.join(dir, `${id.replace(':', '_')}.log`);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing`);
    logs.set(id, parseLogText(fs.readFileSync(file, 'utf8'), file).entries);
  }
  return logs;
}

/** Every file of a folder, by name (what grading's checkTask3 takes). */
export function readFolder(dir: string): Map<string, string> {
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist: run the Task 3 cell first`);
  return new Map(fs.readdirSync(dir).sort().map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')] as [string, string]));
}
