import type { MessageType, NodeId } from '../raft/types';
import type { Rng } from './rng';

/** One-way message latency in virtual milliseconds. */
export type Latency =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number }
  | { readonly kind: 'normal'; readonly mean: number; readonly stddev: number; readonly min?: number }
  | { readonly kind: 'exponential'; readonly base: number; readonly mean: number };

export interface NetworkOptions {
  readonly latency: Latency;
  /**
   * A different latency for some message types, e.g. replies that wait for a disk write on the receiver
   * (LogCabin persists a vote before answering). Types not listed use `latency`.
   */
  readonly latencyByType?: Partial<Record<MessageType, Latency>>;
  /** Probability that a message is lost. */
  readonly loss: number;
  /** Probability that a message is delivered twice (the copy gets its own latency). */
  readonly duplicate: number;
  /** Probability that a message is held back by up to `reorderWindow` ms extra, overtaking others. */
  readonly reorder: number;
  readonly reorderWindow: number;
  /** Rare long delays (6.5840's "long reordering": 200-2200 ms). */
  readonly longDelay: { readonly probability: number; readonly min: number; readonly max: number };
}

export const reliableNetwork: NetworkOptions = Object.freeze<NetworkOptions>({
  latency: { kind: 'uniform', min: 1, max: 5 },
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderWindow: 0,
  longDelay: { probability: 0, min: 0, max: 0 },
});

/** Like MIT 6.5840's unreliable labrpc: 10% lost, 0-26 ms delays, some replies held back for a long time. */
export const unreliableNetwork: NetworkOptions = Object.freeze<NetworkOptions>({
  latency: { kind: 'uniform', min: 0, max: 26 },
  loss: 0.1,
  duplicate: 0.02,
  reorder: 0.1,
  reorderWindow: 100,
  longDelay: { probability: 0.01, min: 200, max: 2200 },
});

export function validateNetwork(options: NetworkOptions): void {
  const probabilities: [string, number][] = [
    ['loss', options.loss],
    ['duplicate', options.duplicate],
    ['reorder', options.reorder],
    ['longDelay.probability', options.longDelay.probability],
  ];
  for (const [field, p] of probabilities) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`network.${field} must be a probability in [0, 1], got ${p}`);
  }
  validateLatency(options.latency, 'network.latency');
  for (const [type, latency] of Object.entries(options.latencyByType ?? {})) {
    if (!['RequestVote', 'RequestVoteReply', 'AppendEntries', 'AppendEntriesReply', 'TimeoutNow', 'InstallSnapshot', 'InstallSnapshotReply'].includes(type)) {
      throw new RangeError(`network.latencyByType: unknown message type "${type}"`);
    }
    validateLatency(latency!, `network.latencyByType.${type}`);
  }
}

function validateLatency(l: Latency, where: string): void {
  const bad = (field: string, v: number) => {
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${where}.${field} must be >= 0, got ${v}`);
  };
  switch (l.kind) {
    case 'fixed': bad('ms', l.ms); break;
    case 'uniform': bad('min', l.min); bad('max', l.max); if (l.max < l.min) throw new RangeError(`${where}.max must be >= min`); break;
    case 'normal': bad('mean', l.mean); bad('stddev', l.stddev); break;
    case 'exponential': bad('base', l.base); bad('mean', l.mean); break;
    default: throw new RangeError(`${where}.kind must be fixed, uniform, normal or exponential`);
  }
}

export function sampleLatency(latency: Latency, rng: Rng): number {
  switch (latency.kind) {
    case 'fixed': return latency.ms;
    case 'uniform': return rng.uniform(latency.min, latency.max);
    case 'normal': return Math.max(latency.min ?? 0, rng.normal(latency.mean, latency.stddev));
    case 'exponential': return latency.base + rng.exponential(latency.mean);
  }
}

/** Which directed links are cut. A symmetric partition cuts both directions; a one-way cut only one. */
export class Links {
  private readonly cut = new Map<NodeId, Set<NodeId>>();

  /** How many directed links are cut (asked on every message: most of the time none is). */
  private cutCount = 0;

  isCut(from: NodeId, to: NodeId): boolean {
    if (this.cutCount === 0) return false;
    const s = this.cut.get(from);
    return s !== undefined && s.has(to);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    let s = this.cut.get(from);
    if (!s) this.cut.set(from, (s = new Set()));
    if (!s.has(to)) {
      s.add(to);
      this.cutCount++;
    }
  }

  restoreOneWay(from: NodeId, to: NodeId): void {
    if (this.cut.get(from)?.delete(to)) this.cutCount--;
  }

  /** Cut every link between nodes of different groups. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]!) for (const b of groups[j]!) this.cutOneWay(a, b);
      }
    }
  }

  isolate(node: NodeId, all: readonly NodeId[]): void {
    for (const other of all) {
      if (other === node) continue;
      this.cutOneWay(node, other);
      this.cutOneWay(other, node);
    }
  }

  reconnect(node: NodeId, all: readonly NodeId[]): void {
    this.cutCount -= this.cut.get(node)?.size ?? 0;
    this.cut.delete(node);
    for (const other of all) this.restoreOneWay(other, node);
  }

  healAll(): void {
    this.cut.clear();
    this.cutCount = 0;
  }

  get anyCut(): boolean {
    for (const s of this.cut.values()) if (s.size > 0) return true;
    return false;
  }

  describe(): string[] {
    const out: string[] = [];
    for (const [from, tos] of this.cut) for (const to of tos) out.push(`${from} -> ${to}`);
    return out;
  }
}
