import { abortAddition, MembershipError, NodeStoppedError, NotLeaderError, TransferError, WaitTimeoutError } from '../errors';
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
    const self = this.drive === 'self';
    // The proposal tracker settles it from what the node applies and from its role changes (lib/raft/proposals.ts).
    const { proposal, tracked } = this.cluster.proposeAndTrack(command, this.id, { timeoutMs, timer: self ? 'none' : 'virtual' });
    if (!proposal.accepted) {
      if (!this.cluster.isAlive(this.id)) throw new NodeStoppedError(this.id);
      throw new NotLeaderError(this.id, proposal.leaderId);
    }
    if (self) {
      // Run the virtual clock until the tracker has settled it, or the timeout passes.
      this.cluster.runUntil(() => tracked!.settled, { timeout: timeoutMs });
      this.cluster.expireProposal(this.id, tracked!, timeoutMs);
    }
    return tracked!.promise;
  }

  async read(options: ProposeOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const self = this.drive === 'self';
    const tracked = this.cluster.readAndTrack(this.id, { timeoutMs, timer: self ? 'none' : 'virtual' });
    if (!tracked) throw new NodeStoppedError(this.id);
    if (self) {
      this.cluster.runUntil(() => tracked.settled, { timeout: timeoutMs });
      this.cluster.expireRead(this.id, tracked, timeoutMs);
    }
    await tracked.promise;
  }

  /** Hand the leadership to `to` (dissertation 3.10); resolves once `to` leads, rejects with TransferError. */
  async transferLeadership(to: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    const outcome = this.cluster.transferLeadership(this.id, to);
    if (!outcome.accepted) throw new TransferError(this.id, outcome.reason);
    const timeoutMs = options.timeoutMs ?? 1000;
    if (!(await this.waitFor(() => this.getLeader() === to, timeoutMs))) {
      throw new TransferError(this.id, `${to} did not take over within ${timeoutMs} ms`);
    }
  }

  /**
   * Add server `id` to the cluster through this node (the leader): resolves once `id` is a voter of the
   * committed configuration (it first catches up as a learner). Rejects with MembershipError.
   */
  async addServer(id: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    const outcome = this.cluster.addServer(id, this.id);
    if (!outcome.accepted) throw new MembershipError(this.id, outcome.reason);
    try {
      await this.settle(options.timeoutMs ?? 5000, `${id} to become a voter`, () => this.cluster.configuration(this.id).voters.includes(id));
    } catch (error) {
      if (!(error instanceof MembershipError) || this.getLeader() !== this.id || !this.cluster.configuration(this.id).learners.includes(id)) throw error;
      throw await abortAddition(this.id, error, id, () => this.removeServer(id, options));
    }
  }

  /**
   * Remove server `id` through this node (the leader); this node itself hands its leadership to another voter
   * first (dissertation 3.10), then the new leader removes it. Resolves once the change is committed.
   */
  async removeServer(id: NodeId, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    let via: NodeId = this.id;
    if (id === this.id && this.getLeader() === this.id) {
      const to = this.cluster.configuration(this.id).voters.find((v) => v !== id && this.cluster.isAlive(v));
      if (to === undefined) throw new MembershipError(this.id, 'no other voter to hand the leadership to');
      await this.transferLeadership(to, { timeoutMs });
      via = to;
      // The new leader commits an entry of its own term before it changes the configuration.
      await new SimNode(this.cluster, to, { drive: this.drive }).propose(null, { timeoutMs });
    }
    const outcome = this.cluster.removeServer(id, via);
    if (!outcome.accepted) throw new MembershipError(via, outcome.reason);
    const leader = this.cluster.raft(via);
    await this.settle(timeoutMs, `the removal of ${id} to commit`, () => (leader?.commitIndex ?? 0) >= outcome.index);
  }

  private async settle(timeoutMs: number, what: string, condition: () => boolean): Promise<void> {
    const committed = () => {
      const core = this.cluster.raft(this.cluster.leader() ?? this.id);
      return condition() && core !== null && core.commitIndex === core.lastIndex;
    };
    if (!(await this.waitFor(committed, timeoutMs))) throw new MembershipError(this.id, `timed out after ${timeoutMs} ms waiting for ${what}`);
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
