import { Cluster } from '../sim/cluster';
import type { TrackedRead } from '../raft/reads';
import type { Configuration } from '../raft/membership';
import type { Command, NodeId } from '../raft/types';

/**
 * Notebook 06 (membership and clients): scripted runs of the library's membership changes (dissertation
 * chapter 4), of ReadIndex against a stale read (6.4), and of a retrying client whose first reply is lost (6.3),
 * applied with and without the student's session table. Nothing here answers an exercise: the session table is
 * passed in.
 */

/** One client's entry in a session table (dissertation 6.3): its latest serial number and that command's result. */
export interface ClientSession {
  readonly seq: number;
  readonly result: unknown;
}

/** The session table: client id to its session. Part of the replicated state machine, built from the log. */
export type SessionTable = Map<string, ClientSession>;

/** The student's `applyOnce`: execute a client's command at most once, answer a duplicate from the table. */
export type ApplyOnce = (table: SessionTable, clientId: string, seq: number, execute: () => unknown) => { executed: boolean; result: unknown };

/** A read as the leader holds it while it waits (dissertation 6.4). */
export interface PendingRead {
  /** The commit index when the read arrived: the state the read must see. */
  readonly readIndex: number;
  /** The heartbeat round the leader sent for this read. */
  readonly round: number;
}

/** What the leader knows when it decides whether a read may be answered. */
export interface LeaderReadView {
  /** The voters, this leader included. */
  readonly clusterSize: number;
  /** For each other voter, the latest heartbeat round it acknowledged (0: none). */
  readonly ackedRounds: readonly number[];
  /** The last entry this leader's state machine applied. */
  readonly lastApplied: number;
}

const sorted = (ids: readonly NodeId[]) => [...ids].sort();
const NEW = '127.0.0.1:8003';
const NEWER = '127.0.0.1:8004';

/** A cluster whose leader committed an entry of its term (a membership change and a read both need one). */
function readyCluster(seed: number, nodes = 3): { cluster: Cluster; leader: NodeId } {
  const cluster = new Cluster({ seed, nodes, leaderNoop: true, trace: 'state' });
  if (!cluster.runUntil((c) => c.leader() !== null && c.raft(c.leader()!)!.commitIndex >= 1, { timeout: 5000 })) throw new Error(`seed ${seed}: no leader`);
  return { cluster, leader: cluster.leader()! };
}

/** Run until the leader's configuration has exactly these voters, no learner, and its log is all committed. */
function settleOn(cluster: Cluster, voters: readonly NodeId[], timeout = 3000): void {
  const want = JSON.stringify(sorted(voters));
  const ok = cluster.runUntil((c) => {
    const l = c.leader();
    if (l === null) return false;
    const cfg = c.configuration(l);
    const core = c.raft(l)!;
    return cfg.learners.length === 0 && JSON.stringify(sorted(cfg.voters)) === want && core.commitIndex === core.lastIndex;
  }, { timeout });
  if (!ok) throw new Error(`configuration with voters ${want} not reached`);
}

// ---- 1. Adding a server: a learner first ----

export interface CatchUpSample {
  readonly t: number;
  /** How the leader's configuration counts the new server. */
  readonly as: 'learner' | 'voter';
  /** The new server's last log index. */
  readonly newLast: number;
  /** The leader's commit index. */
  readonly leaderCommit: number;
  /** The voters the leader counts for a majority. */
  readonly voters: number;
}

export interface AddServerRun {
  readonly cluster: Cluster;
  readonly added: NodeId;
  readonly samples: readonly CatchUpSample[];
  /** Virtual time at which the new server became a voter. */
  readonly promotedAt: number;
}

/**
 * Three servers take writes (a long log); a fourth, empty, is added while clients keep writing: it joins as a
 * learner, receives the log, and the leader makes it a voter once it has the committed log (dissertation 4.2.1).
 * Sampled every `everyMs`.
 */
