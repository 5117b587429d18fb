import type { Handlers } from '../raft/context';
/**
 * Helpers of notebook 03 (experiments): the Figure 16 sweep at a size that runs in a notebook cell, the paper's
 * numbers beside ours, the partition, PreVote and CheckQuorum scenarios, and the bug zoo's search for a seed
 * whose run breaks a safety property.
 */
import { paperRanges, runFigure16, slowReplies, summarize, type Figure16Result, type TimeoutRange } from './figure16';
import type { RaftRules } from '../raft/rules';
import type { NodeId } from '../raft/types';
import { Cluster, type ClusterBugs } from '../sim/cluster';
import { runSchedule } from '../fuzz/run';
import { generateSchedule } from '../fuzz/schedule';
import { termTimelineSpec } from '../viz/term-timeline';
import { renderVegaLite } from '../viz/vega';
import { runUnderNemesis } from './notebook-02';

// ---- Figure 16 ----

/** What section 9.3 of the paper states in numbers (Figure 16 itself is a plot). */
export const paperFigure16: Readonly<Record<string, { readonly mean?: number; readonly median?: number; readonly max?: number; readonly note: string }>> = {
  '150-150': { median: 10_000, note: 'without randomness, election consistently took longer than 10 s' },
  '150-155': { median: 287, note: 'just 5 ms of randomness: median downtime 287 ms' },
  '150-200': { max: 513, note: '50 ms of randomness: worst case over 1000 trials 513 ms' },
  '12-24': { mean: 35, max: 152, note: '12-24 ms: 35 ms on average, longest trial 152 ms' },
};

/** The top graph of Figure 16 (randomness varied) and the bottom one (minimum scaled), without 150-150. */
export const notebookRanges: readonly TimeoutRange[] = paperRanges.filter((r) => r.max > r.min);

/** The sweep with `trials` per range, a 20 s cap (150-151 can take that long) and the given network. */
export function figure16Sweep(trials: number, options: { slowReplies?: boolean; ranges?: readonly TimeoutRange[] } = {}): Figure16Result {
  return runFigure16({
    trials,
    ranges: options.ranges ?? notebookRanges,
    capMs: 20_000,
    ...(options.slowReplies ? { latencyByType: slowReplies } : {}),
  });
}

export interface Figure16Row {
  readonly range: string;
  readonly mean: number;
  readonly median: number;
  readonly max: number;
  readonly capped: number;
  readonly paper: string;
}

/** One row per range: our mean, median and max downtime, and what the paper says for that range. */
export function figure16Table(result: Figure16Result): Figure16Row[] {
  return result.ranges.map((r) => {
    const s = summarize(r.samples);
    const p = paperFigure16[r.label];
    return { range: r.label, mean: Math.round(s.mean), median: Math.round(s.median), max: Math.round(s.max), capped: r.capped, paper: p ? p.note : '' };
  });
}

/** Samples as {range, ms} rows, e.g. for a CDF plot. */
export function figure16Samples(result: Figure16Result, suffix = ''): { range: string; ms: number }[] {
  return result.ranges.flatMap((r) => r.samples.map((ms) => ({ range: r.label + suffix, ms })));
}

// ---- Partitions ----

export interface MinorityStory {
  readonly cluster: Cluster;
  readonly oldLeader: NodeId;
  readonly newLeader: NodeId;
  /** The old leader's commit index and log while cut off in the minority. */
  readonly minorityCommitIndex: number;
  readonly minorityLog: readonly unknown[];
  /** Its log after healing. */
  readonly healedLog: readonly unknown[];
}

/**
 * 5 nodes; the leader and one follower are cut off from the other three. Both sides get a command; only the
 * majority commits. Healing makes the old leader a follower whose uncommitted entry is replaced.
 */
