import type { StartTimer } from './proposals';
import type { NodeId, Ready } from './types';

/** One awaited read. `settled` turns true (synchronously) the moment it resolves or rejects. */
export interface TrackedRead {
  readonly id: number;
  /** Resolves to the read index: the state machine, applied up to it, answers the read. */
  readonly promise: Promise<number>;
  readonly settled: boolean;
  /** The read index once resolved (set synchronously, like `settled`), else null. */
  readonly index: number | null;
}

/** What a read rejects with (lib/errors.ts gives the lab's). */
export interface ReadErrors {
  notLeader(nodeId: NodeId, leaderId: NodeId | null): Error;
  timeout(nodeId: NodeId, timeoutMs: number): Error;
}

interface Pending extends TrackedRead {
  settled: boolean;
  index: number | null;
  cancelTimer: (() => void) | null;
  resolve(index: number): void;
  reject(error: Error): void;
}

/**
 * How a ReadIndex read completes, the same on every driver: resolved when a Ready's `reads` says it is confirmed
 * (after the driver applied that Ready's entries), rejected when the leader stepped down first, after its
 * timeout, or with the driver's error when the node stops.
 */
export class ReadTracker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    readonly nodeId: NodeId,
    private readonly errors: ReadErrors,
  ) {}

  get idle(): boolean {
    return this.pending.size === 0;
  }

  /** A new read's id, to give the core's readIndex(), and its promise. */
  begin(timeoutMs: number, timer?: StartTimer): TrackedRead {
    let resolve!: (index: number) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const read: Pending = { id: this.nextId++, promise, settled: false, index: null, cancelTimer: null, resolve, reject };
    this.pending.set(read.id, read);
    if (timer) read.cancelTimer = timer(timeoutMs, () => this.expire(read, timeoutMs));
    return read;
  }

  /** The core refused the read at once (not the leader). */
  refuse(read: TrackedRead, leaderId: NodeId | null): void {
    this.settle(read as Pending, this.errors.notLeader(this.nodeId, leaderId));
  }

  /** Settle what a Ready answered. Call it after that Ready's entries were applied. */
  onReady(ready: Ready): void {
    const reads = ready.reads;
    if (!reads) return;
    for (const result of reads) {
      const read = this.pending.get(result.id);
      if (!read) continue;
      if (result.ok) this.settle(read, null, result.index);
      else this.settle(read, this.errors.notLeader(this.nodeId, result.leaderId));
    }
  }

  expire(read: TrackedRead, timeoutMs: number): void {
    const p = read as Pending;
    if (!p.settled) this.settle(p, this.errors.timeout(this.nodeId, timeoutMs));
  }

  stopAll(error: () => Error): void {
    for (const read of [...this.pending.values()]) this.settle(read, error());
  }

  private settle(read: Pending, error: Error | null, index = 0): void {
    if (read.settled) return;
    read.settled = true;
    this.pending.delete(read.id);
    read.cancelTimer?.();
    read.cancelTimer = null;
    if (error) read.reject(error);
    else {
      read.index = index;
      read.resolve(index);
    }
  }
}