export function addServer(seed = 4, writes = 300, everyMs = 10): AddServerRun {
  const { cluster } = readyCluster(seed);
  for (let n = 1; n <= writes; n++) cluster.propose({ w: n });
  cluster.runFor(300);
  const answer = cluster.addServer(NEW);
  if (!answer.accepted) throw new Error(`addServer refused: ${answer.reason}`);
  const samples: CatchUpSample[] = [];
  let promotedAt = -1;
  const sample = () => {
    const leader = cluster.leader();
    if (leader === null) return;
    const cfg = cluster.configuration(leader);
    const as = cfg.voters.includes(NEW) ? 'voter' : 'learner';
    if (as === 'voter' && promotedAt < 0) promotedAt = Math.round(cluster.now);
    samples.push({ t: Math.round(cluster.now), as, newLast: cluster.raft(NEW)?.lastIndex ?? 0, leaderCommit: cluster.raft(leader)!.commitIndex, voters: cfg.voters.length });
  };
  // Clients keep writing while it catches up: one write every 5 ms.
  let n = writes;
  const writer = () => {
    if (promotedAt >= 0) return;
    cluster.propose({ w: ++n });
    cluster.after(5, writer);
  };
  writer();
  sample();
  for (let i = 0; i < 100 && (promotedAt < 0 || cluster.now < promotedAt + 3 * everyMs); i++) {
    cluster.runFor(everyMs);
    sample();
  }
  if (promotedAt < 0) throw new Error(`seed ${seed}: ${NEW} was never made a voter`);
  return { cluster, added: NEW, samples, promotedAt };
}

// ---- 2. Removing the leader, and a removed server that cannot disrupt ----

export interface RemoveLeaderRun {
  readonly cluster: Cluster;
  readonly oldLeader: NodeId;
  readonly newLeader: NodeId;
  /** What happened, one line a step. */
  readonly steps: readonly string[];
}

/**
 * The leader cannot remove itself here: it hands the leadership to a follower (TimeoutNow, dissertation 3.10),
 * and the new leader removes it.
 */
export function removeLeader(seed = 4): RemoveLeaderRun {
  const { cluster, leader } = readyCluster(seed);
  const steps: string[] = [];
  const refused = cluster.removeServer(leader);
  steps.push(`removeServer(${leader}) on the leader itself: ${refused.accepted ? 'accepted?!' : `refused: ${refused.reason}`}`);
  const next = cluster.ids.find((id) => id !== leader)!;
  const transfer = cluster.transferLeadership(leader, next);
  if (!transfer.accepted) throw new Error(`transfer refused: ${transfer.reason}`);
  const t0 = cluster.now;
  if (!cluster.runUntil((c) => c.leader() === next && c.raft(next)!.commitIndex === c.raft(next)!.lastIndex, { timeout: 2000 })) throw new Error('the transfer did not complete');
  steps.push(`transferLeadership(${leader} -> ${next}): ${next} leads in term ${cluster.raft(next)!.currentTerm} after ${Math.round(cluster.now - t0)} ms`);
  const removed = cluster.removeServer(leader);
  if (!removed.accepted) throw new Error(`removeServer refused: ${removed.reason}`);
  steps.push(`removeServer(${leader}) on ${next}: configuration entry at index ${removed.index}`);
  settleOn(cluster, cluster.ids.filter((id) => id !== leader));
  steps.push(`committed: ${next}'s configuration is now voters ${sorted(cluster.configuration(next).voters).join(', ')}`);
  const write = cluster.propose({ after: 1 }, next);
  cluster.runFor(300);
  const appliedOnOld = cluster.stateMachine(leader).get('after');
  steps.push(`a write after the removal: ${write.accepted ? 'accepted' : 'refused'}, applied by the two voters; on ${leader}: ${appliedOnOld === undefined ? 'never received' : 'received?!'}`);
  return { cluster, oldLeader: leader, newLeader: next, steps };
}

export interface RemovedServerRun {
  readonly cluster: Cluster;
  readonly removed: NodeId;
  readonly leader: NodeId;
  readonly leaderTermBefore: number;
  readonly leaderTermAfter: number;
  readonly removedTermAfter: number;
  /** The leader at the end (unchanged when the removed server did not disrupt). */
  readonly leaderAfter: NodeId | null;
}

