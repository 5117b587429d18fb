import { Cluster } from '../sim/cluster';
import type { NodeId } from '../raft/types';

/**
 * Notebook 01's demos (not graded): a real split vote.
 */

export interface SplitVote {
  readonly seed: number;
  readonly cluster: Cluster;
  /** The term in which candidates ran and nobody won. */
  readonly term: number;
  readonly candidates: readonly NodeId[];
  /** The term that then elected a leader, and who. */
  readonly wonTerm: number;
  readonly winner: NodeId;
}

/**
 * The first seed (from `fromSeed`) on which a 5-node cluster, after its first leader crashes, has a term in which
 * two or more candidates ran and none won: a split vote. Election timeouts are narrowed to 150-160 ms so that
 * survivors time out close together, as they would without enough randomness.
 */
export function findSplitVote(fromSeed = 1, maxSeeds = 300): SplitVote {
  for (let seed = fromSeed; seed < fromSeed + maxSeeds; seed++) {
    const cluster = new Cluster({ nodes: 5, seed, trace: 'all', timings: { electionTimeout: { min: 150, max: 160 } } });
    if (!cluster.runUntil((c) => c.leader() !== null, { timeout: 5000 })) continue;
    const first = cluster.leader()!;
    cluster.runFor(100);
    cluster.crash(first);
    const crashedAt = cluster.now;
    cluster.runUntil((c) => c.leader() !== null, { timeout: 10_000 });
    const winner = cluster.leader();
    if (winner === null) continue;
    const roles = cluster.trace.filter('role').filter((e) => e.t > crashedAt);
    const candidatesByTerm = new Map<number, Set<NodeId>>();
    const led = new Set<number>();
    for (const e of roles) {
      if (e.role === 'candidate') candidatesByTerm.set(e.term, (candidatesByTerm.get(e.term) ?? new Set()).add(e.node));
      if (e.role === 'leader') led.add(e.term);
    }
    for (const [term, who] of candidatesByTerm) {
      if (who.size >= 2 && !led.has(term)) {
        cluster.runFor(60);
        return { seed, cluster, term, candidates: [...who].sort(), wonTerm: cluster.status(winner).term, winner };
      }
    }
  }
  throw new Error(`no split vote in seeds ${fromSeed}..${fromSeed + maxSeeds - 1}`);
}
