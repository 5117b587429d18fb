import type { LogEntry, NodeId, Ready } from './types';

/** A proposal's entry, committed and applied on the node that took it. */
export interface Committed {
  readonly index: number;
  readonly term: number;
}

/** One awaited proposal. `settled` turns true (synchronously) the moment it resolves or rejects. */
export interface TrackedProposal {
  readonly index: number;
  readonly term: number;
  readonly promise: Promise<Committed>;
  readonly settled: boolean;
}

/** The errors a proposal rejects with (lib/errors.ts gives the lab's: EntryOverwrittenError, ...). */
export interface ProposalErrors {
  overwritten(nodeId: NodeId, index: number, term: number): Error;
  leadershipLost(nodeId: NodeId, index: number, term: number): Error;
  timeout(nodeId: NodeId, index: number, timeoutMs: number): Error;
}

/** Starts a timer on the driver's clock (wall or virtual); returns its cancel. */
export type StartTimer = (ms: number, fire: () => void) => () => void;

interface Pending extends TrackedProposal {
  settled: boolean;
  cancelTimer: (() => void) | null;
  resolve(committed: Committed): void;
  reject(error: Error): void;
}

/**
 * How a proposal completes, the same on every driver (simulated or real): resolved once its entry is applied
 * on this node; rejected at once with EntryOverwrittenError when another entry replaces it in the log, with
 * LeadershipLostError when this node stops leading before committing it (as hashicorp/raft rejects its
 * futures), with ProposalTimeoutError after its timeout, or with the driver's error when the node stops.
 * Fed with every Ready the node's core hands out.
 */
export class ProposalTracker {
  private readonly pending = new Map<number, Pending[]>();

  constructor(
    readonly nodeId: NodeId,
    private readonly errors: ProposalErrors,
  ) {}

  /** True when no proposal is awaited (what a driver checks before feeding a Ready). */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  get size(): number {
    let n = 0;
    for (const list of this.pending.values()) n += list.length;
    return n;
  }

  /**
   * Await the entry a leader accepted at `index` in `term`. Call it before the Ready of that proposal is carried
   * out (a one-server cluster commits and applies within it). With `timer`, it rejects after `timeoutMs`.
   */
  track(index: number, term: number, timeoutMs: number, timer?: StartTimer): TrackedProposal {
    let resolve!: (c: Committed) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Committed>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = { index, term, promise, settled: false, cancelTimer: null, resolve, reject };
    const list = this.pending.get(index);
    if (list) list.push(p);
    else this.pending.set(index, [p]);
    if (timer) p.cancelTimer = timer(timeoutMs, () => this.expire(p, timeoutMs));
    return p;
  }

  /** Reject `proposal` with ProposalTimeoutError if it is still pending (a driver without timers calls this). */
  expire(proposal: TrackedProposal, timeoutMs: number): void {
    const p = proposal as Pending;
    if (p.settled) return;
    this.remove(p);
    this.settle(p, this.errors.timeout(this.nodeId, p.index, timeoutMs));
  }

  /**
   * A Ready of this node's core: its log write (entries overwritten), its role changes (leadership lost). Entries
   * at or below `commitIndex` are committed and wait for their apply; all others of a deposed leader are rejected.
   */
  onReady(ready: Ready, commitIndex: number): void {
    if (this.pending.size === 0) return;
    const log = ready.log;
    if (log) {
      for (const [index, list] of this.pending) {
        if (index < log.from) continue;
        const now = log.entries[index - log.from];
        for (const p of [...list]) {
          if (now === undefined || now.term !== p.term) this.drop(p, this.errors.overwritten(this.nodeId, p.index, p.term));
        }
      }
    }
    for (const note of ready.notes) {
      if (note.kind !== 'role' || note.role === 'leader') continue;
      for (const [index, list] of this.pending) {
        if (index <= commitIndex) continue;
        for (const p of [...list]) this.drop(p, this.errors.leadershipLost(this.nodeId, p.index, p.term));
      }
      break;
    }
  }

  /** The node applied `entry` at `index` (after persisting it and applying it to its state machine). */
  onApplied(index: number, entry: LogEntry): void {
    const list = this.pending.get(index);
    if (!list) return;
    this.pending.delete(index);
    for (const p of list) {
      if (p.term === entry.term) this.settle(p, null);
      else this.settle(p, this.errors.overwritten(this.nodeId, index, p.term));
    }
  }

  /** The node stopped: every pending proposal rejects with `error`. */
  stopAll(error: () => Error): void {
    const all = [...this.pending.values()].flat();
    this.pending.clear();
    for (const p of all) this.settle(p, error());
  }

  private drop(p: Pending, error: Error): void {
    this.remove(p);
    this.settle(p, error);
  }

  private remove(p: Pending): void {
    const list = this.pending.get(p.index);
    if (!list) return;
    const rest = list.filter((x) => x !== p);
    if (rest.length > 0) this.pending.set(p.index, rest);
    else this.pending.delete(p.index);
  }

  private settle(p: Pending, error: Error | null): void {
    p.settled = true;
    p.cancelTimer?.();
    p.cancelTimer = null;
    if (error) p.reject(error);
    else p.resolve({ index: p.index, term: p.term });
  }
}
