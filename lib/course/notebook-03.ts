import { InvariantViolation, Cluster } from '../sim/cluster';
import { Rng } from '../sim/rng';
import { createRaftNode } from '../raft/node';
import type { NodeId } from '../raft/types';
import { persistentStateOf, restartDifference, restartThrough, type Restore } from './restore';

/**
 * Notebook 03 (persistence and crash recovery): raftos's files as Figure 2's persistent state, and the
 * restart path through the student's `restore`.
 */

export { raftosFiles, type Restore } from './restore';

export interface ChurnResult {
  readonly seed: number;
  readonly violation: InvariantViolation | null;
  readonly cluster: Cluster;
  readonly restarts: number;
  readonly committed: number;
}

/**
 * Crash/restart churn (6.5840's Persist and churn tests, in one loop): proposals, crashes of the leader and of
 * followers, whole-cluster restarts, with the safety monitor on every event. Every restart goes through
 * `restore`, so a restore that loses the term, the vote or the log lets the monitor catch it.
 */
export function churn(restore: Restore, seed: number, rounds = 120, nodes = 3): ChurnResult {
  const cluster = new Cluster({ nodes, seed, trace: 'state', createNode: restartThrough(restore, createRaftNode) });
  const rng = new Rng(seed * 7919 + 17);
  let restarts = 0;
  let command = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      cluster.runFor(rng.int(20, 400));
      const leader = cluster.leader();
      const down = cluster.ids.filter((id) => !cluster.status(id).alive);
      switch (rng.int(0, 6)) {
        case 0:
        case 1:
          for (let k = rng.int(1, 3); k > 0; k--) cluster.propose({ data_id: ++command });
          break;
        case 2:
          if (leader) cluster.crash(leader);
          break;
        case 3:
          cluster.crash(rng.pick(cluster.ids));
          break;
        case 4:
        case 5:
          if (down.length > 0) {
            cluster.restart(rng.pick(down));
            restarts++;
          }
          break;
        case 6: // Persist1: everyone crashes and comes back
          for (const id of cluster.ids) if (cluster.status(id).alive) cluster.crash(id);
          for (const id of cluster.ids) cluster.restart(id);
          restarts += cluster.ids.length;
          break;
      }
    }
    for (const id of cluster.ids) if (!cluster.status(id).alive) cluster.restart(id);
    cluster.runFor(2000);
  } catch (error) {
    if (error instanceof InvariantViolation) return { seed, violation: error, cluster, restarts, committed: cluster.safety?.committedIndex ?? 0 };
    throw error;
  }
  return { seed, violation: null, cluster, restarts, committed: cluster.safety?.committedIndex ?? 0 };
}

/** Churn on several seeds; throws with the first violation, naming the property and the seed. */
export function checkChurn(restore: Restore, seeds: readonly number[]): string {
  let committed = 0;
  let restarts = 0;
  for (const seed of seeds) {
    const r = churn(restore, seed);
    if (r.violation) throw new Error(`seed ${seed}: ${r.violation.property} violated: ${r.violation.detail.split('\n')[0]}`);
    committed += r.committed;
    restarts += r.restarts;
  }
  if (committed === 0) throw new Error('nothing was committed in any run: do restarted nodes get their log back?');
  return `${seeds.length} seeds, ${restarts} restarts, ${committed} entries committed, monitor silent`;
}

/** After a restart, a node's state must be exactly what it persisted. */
export function checkRestartsExact(restore: Restore, seeds: readonly number[]): void {
  for (const seed of seeds) {
    const c = new Cluster({ nodes: 3, seed, createNode: restartThrough(restore, createRaftNode) });
    c.runUntil((x) => x.leader() !== null, { timeout: 3000 });
    for (let i = 1; i <= 4; i++) c.propose({ data_id: i });
    c.runFor(300);
    for (const id of c.ids) {
      const before = persistentStateOf(c.status(id));
      c.crash(id);
      c.restart(id);
      const lost = restartDifference(before, persistentStateOf(c.status(id)));
      if (lost) throw new Error(`seed ${seed}: ${id} restarted with ${lost}`);
      c.runFor(200);
    }
  }
}

/** Which nodes voted for whom in which term (from the trace), to show a forgotten vote. */
export function votesByTerm(cluster: Cluster): Map<number, Map<NodeId, NodeId>> {
  const out = new Map<number, Map<NodeId, NodeId>>();
  for (const e of cluster.trace.events) {
    if (e.kind === 'vote') {
      const m = out.get(e.term) ?? new Map<NodeId, NodeId>();
      m.set(e.node, e.candidate);
      out.set(e.term, m);
    }
  }
  return out;
}