/**
 * A follower is cut off, removed while cut off (so it never hears of its removal), and reconnected: it times out
 * and campaigns in ever higher terms. Dissertation 4.2.3: a server that heard from its leader within the minimum
 * election timeout ignores its RequestVote, so the leader keeps its term.
 */
export function removedServerCampaigns(seed = 4, ms = 5000): RemovedServerRun {
  const { cluster, leader } = readyCluster(seed);
  const gone = cluster.ids.find((id) => id !== leader)!;
  cluster.disconnect(gone);
  const removed = cluster.removeServer(gone);
  if (!removed.accepted) throw new Error(`removeServer refused: ${removed.reason}`);
  settleOn(cluster, cluster.ids.filter((id) => id !== gone));
  cluster.connect(gone);
  const leaderTermBefore = cluster.raft(leader)!.currentTerm;
  cluster.runFor(ms);
  return {
    cluster, removed: gone, leader, leaderTermBefore, leaderTermAfter: cluster.raft(leader)!.currentTerm,
    removedTermAfter: cluster.raft(gone)!.currentTerm, leaderAfter: cluster.leader(),
  };
}

/**
 * Grow from 3 servers to 5 and shrink back to 3, one server at a time (the leader hands over its leadership
 * before it is removed). The voter sets the leader's configuration went through, in order.
 */
export function growAndShrink(seed = 4): string[][] {
  const { cluster } = readyCluster(seed);
  const history: string[][] = [];
  const note = () => {
    const voters = sorted(cluster.configuration().voters);
    const last = history[history.length - 1];
    if (!last || JSON.stringify(last) !== JSON.stringify(voters)) history.push(voters);
  };
  note();
  const base = cluster.ids.slice(0, 3);
  for (const id of [NEW, NEWER]) {
    const added = cluster.addServer(id);
    if (!added.accepted) throw new Error(`addServer(${id}) refused: ${added.reason}`);
    settleOn(cluster, [...cluster.configuration().voters, ...cluster.configuration().learners]);
    note();
  }
  for (const id of [base[0]!, base[1]!]) {
    if (cluster.leader() === id) {
      const to = cluster.configuration().voters.find((v) => v !== id)!;
      cluster.transferLeadership(id, to);
      if (!cluster.runUntil((c) => c.leader() === to && c.raft(to)!.commitIndex === c.raft(to)!.lastIndex, { timeout: 2000 })) throw new Error('transfer did not complete');
    }
    const removed = cluster.removeServer(id);
    if (!removed.accepted) throw new Error(`removeServer(${id}) refused: ${removed.reason}`);
    settleOn(cluster, cluster.configuration().voters.filter((v) => v !== id));
    note();
  }
  return history;
}

// ---- 3. ReadIndex against a stale read ----

export interface StaleReadRun {
  readonly cluster: Cluster;
  readonly oldLeader: NodeId;
  readonly newLeader: NodeId;
  /** `x` on the old leader's own state machine: what a read served locally would answer. */
  readonly localRead: unknown;
  /** `x` as written and committed through the new leader. */
  readonly committed: unknown;
  /** Whether the old leader still believed it led when the read arrived. */
  readonly oldBelievesItLeads: boolean;
  /** How the ReadIndex read on the old leader ended. */
  readonly oldReadIndex: string;
  /** The old leader's last log index before and after its read: ReadIndex writes nothing. */
  readonly oldLogBefore: number;
  readonly oldLogAfter: number;
  /** A ReadIndex read on the new leader: its read index and what its state machine answers there. */
  readonly newRead: { readonly index: number | null; readonly value: unknown; readonly logBefore: number; readonly logAfter: number };
}

function outcomeOf(read: TrackedRead): Promise<string> {
  return read.promise.then((index) => `answered at index ${index}`, (error: Error) => `refused: ${error.name}: ${error.message}`);
}

