import { EntryOverwrittenError, NodeStoppedError, NotLeaderError, ProposalTimeoutError, WaitTimeoutError } from '../errors';
import type { Command, NodeId, Role } from '../raft/types';
import type { Cluster } from '../sim/cluster';
import type { Committed, ConsensusNode, ProposeOptions } from './consensus-node';

/**
 * A node of the in-process cluster behind the raftos-style API. Awaiting on it runs the cluster's
 * virtual clock until the answer is known, so `await data.set(1)` in a notebook takes no wall time.
 */
export class SimNode implements ConsensusNode {
  constructor(readonly cluster: Cluster, readonly id: NodeId) {
    cluster.status(id); // throws a clear error for an unknown id
  }

  get role(): Role | 'down' {
    return this.cluster.raft(this.id)?.role ?? 'down';
  }

  getLeader(): NodeId | null {
    const core = this.cluster.raft(this.id);
    if (!core) return null;
    return core.role === 'leader' ? this.id : core.leaderId;
  }

  async propose(command: Command, options: ProposeOptions = {}): Promise<Committed> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const result = this.cluster.propose(command, this.id);
    if (!result.accepted) {
      if (!this.cluster.isAlive(this.id)) throw new NodeStoppedError(this.id);
      throw new NotLeaderError(this.id, result.leaderId);
    }
    const { index, term } = result;
    const done = () => this.cluster.appliedAt(this.id, index) !== undefined || !this.cluster.isAlive(this.id);
    this.cluster.runUntil(done, { timeout: timeoutMs });
    const applied = this.cluster.appliedAt(this.id, index);
    if (applied) {
      if (applied.term !== term) throw new EntryOverwrittenError(this.id, index, term);
      return { index, term };
    }
    if (!this.cluster.isAlive(this.id)) throw new NodeStoppedError(this.id);
    throw new ProposalTimeoutError(this.id, index, timeoutMs);
  }

  readLocal(key: string): unknown {
    return this.cluster.stateMachine(this.id).get(key);
  }

  async waitUntilLeader(leader: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!this.cluster.runUntil(() => this.getLeader() === leader, { timeout: timeoutMs })) {
      throw new WaitTimeoutError(`${this.id} to see ${leader} as leader`, timeoutMs);
    }
  }

  /** Like Ctrl+C: the node crashes, keeping what it persisted. */
  async stop(): Promise<void> {
    this.cluster.crash(this.id);
  }
}
