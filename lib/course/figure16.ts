/**
 * The paper's Figure 16 (section 9.3): how long a five-server cluster takes to detect a crashed leader
 * and elect a new one, for several election-timeout ranges.
 *
 * The paper's setup, as we model it:
 * - 5 servers, broadcast time about 15 ms. Our one-way latency is uniform in [5, 10] ms (mean 7.5 ms, so a
 *   request and its reply take 15 ms on average), no loss.
 * - Heartbeat interval = half the minimum election timeout.
 * - "The servers in each trial had different log lengths, so some candidates were not eligible": right after
 *   the leader's last (synchronized) heartbeat broadcast it appends one entry. Two followers receive it; the
 *   links from the leader to the other two are cut for the instant of that send, so they miss it, and nothing
 *   repairs them before the leader's next heartbeat, which never comes. So two of the four survivors hold the
 *   longest log and can win; the other two can collect at most two votes and cannot. (One entry in one
 *   message, because our network does not keep messages in order: two entries sent as two messages could
 *   arrive swapped, the second be refused, and the laggards would then not be the ones we chose.)
 * - "The leader was crashed uniformly randomly within its heartbeat interval": the crash happens at a uniform
 *   offset in [0, heartbeat interval) after that broadcast. Messages already on the wire are still delivered.
 * - Downtime runs from the crash to the first moment a surviving server becomes leader (necessarily in a
 *   higher term). A trial that elects nobody within `capMs` of virtual time counts as `capMs` and is reported.
 *
 * Every trial is a fresh Cluster seeded with `seed + trial`, so the sweep is deterministic and every range
 * sees the same seeds.
 *
 * Why our split votes are more frequent than the paper's (so our 150-155 and 12-24 lines sit to the right
 * of its curves): a vote is split when other servers time out before the first candidate's RequestVote
 * reaches them. That window is the request leg of the round trip, not the whole broadcast time. Here it is
 * half of it (5-10 ms). In LogCabin a voter wrote its vote to disk before replying, so more of the 15 ms was
 * probably on the reply leg. With requests taking 1-3 ms and replies 12-14 ms (the same 15 ms round trip),
 * this harness gives 150-155 a median of about 250 ms and 12-24 a mean of about 45 ms, close to the paper's
 * 287 and 35. Our network has one latency distribution for every message, so that split is not the default.
 * A second, smaller difference: our core restarts a candidate's election timer when it steps down on seeing
 * a higher term; LogCabin (and Figure 2) keep it running. Pass `latency` to try other distributions.
 */
import { Cluster, labNodeIds } from '../sim/cluster';
import type { Latency, NetworkOptions } from '../sim/network';
import type { TraceLevel } from '../sim/trace';
import type { LogEntry, NodeId, PersistentState } from '../raft/types';

export interface TimeoutRange {
  readonly min: number;
  readonly max: number;
}

/** Every line of Figure 16: the top graph varies the randomness, the bottom one scales the minimum. */
export const paperRanges: readonly TimeoutRange[] = [
  { min: 150, max: 150 },
  { min: 150, max: 151 },
  { min: 150, max: 155 },
  { min: 150, max: 175 },
  { min: 150, max: 200 },
  { min: 150, max: 300 },
  { min: 12, max: 24 },
  { min: 25, max: 50 },
  { min: 50, max: 100 },
  { min: 100, max: 200 },
];

/**
 * The same 15 ms round trip, with most of it on the reply: requests 1-3 ms, replies 12-14 ms, as when a voter
 * writes its vote to disk before answering (LogCabin does). The paper does not say how its 15 ms split.
 */
export const slowReplies: NonNullable<NetworkOptions['latencyByType']> = {
  RequestVote: { kind: 'uniform', min: 1, max: 3 },
  AppendEntries: { kind: 'uniform', min: 1, max: 3 },
  RequestVoteReply: { kind: 'uniform', min: 12, max: 14 },
  AppendEntriesReply: { kind: 'uniform', min: 12, max: 14 },
};

/** One-way latency: uniform 5-10 ms, a mean round trip of 15 ms (the paper's broadcast time). */
export const paperLatency: Latency = { kind: 'uniform', min: 5, max: 10 };