/**
 * The leader writes x = 1, is cut off from the majority, which elects a new leader and commits x = 2. The old
 * leader does not know (no CheckQuorum): its state machine still says 1. A read through ReadIndex on it sends a
 * heartbeat round no majority answers, and times out instead of answering 1; the same read on the new leader
 * answers 2 after one round, and neither read adds an entry to a log.
 */
export async function staleRead(seed = 11, timeoutMs = 500): Promise<StaleReadRun> {
  const { cluster, leader } = readyCluster(seed);
  cluster.propose({ x: 1 });
  if (!cluster.runUntil((c) => c.ids.every((id) => c.stateMachine(id).get('x') === 1), { timeout: 3000 })) throw new Error('x = 1 not applied');
  const others = cluster.ids.filter((id) => id !== leader);
  cluster.partition([leader], others);
  if (!cluster.runUntil((c) => others.some((id) => c.raft(id)!.role === 'leader'), { timeout: 5000 })) throw new Error('the majority elected no leader');
  const newLeader = others.find((id) => cluster.raft(id)!.role === 'leader')!;
  cluster.propose({ x: 2 }, newLeader);
  if (!cluster.runUntil((c) => others.every((id) => c.stateMachine(id).get('x') === 2), { timeout: 3000 })) throw new Error('x = 2 not applied');
  const oldBelievesItLeads = cluster.raft(leader)!.role === 'leader';
  const localRead = cluster.stateMachine(leader).get('x');
  const oldLogBefore = cluster.raft(leader)!.lastIndex;
  const stale = cluster.readAndTrack(leader, { timeoutMs })!;
  const staleOutcome = outcomeOf(stale);
  cluster.runUntil(() => stale.settled, { timeout: timeoutMs + 100 });
  const oldLogAfter = cluster.raft(leader)!.lastIndex;
  const logBefore = cluster.raft(newLeader)!.lastIndex;
  const fresh = cluster.readAndTrack(newLeader, { timeoutMs: 1000 })!;
  const freshOutcome = outcomeOf(fresh);
  cluster.runUntil(() => fresh.settled, { timeout: 1100 });
  const value = fresh.index !== null ? cluster.stateMachine(newLeader).get('x') : undefined;
  const logAfter = cluster.raft(newLeader)!.lastIndex;
  await freshOutcome;
  return {
    cluster, oldLeader: leader, newLeader, localRead, committed: 2, oldBelievesItLeads,
    oldReadIndex: await staleOutcome, oldLogBefore, oldLogAfter,
    newRead: { index: fresh.index, value, logBefore, logAfter },
  };
}

// ---- 4. A retrying client ----

export interface RetryRun {
  readonly cluster: Cluster;
  /** What happened, one line a step. */
  readonly steps: readonly string[];
  /** How many entries of the log hold the client's first request (c1, seq 1). */
  readonly copies: number;
  /** Each server's balance after applying its committed log. */
  readonly balances: Readonly<Record<NodeId, number>>;
  /** The reply each request got (the first attempt's was lost). */
  readonly replies: readonly { readonly seq: number; readonly attempt: number; readonly result: unknown }[];
}

interface Deposit {
  readonly client: string;
  readonly seq: number;
  readonly deposit: number;
}

function depositOf(command: Command): Deposit | null {
  if (command === null || typeof command.client !== 'string' || typeof command.seq !== 'number' || typeof command.deposit !== 'number') return null;
  return { client: command.client, seq: command.seq, deposit: command.deposit };
}

/**
 * A bank account on top of the replicated log: each committed `{ client, seq, deposit }` adds to the balance.
 * Applied by every server to its committed entries, in order: with `applyOnce`, through the session table (one
 * table per server, built from the log like the balance); without, each entry adds. The result of the entry at
 * `index`, for the replies.
 */
