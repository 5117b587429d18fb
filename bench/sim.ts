/**
 * The simulator suite: how fast the in-process cluster runs, and the paper's Figure 16 on top of it.
 *
 * - sim.deliveries_per_s: messages delivered per wall-clock second on a busy 5-node cluster (a proposal every
 *   virtual millisecond, default network, trace 'state', safety monitor on), median of three 20 s runs.
 * - sim.virtual_hour_5nodes_*: wall seconds for one virtual hour of 5 nodes with 50 ms heartbeats and a
 *   proposal every 100 ms, with trace 'state' (the primary number), 'all' and 'off'. The safety monitor is on
 *   in all three. Each run is a fresh cluster after a garbage collection; the JIT is warmed up first, and the
 *   warm-up clusters stay alive until the end: a forced full collection with no cluster left alive frees the
 *   hidden classes of its objects, which throws away the optimized code and type feedback built on them (the
 *   first virtual seconds of the next run then ran up to 8 times slower, which no run outside the benchmark sees).
 * - sim.scheduler_events_per_s: the bare scheduler beside them (events scheduled and popped per wall second, each
 *   popped event scheduling the next 1-5 virtual ms later, 64 pending as in the busy cluster), so the ratio of
 *   Raft work to scheduling can be read. Median of three runs of 2 million events.
 * - fig16.*: see figure16.ts; the sweep runs on one worker thread per core (figure16-parallel.ts), and
 *   fig16.wall_s is its wall time, worker start-up included.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Cluster } from '../lib/sim/cluster';
import { Rng } from '../lib/sim/rng';
import { Scheduler } from '../lib/sim/scheduler';
import type { TraceLevel } from '../lib/sim/trace';
import { slowReplies, summarize, type RangeResult } from '../lib/course/figure16';
import { runFigure16Parallel } from './figure16-parallel';
import type { Metric } from './metrics';

export interface SimSuiteOptions {
  /** Figure 16 trials per timeout range. Default: the paper's (1000, and 100 for 150-150). */
  readonly trials?: number;
  /**
   * Length of each "virtual hour" run, in virtual minutes (default 60). Shorter runs are scaled up to an hour
   * (for quick runs only: the result is then an extrapolation).
   */
  readonly virtualMinutes?: number;
  /** Progress messages (the CLI prints them to stderr in table mode). */
  readonly log?: (message: string) => void;
}

const HOUR_MS = 3_600_000;

