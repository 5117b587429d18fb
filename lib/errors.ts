import type { ProposalErrors } from './raft/proposals';
import type { ReadErrors } from './raft/reads';
import type { NodeId } from './raft/types';

/** raftos's NotALeaderException: only the leader accepts writes, and it is named so the client can go there. */
export class NotLeaderError extends Error {
  constructor(readonly nodeId: NodeId, readonly leaderId: NodeId | null) {
    super(
      leaderId
        ? `${nodeId} is not the leader; the leader is ${leaderId}`
        : `${nodeId} is not the leader, and no leader is known right now`,
    );
    this.name = 'NotLeaderError';
  }
}

/** A write that no majority acknowledged in time (raftos would hang forever instead). */
export class ProposalTimeoutError extends Error {
  constructor(readonly nodeId: NodeId, readonly index: number, readonly timeoutMs: number) {
    super(`${nodeId}: entry ${index} was not committed within ${timeoutMs} ms (no majority answered)`);
    this.name = 'ProposalTimeoutError';
  }
}

/** The entry was accepted, then replaced by a new leader's entry before it committed. */
export class EntryOverwrittenError extends Error {
  constructor(readonly nodeId: NodeId, readonly index: number, readonly term: number) {
    super(`${nodeId}: entry ${index} of term ${term} was overwritten by another leader before it committed`);
    this.name = 'EntryOverwrittenError';
  }
}

/** The node stopped (or crashed) while the request was waiting. */
export class NodeStoppedError extends Error {
  constructor(readonly nodeId: NodeId) {
    super(`${nodeId} stopped before the request completed`);
    this.name = 'NodeStoppedError';
  }
}

/** A read whose leader could not confirm, in time, that it still leads (no majority answered its heartbeats). */
export class ReadTimeoutError extends Error {
  constructor(readonly nodeId: NodeId, readonly timeoutMs: number) {
    super(`${nodeId}: a read was not confirmed within ${timeoutMs} ms (no majority answered the leader)`);
    this.name = 'ReadTimeoutError';
  }
}

/** A leader handing over its leadership that did not manage to within its timeout, or refused to start. */
export class TransferError extends Error {
  constructor(readonly nodeId: NodeId, readonly reason: string) {
    super(`${nodeId}: leadership transfer failed: ${reason}`);
    this.name = 'TransferError';
  }
}

/** A membership change the leader refused (one at a time, not the leader, ...) or that did not commit in time. */
export class MembershipError extends Error {
  constructor(readonly nodeId: NodeId, readonly reason: string) {
    super(`${nodeId}: membership change failed: ${reason}`);
    this.name = 'MembershipError';
  }
}

/**
 * What addServer rejects with once `added` did not catch up in time: the leader aborts the change (dissertation
 * 4.2.1) by taking the learner out again with `remove`, so the same addition can simply be retried.
 */
export async function abortAddition(leader: NodeId, timedOut: MembershipError, added: NodeId, remove: () => Promise<void>): Promise<MembershipError> {
  try {
    await remove();
    return new MembershipError(leader, `${timedOut.reason}; ${added} did not catch up, so it was taken out again`);
  } catch (removal) {
    const why = removal instanceof MembershipError ? removal.reason : String(removal);
    return new MembershipError(leader, `${timedOut.reason}; ${added} stays a learner (taking it out failed: ${why})`);
  }
}

export class WaitTimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * The leader stepped down (it saw a higher term, or lost its quorum) before the entry was committed: whether it
 * commits is now up to the next leader, so the outcome is unknown (hashicorp/raft's ErrLeadershipLost).
 */
export class LeadershipLostError extends Error {
  constructor(readonly nodeId: NodeId, readonly index: number, readonly term: number) {
    super(
      `${nodeId} stopped leading before entry ${index} of term ${term} was committed: ` +
        'the next leader may still commit it or overwrite it (read the value back to know)',
    );
    this.name = 'LeadershipLostError';
  }
}

/** What the proposal tracker (lib/raft/proposals.ts) rejects with, on every driver. */
export const proposalErrors: ProposalErrors = {
  overwritten: (nodeId, index, term) => new EntryOverwrittenError(nodeId, index, term),
  leadershipLost: (nodeId, index, term) => new LeadershipLostError(nodeId, index, term),
  timeout: (nodeId, index, timeoutMs) => new ProposalTimeoutError(nodeId, index, timeoutMs),
};

/** What the read tracker (lib/raft/reads.ts) rejects with, on every driver. */
export const readErrors: ReadErrors = {
  notLeader: (nodeId, leaderId) => new NotLeaderError(nodeId, leaderId),
  timeout: (nodeId, timeoutMs) => new ReadTimeoutError(nodeId, timeoutMs),
};
