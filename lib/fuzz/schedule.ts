import type { NetworkOptions } from '../sim/network';
import { Rng } from '../sim/rng';

/**
 * A random fault schedule as plain data (JSON-printable): which cluster, which options, and a list of timed
 * faults. Nodes are named by their position (0 = 127.0.0.1:8000). The same seed always gives the same schedule,
 * and a schedule with some faults removed still runs (the shrinker relies on it).
 */

/** A network phase: from its time on, the cluster's network behaves like this (until the next phase). */
export interface NetworkPhase {
  readonly loss: number;
  readonly duplicate: number;
  readonly reorder: number;
  readonly longDelay: number;
}

export type Fault =
  | { readonly at: number; readonly kind: 'crash'; readonly node: number }
  | { readonly at: number; readonly kind: 'restart'; readonly node: number }
  /** Crash whichever node leads at that moment (if any), and restart it `downMs` later. */
  | { readonly at: number; readonly kind: 'crash-leader'; readonly downMs: number }
  /** Symmetric partition into groups (every link between groups cut both ways). */
  | { readonly at: number; readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] }
  /** One-way cut: `from` can no longer reach `to`. */
  | { readonly at: number; readonly kind: 'cut'; readonly from: number; readonly to: number }
  /** One of a node's links clogged (both directions), or unclogged again. */
  | { readonly at: number; readonly kind: 'clog'; readonly node: number; readonly peer: number }
  | { readonly at: number; readonly kind: 'unclog'; readonly node: number; readonly peer: number }
  | { readonly at: number; readonly kind: 'heal' }
  /** Whichever node leads at that moment (if any) hands its leadership to node `to` (dissertation 3.10). */
  | { readonly at: number; readonly kind: 'transfer-leader'; readonly to: number }
  /** Membership: add the next spare server (n<nodes>, then n<nodes+1>), or remove node `node` (refused if it leads). */
  | { readonly at: number; readonly kind: 'add-server' }
  | { readonly at: number; readonly kind: 'remove-server'; readonly node: number }
  /** Cut whichever node leads at that moment (if any) off from all others, and reconnect it `forMs` later. */
  | { readonly at: number; readonly kind: 'isolate-leader'; readonly forMs: number }
  | { readonly at: number; readonly kind: 'network'; readonly phase: NetworkPhase };

export type FaultKind = Fault['kind'];

export interface Schedule {
  readonly seed: number;
  readonly nodes: number;
  /** Virtual ms of faults and client writes; then everything heals and liveness is checked. */
  readonly durationMs: number;
  /** A client proposes a write every this many virtual ms. */
  readonly proposeEveryMs: number;
  /** A client reads through ReadIndex every this many virtual ms (0: no reads); each must see every earlier commit. */
  readonly readEveryMs: number;
  /** Log compaction: every node snapshots past this many applied entries (0: never), sent in chunks of this many characters. */
  readonly snapshotEvery: number;
  readonly snapshotChunkChars: number;
  /** Lease reads (only with CheckQuorum): the simulator's clocks do not drift, so the lease must hold exactly. */
  readonly leaseReads: boolean;
  /** With ScheduleOptions.leaderWriteMs: leaders write their new entries while sending them, taking this long (ClusterOptions.leaderWriteMs). */
  readonly leaderWriteMs?: number;
  /**
   * 'newest': to the leader of the highest term; 'sticky': to the node it last reached, until that node refuses
   * (then to the leader it names), like a real client that does not know a newer leader was elected.
   */
  readonly client: 'newest' | 'sticky';
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly leaderNoop: boolean;
  /** Sorted by time. */
  readonly faults: readonly Fault[];
}

export interface ScheduleOptions {
  /** Cluster sizes to draw from, both included. Default 3 to 5. */
  readonly minNodes?: number;
  readonly maxNodes?: number;
  /** Default 10,000 virtual ms. */
  readonly durationMs?: number;
  /** Average faults per virtual second. Default: drawn per seed from 0.5, 1, 2, 4, 8 (swarm testing). */
  readonly faultsPerSecond?: number;
  /**
   * Leaders write in parallel with sending (dissertation 10.2.1), each seed's writes taking a time drawn from
   * 0 to this many virtual ms (a stream of its own: the rest of the seed's schedule is unchanged). Default off.
   */
  readonly leaderWriteMs?: number;
}

export const calmPhase: NetworkPhase = Object.freeze({ loss: 0, duplicate: 0, reorder: 0, longDelay: 0 });

/** The schedule's random choices use their own stream, apart from the cluster's (which is seeded with `seed`). */
function scheduleRng(seed: number): Rng {
  return new Rng((Math.trunc(seed) ^ 0x5eed_f00d) >>> 0);
}