function applyLog(cluster: Cluster, id: NodeId, applyOnce: ApplyOnce | null): { balance: number; results: Map<number, unknown> } {
  const core = cluster.raft(id);
  const last = core ? core.lastApplied : 0;
  let balance = 0;
  const table: SessionTable = new Map();
  const results = new Map<number, unknown>();
  for (let i = 1; i <= last; i++) {
    const entry = cluster.appliedAt(id, i);
    const d = entry ? depositOf(entry.command) : null;
    if (!d) continue;
    const execute = () => (balance += d.deposit);
    results.set(i, applyOnce === null ? execute() : applyOnce(table, d.client, d.seq, execute).result);
  }
  return { balance, results };
}

/**
 * Client c1 deposits 10 (seq 1). The leader commits the entry and then crashes before its reply leaves: the client
 * hears nothing, times out, and sends the same request (same seq) to the new leader, which appends it again. Then
 * c1 deposits 5 (seq 2). Every server applies its committed log, with `applyOnce` (the session table) or
 * without (null): without, the first deposit counts twice.
 */
export function retryingClient(applyOnce: ApplyOnce | null, seed = 2): RetryRun {
  const { cluster, leader } = readyCluster(seed);
  const steps: string[] = [];
  const replies: { seq: number; attempt: number; result: unknown }[] = [];
  const first = cluster.propose({ client: 'c1', seq: 1, deposit: 10 }, leader);
  if (!first.accepted) throw new Error('the leader refused the first request');
  if (!cluster.runUntil((c) => c.raft(leader)!.commitIndex >= first.index, { timeout: 2000 })) throw new Error('the first request was not committed');
  steps.push(`attempt 1 of seq 1 (deposit 10) to ${leader}: entry ${first.index}, committed on a majority`);
  cluster.crash(leader);
  steps.push(`${leader} crashes before its reply leaves: the client hears nothing and times out`);
  if (!cluster.runUntil((c) => c.leader() !== null && c.leader() !== leader, { timeout: 5000 })) throw new Error('no new leader');
  const next = cluster.leader()!;
  const retry = cluster.propose({ client: 'c1', seq: 1, deposit: 10 }, next);
  if (!retry.accepted) throw new Error('the new leader refused the retry');
  if (!cluster.runUntil((c) => c.raft(next)!.lastApplied >= retry.index, { timeout: 2000 })) throw new Error('the retry was not applied');
  replies.push({ seq: 1, attempt: 2, result: applyLog(cluster, next, applyOnce).results.get(retry.index) });
  steps.push(`attempt 2 of seq 1 (the same request) to ${next}: entry ${retry.index}; reply: balance ${String(replies[0]!.result)}`);
  const second = cluster.propose({ client: 'c1', seq: 2, deposit: 5 }, next);
  if (!second.accepted) throw new Error('the new leader refused seq 2');
  if (!cluster.runUntil((c) => c.raft(next)!.lastApplied >= second.index, { timeout: 2000 })) throw new Error('seq 2 was not applied');
  replies.push({ seq: 2, attempt: 1, result: applyLog(cluster, next, applyOnce).results.get(second.index) });
  steps.push(`seq 2 (deposit 5) to ${next}: entry ${second.index}; reply: balance ${String(replies[1]!.result)}`);
  cluster.restart(leader);
  const lastIndex = cluster.raft(next)!.lastIndex;
  if (!cluster.runUntil((c) => c.ids.every((id) => c.raft(id)!.lastApplied >= lastIndex), { timeout: 5000 })) throw new Error('the restarted server did not catch up');
  steps.push(`${leader} restarts and catches up`);
  const balances: Record<NodeId, number> = {};
  for (const id of cluster.ids) balances[id] = applyLog(cluster, id, applyOnce).balance;
  let copies = 0;
  for (let i = 1; i <= cluster.raft(next)!.lastApplied; i++) {
    const d = depositOf(cluster.appliedAt(next, i)?.command ?? null);
    if (d && d.client === 'c1' && d.seq === 1) copies++;
  }
  return { cluster, steps, copies, balances, replies };
}

/** A configuration as one line (voters, and learners if any). */
export function describeConfiguration(config: Configuration): string {
  return `voters {${sorted(config.voters).join(', ')}}${config.learners.length > 0 ? `, learners {${sorted(config.learners).join(', ')}}` : ''}`;
}