/** global.gc when node runs with --expose-gc; otherwise switch the flag on and fetch it. */
function findGc(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** A client that proposes a small command every `everyMs` of virtual time, to whoever leads. */
function trickle(cluster: Cluster, everyMs: number): void {
  let n = 0;
  const tick = (): void => {
    cluster.propose({ n: n++ });
    cluster.after(everyMs, tick);
  };
  cluster.after(everyMs, tick);
}

function fiveNodes(trace: TraceLevel): Cluster {
  return new Cluster({ nodes: 5, seed: 1, trace, timings: { heartbeatInterval: 50 } });
}

interface Run {
  readonly wallMs: number;
  readonly deliveries: number;
  readonly cluster: Cluster;
}

/** Build a fresh cluster (not timed), then time only `runFor(virtualMs)`. */
function timedRun(trace: TraceLevel, virtualMs: number, proposalEveryMs: number, gc: (() => void) | null): Run {
  gc?.();
  const cluster = fiveNodes(trace);
  trickle(cluster, proposalEveryMs);
  const start = performance.now();
  cluster.runFor(virtualMs);
  const wallMs = performance.now() - start;
  return { wallMs, deliveries: cluster.deliveries, cluster };
}

/** Wall ms for `events` pops of the bare scheduler, each popped event scheduling one more (64 kept pending). */
function schedulerRun(events: number): number {
  const scheduler = new Scheduler<number>();
  const rng = new Rng(1);
  for (let i = 0; i < 64; i++) scheduler.schedule(rng.uniform(1, 5), i);
  const start = performance.now();
  for (let i = 0; i < events; i++) {
    const event = scheduler.pop()!;
    scheduler.schedule(scheduler.now + rng.uniform(1, 5), event);
  }
  return performance.now() - start;
}

function median(values: readonly number[]): number {
  return summarize(values).median;
}

export async function runSim(options: SimSuiteOptions = {}): Promise<Metric[]> {
  const log = options.log ?? (() => {});
  const virtualMinutes = options.virtualMinutes ?? 60;
  if (!(virtualMinutes > 0)) throw new RangeError(`virtualMinutes must be positive, got ${virtualMinutes}`);
  const hourMs = virtualMinutes * 60_000;
  const toHour = HOUR_MS / hourMs;
  const gc = findGc();
  const metrics: Metric[] = [];

  // Warm the JIT on the same code paths so the first measured run does not pay for compilation. The warm-up
  // clusters are kept (see above: the collection before each run would otherwise undo the warm-up).
  const scale = virtualMinutes / 60;
  const warm = [
    timedRun('state', Math.max(1_000, 10_000 * scale), 1, gc).cluster,
    timedRun('all', Math.max(1_000, 60_000 * scale), 10, gc).cluster,
  ];

  log('sim: busy cluster (a proposal every virtual ms), median of 3 runs');
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const busy = timedRun('state', Math.max(1_000, 20_000 * scale), 1, gc);
    rates.push(busy.deliveries / (busy.wallMs / 1000));
  }
  metrics.push({ metric: 'sim.deliveries_per_s', value: median(rates), unit: 'deliveries/s' });

  log('sim: the bare scheduler (push and pop), median of 3 runs');
  schedulerRun(200_000);
  const schedulerRates = [0, 1, 2].map(() => 2_000_000 / (schedulerRun(2_000_000) / 1000));
  metrics.push({ metric: 'sim.scheduler_events_per_s', value: median(schedulerRates), unit: 'events/s' });

  const levels: [TraceLevel, string][] = [
    ['state', 'sim.virtual_hour_5nodes_wall_s'],
    ['all', 'sim.virtual_hour_5nodes_full_trace_wall_s'],
    ['off', 'sim.virtual_hour_5nodes_no_trace_wall_s'],
  ];
  for (const [level, name] of levels) {
    log(`sim: ${virtualMinutes} virtual minutes of 5 nodes, trace '${level}'`);
    const run = timedRun(level, hourMs, 100, gc);
    metrics.push({ metric: name, value: (run.wallMs / 1000) * toHour, unit: 's' });
  }

  warm.length = 0;

  log(`fig16: ${options.trials ?? "the paper's 1000 (100 for 150-150)"} trials per timeout range`);
  gc?.();
  const fig = await runFigure16Parallel({
    ...(options.trials !== undefined ? { trials: options.trials } : {}),
    onRange: (r) => log(`fig16: ${r.label} done (${(r.wallMs / 1000).toFixed(2)} s of worker time)`),
  });
  for (const r of fig.ranges) metrics.push(...figure16Metrics(r));
  metrics.push({ metric: 'fig16.wall_s', value: fig.wallMs / 1000, unit: 's' });

  log('fig16_slow_replies: the headline ranges again, with the round trip spent mostly on the reply');
  const slow = await runFigure16Parallel({
    ...(options.trials !== undefined ? { trials: options.trials } : {}),
    ranges: [{ min: 150, max: 155 }, { min: 150, max: 200 }, { min: 12, max: 24 }],
    latencyByType: slowReplies,
  });
  for (const r of slow.ranges) metrics.push(...figure16Metrics(r, 'fig16_slow_replies'));
  return metrics;
}

/** What section 9.3 states in numbers (Figure 16 itself is a plot). */
const paperFigures: Record<string, { mean?: number; median?: number; max?: number; note?: string }> = {
  // "In the absence of randomness, leader election consistently took longer than 10 seconds."
  '150-150': { median: 10_000, note: 'more than' },
  // "Adding just 5 ms of randomness ... a median downtime of 287 ms."
  '150-155': { median: 287 },
  // "With 50 ms of randomness the worst-case completion time (over 1000 trials) was 513 ms."
  '150-200': { max: 513 },
  // "With an election timeout of 12-24 ms, it takes only 35 ms on average ... (the longest trial took 152 ms)."
  '12-24': { mean: 35, max: 152 },
};

export function figure16Metrics(r: RangeResult, prefix = 'fig16'): Metric[] {
  const s = summarize(r.samples);
  const paper = paperFigures[r.label] ?? {};
  const with_ = (name: 'mean' | 'median' | 'max', value: number): Metric => {
    const p = paper[name];
    return {
      metric: `${prefix}.${r.label}.${name}_ms`,
      value,
      unit: 'ms',
      ...(p !== undefined ? { paper: p } : {}),
      ...(p !== undefined && paper.note ? { paperNote: paper.note } : {}),
    };
  };
  return [
    with_('mean', s.mean),
    with_('median', s.median),
    with_('max', s.max),
    { metric: `${prefix}.${r.label}.capped`, value: r.capped, unit: 'trials' },
  ];
}