export function minorityLeaderStory(seed = 8): MinorityStory {
  const c = new Cluster({ seed, nodes: 5, trace: 'state' });
  c.runUntil((x) => x.leader() !== null);
  c.runFor(200);
  const oldLeader = c.leader()!;
  const others = c.ids.filter((id) => id !== oldLeader);
  c.partition([oldLeader, others[0]!], others.slice(1));
  c.propose({ minority: 'A' }, oldLeader);
  c.runFor(3000);
  const newLeader = c.leaders().find((l) => others.slice(1).includes(l.id))?.id;
  if (!newLeader) throw new Error(`seed ${seed}: the majority side elected nobody`);
  c.propose({ majority: 'B' }, newLeader);
  c.runFor(1000);
  const minorityCommitIndex = c.status(oldLeader).commitIndex;
  const minorityLog = c.status(oldLeader).log.map((e) => e.command);
  c.heal();
  c.runFor(2000);
  return { cluster: c, oldLeader, newLeader, minorityCommitIndex, minorityLog, healedLog: c.status(oldLeader).log.map((e) => e.command) };
}

// ---- PreVote and CheckQuorum ----

export interface RejoinStory {
  readonly cluster: Cluster;
  readonly leader: NodeId;
  readonly isolated: NodeId;
  readonly termBefore: number;
  /** The isolated node's term just before it reconnects. */
  readonly isolatedTerm: number;
  /** The leader after it reconnected (the old one, or a new one in a higher term). */
  readonly leaderAfter: NodeId | null;
  readonly termAfter: number;
}

/** A follower cut off for 3 s, then reconnected, with or without PreVote. */
export function rejoinStory(preVote: boolean, seed = 3): RejoinStory {
  const c = new Cluster({ seed, preVote, trace: 'state' });
  c.runUntil((x) => x.leader() !== null);
  c.runFor(500);
  const leader = c.leader()!;
  const isolated = c.ids.find((id) => id !== leader)!;
  const termBefore = c.status(leader).term;
  c.disconnect(isolated);
  c.runFor(3000);
  const isolatedTerm = c.status(isolated).term;
  c.connect(isolated);
  c.runFor(1000);
  const leaderAfter = c.leader();
  return { cluster: c, leader, isolated, termBefore, isolatedTerm, leaderAfter, termAfter: leaderAfter ? c.status(leaderAfter).term : c.status(leader).term };
}

export interface CutOffLeaderStory {
  readonly cluster: Cluster;
  readonly leader: NodeId;
  readonly cutAt: number;
  /** When the cut-off leader stopped being leader (null: it never did). */
  readonly steppedDownAt: number | null;
  /** Every node that believes it leads at the end. */
  readonly leadersAtEnd: readonly { id: NodeId; term: number }[];
}

/** The leader is disconnected from everyone for 2 s, with or without CheckQuorum. */
export function cutOffLeaderStory(checkQuorum: boolean, seed = 3): CutOffLeaderStory {
  const c = new Cluster({ seed, checkQuorum, trace: 'state' });
  c.runUntil((x) => x.leader() !== null);
  c.runFor(500);
  const leader = c.leader()!;
  const cutAt = c.now;
  c.disconnect(leader);
  c.runFor(2000);
  const down = c.trace.filter('role').find((e) => e.node === leader && e.t >= cutAt && e.role !== 'leader');
  return { cluster: c, leader, cutAt, steppedDownAt: down ? down.t : null, leadersAtEnd: c.leaders() };
}

// ---- The bug zoo ----

/** A known-broken variant of Figure 2 (lib/fuzz/zoo.ts): a replaced rule, or a documented bug of the core. */
export interface Bug {
  readonly name: string;
  readonly description: string;
  readonly rules?: Partial<RaftRules>;
  readonly handlers?: Partial<Handlers>;
  readonly bugs?: ClusterBugs;
}

