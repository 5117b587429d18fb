import type { Handlers } from './context';
import type { NodeId } from './types';
import type { RaftOptions, Timings } from './node';
import type { RaftRules } from './rules';

/** What a driver's user sets for the servers it runs (the same fields on the Cluster and the RealNode). */
export interface ServerSettings {
  readonly timings?: Partial<Timings>;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly leaderNoop?: boolean;
  /** Lease reads (RaftOptions.leaseReads; needs checkQuorum) and the clock drift they allow for. */
  readonly leaseReads?: boolean;
  readonly clockDriftBound?: number;
  readonly maxEntriesPerAppend?: number;
  /** Characters of a snapshot's state per InstallSnapshot chunk (RaftOptions.snapshotChunkChars). */
  readonly snapshotChunkChars?: number;
  readonly rules?: Partial<RaftRules>;
  readonly handlers?: Partial<Handlers>;
}

/** The RaftOptions of server `id` among `members` (its own id may be among them), written once for every driver. */
export function raftOptionsFor(id: NodeId, members: readonly NodeId[], random: () => number, settings: ServerSettings): RaftOptions {
  const batch = settings.maxEntriesPerAppend;
  if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) {
    throw new RangeError(`maxEntriesPerAppend must be a positive integer, got ${String(batch)}`);
  }
  return {
    id,
    peers: members.filter((p) => p !== id),
    random,
    ...settings.timings,
    preVote: settings.preVote ?? false,
    checkQuorum: settings.checkQuorum ?? false,
    leaderNoop: settings.leaderNoop ?? false,
    ...(settings.leaseReads ? { leaseReads: true } : {}),
    ...(settings.clockDriftBound === undefined ? {} : { clockDriftBound: settings.clockDriftBound }),
    ...(batch === undefined ? {} : { maxEntriesPerAppend: batch }),
    ...(settings.snapshotChunkChars === undefined ? {} : { snapshotChunkChars: settings.snapshotChunkChars }),
    ...(settings.rules ? { rules: settings.rules } : {}),
    ...(settings.handlers ? { handlers: settings.handlers } : {}),
  };
}