export interface Figure16Options {
  /** Default: paperRanges. */
  readonly ranges?: readonly TimeoutRange[];
  /** Trials for every range. Default: the paper's counts (trialsFor). */
  readonly trials?: number;
  /** Trial i uses seed `seed + i`. Default 1. */
  readonly seed?: number;
  readonly latency?: Latency;
  /** Per-message-type latencies on top of `latency` (see slowReplies). */
  readonly latencyByType?: NetworkOptions['latencyByType'];
  /** Give up on a trial after this much virtual time without a leader. Default 100 000 ms. */
  readonly capMs?: number;
  /** Default 'off' (fastest). The safety monitor runs either way. */
  readonly trace?: Extract<TraceLevel, 'state' | 'off'>;
  /** Called after each range, e.g. to print progress. */
  readonly onRange?: (result: RangeResult) => void;
}

export interface TrialResult {
  readonly seed: number;
  /** Virtual ms from the crash to the new leader (capMs when capped). */
  readonly downtimeMs: number;
  readonly capped: boolean;
  /** How many terms the election took (1 = the first candidate won). 0 when capped. */
  readonly terms: number;
  /** When the crash happened after the last heartbeat broadcast. */
  readonly crashOffsetMs: number;
  readonly newLeader: NodeId | null;
}

export interface RangeResult {
  readonly range: TimeoutRange;
  /** '150-155', as in the paper's legend. */
  readonly label: string;
  readonly heartbeatInterval: number;
  readonly trials: readonly TrialResult[];
  /** downtimeMs of every trial, in trial order (for CDF plots). */
  readonly samples: readonly number[];
  readonly capped: number;
  readonly wallMs: number;
}

export interface Figure16Result {
  readonly ranges: readonly RangeResult[];
  readonly wallMs: number;
  readonly latency: Latency;
  readonly capMs: number;
  /** options.trials when given; otherwise 1000, the paper's count (a range without randomness ran 100). */
  readonly trialsPerRange: number;
}

/**
 * Trials of one range: `trials` when given, else the paper's, "1000 trials (except for 100 trials for
 * '150-150ms')" (Figure 16's caption). Without randomness the survivors' timers keep the same small
 * offsets round after round, every round splits the vote again, and the trials run to the cap: the costliest range.
 */
export function trialsFor(range: TimeoutRange, trials?: number): number {
  const count = trials ?? (range.min === range.max ? 100 : 1000);
  if (!(Number.isInteger(count) && count > 0)) throw new RangeError(`trials must be a positive integer, got ${count}`);
  return count;
}

export function rangeLabel(range: TimeoutRange): string {
  return `${range.min}-${range.max}`;
}

const SHARED_LOG = 3; // entries every server holds before the leader appends the one the laggards miss

