import { EntryOverwrittenError, NodeStoppedError, NotLeaderError, ProposalTimeoutError, WaitTimeoutError } from '../errors';
import type { Command, NodeId, Role } from '../raft/types';
import type { Cluster } from '../sim/cluster';
import type { Committed, ConsensusNode, ProposeOptions } from '../raft/consensus-node';

export interface SimNodeOptions {
  /**
   * 'self' (default): awaiting on the node runs the cluster's virtual clock until the answer is known,
   * so `await data.set(1)` in a notebook takes no wall time.
   * 'external': something else runs the clock (runVirtual, several programs at once); awaits resolve
   * when the cluster gets there.
   */
  readonly drive?: 'self' | 'external';
}

/** A node of the in-process cluster behind the raftos-style API. */
export class SimNode implements ConsensusNode {
  readonly drive: 'self' | 'external';

  constructor(readonly cluster: Cluster, readonly id: NodeId, options: SimNodeOptions = {}) {
    cluster.status(id); // throws a clear error for an unknown id
    this.drive = options.drive ?? 'self';
  }

  get owner(): object {
    return this.cluster;
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
    const settled = () => this.cluster.appliedAt(this.id, index) !== undefined || !this.cluster.isAlive(this.id);
    await this.waitFor(settled, timeoutMs);
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
    if (!(await this.waitFor(() => this.getLeader() === leader, timeoutMs))) {
      throw new WaitTimeoutError(`${this.id} to see ${leader} as leader`, timeoutMs);
    }
  }

  /** Like Ctrl+C: the node crashes, keeping what it persisted. */
  async stop(): Promise<void> {
    this.cluster.crash(this.id);
  }

  /** Wait (in virtual time) until `condition` holds or `timeoutMs` pass; resolves to whether it held. */
  private waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (this.drive === 'self') return Promise.resolve(this.cluster.runUntil(condition, { timeout: timeoutMs }));
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      let done = false;
      const finish = (value: boolean) => {
        if (done) return;
        done = true;
        unsubscribe();
        resolve(value);
      };
      const unsubscribe = this.cluster.trace.observe(() => {
        if (condition()) finish(true);
      });
      this.cluster.after(timeoutMs, () => finish(condition()));
    });
  }
}

/**
 * Run the cluster's clock while async programs (using SimNodes with drive 'external') make progress:
 * after every event, pending promise callbacks run before the next event. Stops when `done()` holds,
 * nothing is left to do, or the virtual time reaches `until`.
 */
export async function runVirtual(cluster: Cluster, done: () => boolean, options: { until: number }): Promise<boolean> {
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  await flush();
  while (!done()) {
    if (cluster.nextEventTime() > options.until) {
      cluster.runUntilTime(options.until);
      return done();
    }
    cluster.step();
    await flush();
  }
  return true;
}
