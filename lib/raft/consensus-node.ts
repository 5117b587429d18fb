import type { Command, NodeId, Role } from './types';

export interface ProposeOptions {
  /** Reject if the entry is not committed and applied within this many milliseconds. Default 5000. */
  readonly timeoutMs?: number;
}

export type { Committed } from './proposals';
import type { Committed } from './proposals';

/**
 * What the raftos-style API needs from a node. Both a node of the in-process Cluster (virtual time)
 * and a RealNode (UDP, files, wall clock) provide it, so the same student code runs on either.
 */
export interface ConsensusNode {
  readonly id: NodeId;
  /**
   * Handles with the same owner and id are the same node (several SimNode objects over one cluster node):
   * they share the node's write queue. Defaults to the handle itself.
   */
  readonly owner?: object;
  readonly role: Role | 'down';
  /** raftos's get_leader(): itself when leading, the leader it last heard from, or null. */
  getLeader(): NodeId | null;
  /** Append `command` if this node leads; resolves once it is committed and applied here. */
  propose(command: Command, options?: ProposeOptions): Promise<Committed>;
  /**
   * A linearizable read barrier that writes nothing (ReadIndex, dissertation 6.4): resolves once this leader has
   * confirmed it still leads and has applied every write committed before the call; a follower rejects.
   */
  read(options?: ProposeOptions): Promise<void>;
  /** The value this node's state machine holds for `key` (what it has applied). */
  readLocal(key: string): unknown;
  waitUntilLeader(leader: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}