/** Run one trial of one range. */
export function runTrial(range: TimeoutRange, seed: number, options: Figure16Options = {}): TrialResult {
  const capMs = options.capMs ?? 100_000;
  const heartbeatInterval = range.min / 2;
  const ids = labNodeIds(5);
  const log: LogEntry[] = Array.from({ length: SHARED_LOG }, (_, i) => ({ term: 1, command: { x: i + 1 } }));
  const initialState: Record<NodeId, PersistentState> = {};
  for (const id of ids) initialState[id] = { currentTerm: 1, votedFor: null, log };

  const cluster = new Cluster({
    nodes: ids,
    seed,
    network: { latency: options.latency ?? paperLatency, ...(options.latencyByType ? { latencyByType: options.latencyByType } : {}) },
    timings: { electionTimeout: range, heartbeatInterval },
    trace: options.trace ?? 'off',
    initialState,
  });

  // A stable leader first. The first server campaigns at once; with the shortest timeouts (12-24 ms against a
  // 15 ms broadcast time) another may still time out before its first heartbeat lands, so wait until every
  // server follows one leader, then a few more heartbeats.
  cluster.campaign(ids[0]!);
  const stable = cluster.runUntil(allFollowOneLeader, { timeout: 10_000 });
  cluster.runFor(4 * heartbeatInterval);
  const leader = cluster.leader();
  const core = leader === null ? null : cluster.raft(leader);
  if (!stable || leader === null || !core || !allFollowOneLeader(cluster)) {
    throw new Error(`figure16 ${rangeLabel(range)} seed ${seed}: no stable leader before the crash`);
  }
  const [upToDateA, upToDateB, laggardA, laggardB] = ids.filter((id) => id !== leader) as [NodeId, NodeId, NodeId, NodeId];
  const oldTerm = core.currentTerm;

  // Run until its next heartbeat broadcast has gone out (its heartbeat deadline moves on).
  const broadcastAt = core.nextDeadline();
  cluster.runUntil(() => core.nextDeadline() > broadcastAt, { timeout: 2 * heartbeatInterval });

  // One new entry right after the broadcast, sent to two followers only.
  cluster.cutLink(leader, laggardA);
  cluster.cutLink(leader, laggardB);
  cluster.propose({ fig16: 'last' }, leader);
  cluster.heal();

  const crashOffsetMs = cluster.rng.uniform(0, heartbeatInterval);
  cluster.runUntilTime(cluster.now + crashOffsetMs);
  cluster.crash(leader);
  const crashedAt = cluster.now;

  // Checked after every event, so look at the four survivors' cores directly (cheaper than cluster.leader()).
  const survivors = [upToDateA, upToDateB, laggardA, laggardB].map((id) => cluster.raft(id)!);
  const elected = cluster.runUntil(() => survivors.some((c) => c.role === 'leader'), { timeout: capMs });
  const newLeader = cluster.leader();
  if (!elected || newLeader === null) {
    return { seed, downtimeMs: capMs, capped: true, terms: 0, crashOffsetMs, newLeader: null };
  }
  const newTerm = cluster.raft(newLeader)!.currentTerm;
  if (newLeader !== upToDateA && newLeader !== upToDateB) {
    throw new Error(`figure16 ${rangeLabel(range)} seed ${seed}: ${newLeader} won without the longest log (the setup is broken)`);
  }
  return { seed, downtimeMs: cluster.now - crashedAt, capped: false, terms: newTerm - oldTerm, crashOffsetMs, newLeader };
}

function allFollowOneLeader(cluster: Cluster): boolean {
  const leader = cluster.leader();
  if (leader === null) return false;
  const term = cluster.raft(leader)!.currentTerm;
  for (const id of cluster.ids) {
    const core = cluster.raft(id);
    if (id !== leader && (!core || core.role !== 'follower' || core.leaderId !== leader || core.currentTerm !== term)) return false;
  }
  return true;
}

/** Run trialsFor(range, options.trials) trials of every range. Synchronous: virtual time only. */
export function runFigure16(options: Figure16Options = {}): Figure16Result {
  const ranges = options.ranges ?? paperRanges;
  const seed = options.seed ?? 1;
  const counts = ranges.map((range) => trialsFor(range, options.trials));
  const start = performance.now();
  const results: RangeResult[] = [];
  ranges.forEach((range, r) => {
    const rangeStart = performance.now();
    const out: TrialResult[] = [];
    for (let i = 0; i < counts[r]!; i++) out.push(runTrial(range, seed + i, options));
    const result: RangeResult = {
      range,
      label: rangeLabel(range),
      heartbeatInterval: range.min / 2,
      trials: out,
      samples: out.map((t) => t.downtimeMs),
      capped: out.filter((t) => t.capped).length,
      wallMs: performance.now() - rangeStart,
    };
    results.push(result);
    options.onRange?.(result);
  });
  return {
    ranges: results,
    wallMs: performance.now() - start,
    latency: options.latency ?? paperLatency,
    capMs: options.capMs ?? 100_000,
    trialsPerRange: options.trials ?? 1000,
  };
}

export interface Summary {
  readonly mean: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const mean = sorted.reduce((s, x) => s + x, 0) / n;
  return { mean, median, min: sorted[0]!, max: sorted[n - 1]! };
}

/** Points of the empirical CDF (value, fraction of trials at or below it), as Figure 16 plots them. */
export function cdf(samples: readonly number[]): { value: number; fraction: number }[] {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.map((value, i) => ({ value, fraction: (i + 1) / sorted.length }));
}
