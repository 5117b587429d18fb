import type { NodeId } from '../raft/types';
import type { ConsensusNode } from '../raft/consensus-node';

/**
 * raftos keeps one node per process behind module-level functions (register, get_leader, ...).
 * We keep that shape for the lab's scripts: register() (or use()) sets the default node.
 */
let current: ConsensusNode | null = null;

export function useNode(node: ConsensusNode): ConsensusNode {
  current = node;
  return node;
}

export function defaultNode(): ConsensusNode {
  if (!current) throw new Error('no node registered in this process: call register(...) first, or pass { node } explicitly');
  return current;
}

export function hasDefaultNode(): boolean {
  return current !== null;
}

export function clearDefaultNode(node?: ConsensusNode): void {
  if (!node || node === current) current = null;
}

/** raftos's get_leader(): null when this process has no node or no leader is known. */
export function getLeader(node?: ConsensusNode): NodeId | null {
  const n = node ?? current;
  return n ? n.getLeader() : null;
}

export async function waitUntilLeader(leader: NodeId, options: { timeoutMs?: number; node?: ConsensusNode } = {}): Promise<void> {
  await (options.node ?? defaultNode()).waitUntilLeader(leader, options);
}