export interface Catch {
  readonly bug: string;
  /** Which search found it: the nemesis of notebook 02, or the fuzzer's schedules (npm run fuzz). */
  readonly by: 'nemesis' | 'fuzzer';
  readonly seed: number;
  /** 'safety' (a Figure 3 property, named in `property`) or 'liveness' (the cluster stopped making progress). */
  readonly kind: 'safety' | 'liveness' | 'error';
  readonly property: string;
  readonly detail: string;
  readonly time: number;
  /** The node at the event where it happened, when there is one. */
  readonly node: NodeId | null;
  readonly cluster: Cluster;
  /** How many runs were tried before this one was found (this one included). */
  readonly tried: number;
}

/**
 * Search for a run that the broken variant fails, for seed = 1, 2, ... `seeds`: the seed under notebook 02's
 * nemesis (the safety monitor on every event), then the fuzzer's schedule of the same seed (npm run fuzz: the
 * monitor, then a liveness check once every fault is lifted). Deterministic: the same bug always gives the same
 * catch. Null if no run failed.
 */
export function huntBug(bug: Bug, options: { seeds?: number } = {}): Catch | null {
  const extra = { ...(bug.bugs ? { bugs: bug.bugs } : {}), ...(bug.handlers ? { handlers: bug.handlers } : {}) };
  const ruleOptions = { ...(bug.rules ? { rules: bug.rules } : {}), ...extra };
  const seeds = options.seeds ?? 150;
  for (let seed = 1; seed <= seeds; seed++) {
    const { violation, cluster } = runUnderNemesis(seed, bug.rules, extra);
    if (violation) {
      const event = cluster.trace.events.find((e) => e.seq === violation.eventIndex);
      return {
        bug: bug.name, by: 'nemesis', seed, kind: 'safety', property: violation.property, detail: violation.detail,
        time: violation.time, node: event ? event.node : null, cluster, tried: 2 * seed - 1,
      };
    }
    const schedule = generateSchedule(seed);
    if (!runSchedule(schedule, ruleOptions).failure) continue;
    const { failure, cluster: traced } = runSchedule(schedule, { ...ruleOptions, trace: 'state' }); // again, traced, for the plot
    if (!failure) throw new Error(`${bug.name}: fuzzer seed ${seed} failed once and passed when replayed`);
    const event = failure.kind === 'safety' ? traced.trace.events.find((e) => e.seq === failure.eventIndex) : undefined;
    return {
      bug: bug.name, by: 'fuzzer', seed, kind: failure.kind, property: failure.kind === 'safety' ? failure.property : failure.kind,
      detail: failure.detail, time: failure.time, node: event ? event.node : null, cluster: traced, tried: 2 * seed,
    };
  }
  return null;
}

/**
 * The term timeline of a caught run, zoomed on the `windowMs` before the failure, with the failure drawn as a red
 * line and labelled with the property that caught it.
 */
export async function violationTimeline(c: Catch, windowMs = 3000): Promise<string> {
  const from = Math.max(0, c.time - windowMs);
  const until = c.time + windowMs / 15;
  const spec = termTimelineSpec(c.cluster, { until, title: `${c.bug}: ${c.property} (${c.by} seed ${c.seed})`, width: 640 });
  const layers = spec['layer'] as { mark: Record<string, unknown>; encoding?: Record<string, Record<string, unknown>> }[];
  for (const layer of layers) {
    layer.mark = { ...layer.mark, clip: true };
    const x = layer.encoding?.['x'];
    if (x && 'scale' in x) x['scale'] = { domain: [from, until], nice: false };
  }
  const failure = [{ t: c.time, label: `${c.property}${c.node ? ` at ${c.node}` : ''}` }];
  layers.push(
    { mark: { type: 'rule', color: '#d62728', strokeWidth: 2.5 }, encoding: { x: { field: 't', type: 'quantitative' } }, data: { values: failure } } as never,
    {
      mark: { type: 'text', align: 'right', dx: -4, dy: 4, fontSize: 11, fontWeight: 'bold', color: '#d62728', baseline: 'top' },
      encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
      data: { values: failure },
    } as never,
  );
  return renderVegaLite(spec);
}
