/** A node is named by its address, exactly as in the lab manual: '127.0.0.1:8000'. */
export type NodeId = string;

/** raftos commands are one-key dictionaries such as {"data_id": 1}; `null` is a leader's no-op entry. */
export type Command = Record<string, unknown> | null;

export interface LogEntry {
  readonly term: number;
  readonly command: Command;
}

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

/** Figure 2's RequestVote arguments. `preVote` marks the dissertation's PreVote round (term is not adopted). */
export interface RequestVote {
  readonly type: 'RequestVote';
  readonly term: number;
  readonly candidateId: NodeId;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly preVote?: boolean;
  /** Sent on a leader's TimeoutNow (dissertation 3.10): voters grant it even while they hear from a leader. */
  readonly transfer?: boolean;
}

export interface RequestVoteReply {
  readonly type: 'RequestVoteReply';
  readonly term: number;
  readonly voteGranted: boolean;
  readonly preVote?: boolean;
}

export interface AppendEntries {
  readonly type: 'AppendEntries';
  readonly term: number;
  readonly leaderId: NodeId;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly LogEntry[];
  readonly leaderCommit: number;
  /** The leader's read round (ReadIndex, dissertation 6.4), echoed in the reply: not part of Figure 2. */
  readonly round?: number;
}

/**
 * Figure 2's reply plus what fast backtracking needs: on success the follower's matching index,
 * on failure a conflict hint (the 6.5840 "XTerm/XIndex" scheme).
 */
export interface AppendEntriesReply {
  readonly type: 'AppendEntriesReply';
  readonly term: number;
  readonly success: boolean;
  readonly matchIndex: number;
  readonly conflictIndex?: number;
  readonly conflictTerm?: number;
  /** The `round` of the AppendEntries this answers, if it had one. */
  readonly round?: number;
}

/** Leadership transfer (dissertation 3.10): the leader tells an up-to-date follower to start an election now. */
export interface TimeoutNow {
  readonly type: 'TimeoutNow';
  readonly term: number;
  readonly leaderId: NodeId;
}

/**
 * Figure 13's InstallSnapshot: the leader sends its snapshot, in chunks, to a follower that needs entries it has
 * compacted away. `data` is a piece of the snapshot's state (a JSON text) starting at `offset`.
 */
export interface InstallSnapshot {
  readonly type: 'InstallSnapshot';
  readonly term: number;
  readonly leaderId: NodeId;
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
  readonly offset: number;
  readonly data: string;
  readonly done: boolean;
  /** The configuration as of lastIncludedIndex, when the cluster's membership ever changed (on the last chunk). */
  readonly config?: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] };
}

/** Figure 13's reply (term) plus what the leader needs to send the next chunk: how much has arrived, and whether it is installed. */
export interface InstallSnapshotReply {
  readonly type: 'InstallSnapshotReply';
  readonly term: number;
  readonly lastIncludedIndex: number;
  readonly nextOffset: number;
  readonly done: boolean;
}

export type Message = RequestVote | RequestVoteReply | AppendEntries | AppendEntriesReply | TimeoutNow | InstallSnapshot | InstallSnapshotReply;
export type MessageType = Message['type'];

export interface Outbound {
  readonly to: NodeId;
  readonly message: Message;
}

/** What Figure 2 calls persistent state: written to stable storage before responding to RPCs. */
export interface HardState {
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
}

/** A state machine's state after applying entries 1..index (the last of them of term `term`), as JSON text. */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  readonly state: string;
  /** The cluster's configuration as of `index`, when it was ever changed (membership changes). */
  readonly config?: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] };
}

export interface PersistentState extends HardState {
  /** The entries after the snapshot (all of them, from index 1, when there is none). */
  readonly log: readonly LogEntry[];
  readonly snapshot?: Snapshot;
}

/** Notes the core leaves for the trace: why things happened, not what must be done. */
export type CoreNote =
  | { readonly kind: 'role'; readonly role: Role; readonly term: number; readonly reason: string }
  | { readonly kind: 'term'; readonly term: number; readonly from: NodeId | null }
  | { readonly kind: 'timeout'; readonly role: Role; readonly term: number }
  | { readonly kind: 'vote'; readonly candidate: NodeId; readonly term: number; readonly granted: boolean; readonly preVote: boolean }
  | { readonly kind: 'commit'; readonly commitIndex: number; readonly term: number }
  | { readonly kind: 'transfer'; readonly to: NodeId; readonly term: number; readonly step: 'started' | 'timeout-now' | 'aborted'; readonly reason?: string };

/**
 * A read through ReadIndex (dissertation 6.4), answered: `ok` once this leader confirmed it still led after the
 * read arrived and has committed up to `index` (the driver applies the Ready's entries, then answers from its state
 * machine); not ok when it stopped leading first.
 */
export type ReadResult =
  | { readonly id: number; readonly ok: true; readonly index: number }
  | { readonly id: number; readonly ok: false; readonly leaderId: NodeId | null };

export interface AppliedEntry {
  readonly index: number;
  readonly entry: LogEntry;
}

/**
 * Everything one call into the core decided. The driver must, in this order:
 * persist `hardState` and `log` (the persistence contract), send `messages`, then apply `apply` in order.
 */
export interface Ready {
  readonly hardState?: HardState;
  /** The log from index `from` on is now `entries` (entries at `from` and after are replaced). */
  readonly log?: { readonly from: number; readonly entries: readonly LogEntry[] };
  readonly messages: readonly Outbound[];
  readonly apply: readonly AppliedEntry[];
  readonly notes: readonly CoreNote[];
  /** Reads answered by this call: after applying `apply`, answer the ok ones from the state machine. */
  readonly reads?: readonly ReadResult[];
  /**
   * A new snapshot to persist before `log` (storage then drops the entries it covers; if its log does not hold the
   * snapshot's last entry, all of them). `restore`: the state machine is replaced by the snapshot's state (one
   * received from the leader), before `apply`.
   */
  readonly snapshot?: { readonly snapshot: Snapshot; readonly restore: boolean };
}