export function generateSchedule(seed: number, options: ScheduleOptions = {}): Schedule {
  const minNodes = options.minNodes ?? 3;
  const maxNodes = options.maxNodes ?? 5;
  if (!(Number.isInteger(minNodes) && Number.isInteger(maxNodes) && minNodes >= 1 && maxNodes >= minNodes)) {
    throw new RangeError(`node counts must be integers with 1 <= min <= max, got ${minNodes}-${maxNodes}`);
  }
  const durationMs = options.durationMs ?? 10_000;
  const rng = scheduleRng(seed);
  const nodes = rng.int(minNodes, maxNodes);
  const proposeEveryMs = rng.pick([10, 25, 50, 100, 250]);
  const preVote = rng.chance(0.25);
  const checkQuorum = rng.chance(0.25);
  const leaderNoop = rng.chance(0.25);
  const client = rng.chance(0.5) ? 'sticky' : 'newest';
  // Swarm testing (Groce et al. 2012): each seed uses its own mix of fault kinds and its own fault rate, so
  // some seeds hammer one kind of fault that a uniform mix would dilute.
  const kinds = ['crash', 'crash-leader', 'isolate-leader', 'partition', 'cut', 'clog', 'heal', 'network'] as const;
  const usable = nodes > 1 ? kinds : (['crash', 'crash-leader', 'network'] as const);
  // Faults aimed at the leader (Jepsen's "kill the primary") find more than faults at a random node: more often on, heavier.
  let weights = usable.map((k) =>
    k.endsWith('-leader') ? (rng.chance(0.8) ? rng.uniform(0.5, 2) : 0) : rng.chance(0.6) ? rng.uniform(0.2, 1) : 0,
  );
  // A third of the seeds aim at nothing but the leader, and often.
  const leaderOnly = rng.chance(0.33);
  if (leaderOnly) weights = usable.map((k) => (k.endsWith('-leader') ? 1 : 0));
  if (weights.every((w) => w === 0)) weights = usable.map(() => 1);
  const total = weights.reduce((a, b) => a + b, 0);
  const rate = options.faultsPerSecond ?? rng.pick(leaderOnly ? [4, 8, 16] : [0.5, 1, 2, 4, 8]);

  const count = Math.round((durationMs / 1000) * rate * rng.uniform(0.5, 1.5));
  const faults: Fault[] = [];
  const other = (node: number): number => (node + rng.int(1, nodes - 1)) % nodes;
  for (let k = 0; k < count; k++) {
    const at = round(rng.uniform(0, durationMs));
    let roll = rng.uniform(0, total);
    let i = 0;
    while (i < usable.length - 1 && roll >= weights[i]!) roll -= weights[i++]!;
    const kind = usable[i]!;
    const node = rng.int(0, nodes - 1);
    if (kind === 'isolate-leader') {
      faults.push({ at, kind: 'isolate-leader', forMs: round(rng.uniform(10, 1000)) });
    } else if (kind === 'crash-leader') {
      faults.push({ at, kind: 'crash-leader', downMs: round(rng.uniform(10, 1000)) });
    } else if (kind === 'crash') {
      faults.push({ at, kind: 'crash', node });
      const back = round(at + rng.uniform(10, 2000));
      if (back < durationMs) faults.push({ at: back, kind: 'restart', node });
    } else if (kind === 'partition') {
      const shuffled = rng.shuffle(Array.from({ length: nodes }, (_, j) => j));
      const split = rng.int(1, nodes - 1);
      faults.push({ at, kind: 'partition', groups: [shuffled.slice(0, split).sort(), shuffled.slice(split).sort()] });
    } else if (kind === 'cut') {
      faults.push({ at, kind: 'cut', from: node, to: other(node) });
    } else if (kind === 'clog') {
      // A node's links clogged one by one, then unclogged one by one.
      const peers = rng.shuffle(Array.from({ length: nodes }, (_, j) => j).filter((p) => p !== node));
      let t = at;
      for (const peer of peers) {
        t += rng.uniform(5, 200);
        faults.push({ at: round(t), kind: 'clog', node, peer });
      }
      for (const peer of rng.shuffle(peers)) {
        t += rng.uniform(5, 400);
        faults.push({ at: round(t), kind: 'unclog', node, peer });
      }
    } else if (kind === 'heal') {
      faults.push({ at, kind: 'heal' });
    } else {
      const phase: NetworkPhase = rng.chance(0.3)
        ? calmPhase
        : {
            loss: rng.chance(0.5) ? round(rng.uniform(0, 0.3)) : 0,
            duplicate: rng.chance(0.4) ? round(rng.uniform(0, 0.2)) : 0,
            reorder: rng.chance(0.4) ? round(rng.uniform(0, 0.3)) : 0,
            longDelay: rng.chance(0.3) ? round(rng.uniform(0, 0.05)) : 0,
          };
      faults.push({ at, kind: 'network', phase });
    }
  }
  // Reads and leadership transfers draw from a stream of their own, so every other choice above stays as it was
  // before they existed (seeds found earlier replay the same faults).
  const more = new Rng((Math.trunc(seed) ^ 0x7ea5_1e55) >>> 0);
  const readEveryMs = more.chance(0.5) ? more.pick([10, 50, 200]) : 0;
  const snapshotEvery = more.chance(0.4) ? more.pick([3, 10, 50, 200]) : 0;
  const snapshotChunkChars = more.pick([8, 64, 8192]);
  if (more.chance(0.3)) {
    // Up to two servers join, and servers leave (the spares included), one change at a time as the leader allows.
    const changes = more.int(1, 6);
    for (let k = 0; k < changes; k++) {
      const at = round(more.uniform(0, durationMs));
      if (more.chance(0.5)) faults.push({ at, kind: 'add-server' });
      else faults.push({ at, kind: 'remove-server', node: more.int(0, nodes + 1) });
    }
  }
  if (nodes > 1 && more.chance(0.4)) {
    const transfers = Math.round((durationMs / 1000) * more.pick([0.5, 1, 2, 4]));
    for (let k = 0; k < transfers; k++) faults.push({ at: round(more.uniform(0, durationMs)), kind: 'transfer-leader', to: more.int(0, nodes - 1) });
  }
  const leaseReads = checkQuorum && more.chance(0.5);
  const kept = faults.filter((f) => f.at < durationMs);
  kept.sort((a, b) => a.at - b.at);
  const schedule: Schedule = { seed, nodes, durationMs, proposeEveryMs, readEveryMs, snapshotEvery, snapshotChunkChars, leaseReads, client, preVote, checkQuorum, leaderNoop, faults: kept };
  if (options.leaderWriteMs === undefined) return schedule;
  if (!(options.leaderWriteMs >= 0 && Number.isFinite(options.leaderWriteMs))) throw new RangeError(`leaderWriteMs must be a number of virtual ms >= 0, got ${options.leaderWriteMs}`);
  const writes = new Rng((Math.trunc(seed) ^ 0x1ead_0001) >>> 0);
  return { ...schedule, leaderWriteMs: round(writes.uniform(0, options.leaderWriteMs)) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The cluster network for a phase: base latency 1-10 ms, reordering within 50 ms, long delays of 200-2200 ms. */
export function networkFor(phase: NetworkPhase): Partial<NetworkOptions> {
  return {
    latency: { kind: 'uniform', min: 1, max: 10 },
    loss: phase.loss,
    duplicate: phase.duplicate,
    reorder: phase.reorder,
    reorderWindow: 50,
    longDelay: { probability: phase.longDelay, min: 200, max: 2200 },
  };
}

/** One line per fault, for reports: "  1234.567 ms  crash n2". */
export function describeFault(f: Fault): string {
  const n = (i: number): string => `n${i}`;
  const what = ((): string => {
    switch (f.kind) {
      case 'crash':
      case 'restart':
        return `${f.kind} ${n(f.node)}`;
      case 'crash-leader':
        return `crash the leader, restart it ${f.downMs} ms later`;
      case 'partition':
        return `partition ${f.groups.map((g) => `{${g.map(n).join(',')}}`).join(' | ')}`;
      case 'cut':
        return `cut ${n(f.from)} -> ${n(f.to)}`;
      case 'clog':
      case 'unclog':
        return `${f.kind} ${n(f.node)} <-> ${n(f.peer)}`;
      case 'heal':
        return 'heal all links';
      case 'isolate-leader':
        return `isolate the leader, reconnect it ${f.forMs} ms later`;
      case 'transfer-leader':
        return `the leader hands its leadership to ${n(f.to)}`;
      case 'add-server':
        return 'add the next spare server';
      case 'remove-server':
        return `remove ${n(f.node)}`;
      case 'network':
        return `network loss=${f.phase.loss} duplicate=${f.phase.duplicate} reorder=${f.phase.reorder} longDelay=${f.phase.longDelay}`;
    }
  })();
  return `${f.at.toFixed(3).padStart(10)} ms  ${what}`;
}

export function describeSchedule(s: Schedule): string {
  const head =
    `seed ${s.seed}: ${s.nodes} nodes (n0 = 127.0.0.1:8000), ${s.durationMs} virtual ms, a write every ${s.proposeEveryMs} ms (${s.client} client)` +
    `${s.readEveryMs > 0 ? `, a read every ${s.readEveryMs} ms` : ''}` +
    `${s.snapshotEvery > 0 ? `, a snapshot every ${s.snapshotEvery} entries (chunks of ${s.snapshotChunkChars})` : ''}` +
    `${s.preVote ? ', PreVote' : ''}${s.checkQuorum ? ', CheckQuorum' : ''}${s.leaseReads ? ', lease reads' : ''}${s.leaderNoop ? ', leader no-op' : ''}` +
    `${s.leaderWriteMs !== undefined ? `, leaders write in parallel (${s.leaderWriteMs} ms)` : ''}`;
  return [head, `${s.faults.length} faults:`, ...s.faults.map(describeFault)].join('\n');
}
