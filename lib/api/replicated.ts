import { NotLeaderError } from '../errors';
import { copyCommand } from '../raft/command';
import type { ConsensusNode, ProposeOptions } from '../raft/consensus-node';
import { defaultNode } from './registry';

export interface ReplicatedOptions<T> {
  /** The node to write through. Defaults to the node given to register(). */
  readonly node?: ConsensusNode;
  /** Value returned by get() before anything was written. */
  readonly default?: T;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** One queue per node and name, shared by every object that writes that name through that node. */
const writeQueues = new WeakMap<object, Map<string, Promise<unknown>>>();

function enqueueOn<R>(node: ConsensusNode, name: string, work: () => Promise<R>): Promise<R> {
  const owner = node.owner ?? node;
  let queues = writeQueues.get(owner);
  if (!queues) writeQueues.set(owner, (queues = new Map()));
  const key = `${node.id}\u0000${name}`;
  const run = (queues.get(key) ?? Promise.resolve()).then(work, work);
  queues.set(key, run.catch(() => undefined));
  return run;
}


/**
 * raftos's Replicated: a named value kept in the replicated key/value state machine.
 * `set()` writes `{name: value}` through the log; it resolves once the entry is committed and applied,
 * rejects at once on a follower (NotLeaderError names the leader), and rejects after a timeout
 * instead of hanging when no majority answers. `get()` is linearizable: it reads after a read barrier.
 */
export class Replicated<T> {
  readonly name: string;
  protected readonly options: ReplicatedOptions<T>;

  constructor(name: string, options: ReplicatedOptions<T> = {}) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('Replicated needs a non-empty name');
    this.name = name;
    this.options = options;
  }

  protected get node(): ConsensusNode {
    return this.options.node ?? defaultNode();
  }

  async set(value: T, options?: ProposeOptions): Promise<T> {
    const node = this.node;
    return enqueueOn(node, this.name, async () => {
      await node.propose(copyCommand({ [this.name]: value }), options);
      return value;
    });
  }

  /**
   * The committed value, read on the leader (raftos refuses reads on followers too). Rejects, instead of
   * answering with a stale value, when this node can no longer reach a majority.
   */
  async get(options?: ProposeOptions): Promise<T> {
    const node = this.node;
    if (node.getLeader() !== node.id) throw new NotLeaderError(node.id, node.getLeader());
    // ReadIndex: once it resolves, this node has applied every write committed before the read began, and a
    // majority confirmed it still led (a deposed leader cannot serve a stale value). Nothing is written.
    await node.read(options);
    return this.local();
  }

  /** The value this node has applied, on any node, without a barrier (may lag behind the leader). */
  local(): T {
    const v = this.node.readLocal(this.name);
    return (v === undefined ? this.options.default : clone(v)) as T;
  }

  /**
   * Read-modify-write of the whole value, as raftos stores it: queued behind every other write of this name on
   * this node, and computed after a read barrier, so no acknowledged write is overwritten with stale state.
   */
  protected modify(change: (current: T) => T, options?: ProposeOptions): Promise<T> {
    const node = this.node;
    return enqueueOn(node, this.name, async () => {
      if (node.getLeader() !== node.id) throw new NotLeaderError(node.id, node.getLeader());
      await node.read(options);
      const next = change(clone(this.local()));
      await node.propose(copyCommand({ [this.name]: next }), options);
      return next;
    });
  }
}

export class ReplicatedDict<V = unknown> extends Replicated<Record<string, V>> {
  constructor(name: string, options: Omit<ReplicatedOptions<Record<string, V>>, 'default'> = {}) {
    super(name, { ...options, default: {} });
  }

  async setItem(key: string, value: V, options?: ProposeOptions): Promise<void> {
    await this.modify((d) => ({ ...d, [key]: value }), options);
  }

  async update(items: Record<string, V>, options?: ProposeOptions): Promise<void> {
    await this.modify((d) => ({ ...d, ...items }), options);
  }

  async delete(key: string, options?: ProposeOptions): Promise<void> {
    await this.modify((d) => {
      if (!(key in d)) throw new RangeError(`no key ${JSON.stringify(key)} in ${this.name}`);
      const { [key]: _removed, ...rest } = d;
      return rest;
    }, options);
  }

  async getItem(key: string): Promise<V | undefined> {
    return (await this.get())[key];
  }

  async keys(): Promise<string[]> {
    return Object.keys(await this.get());
  }
}

export class ReplicatedList<V = unknown> extends Replicated<V[]> {
  constructor(name: string, options: Omit<ReplicatedOptions<V[]>, 'default'> = {}) {
    super(name, { ...options, default: [] });
  }

  async append(value: V, options?: ProposeOptions): Promise<void> {
    await this.modify((l) => [...l, value], options);
  }

  async extend(values: readonly V[], options?: ProposeOptions): Promise<void> {
    await this.modify((l) => [...l, ...values], options);
  }

  async remove(value: V, options?: ProposeOptions): Promise<void> {
    await this.modify((l) => {
      const i = l.findIndex((x) => JSON.stringify(x) === JSON.stringify(value));
      if (i < 0) throw new RangeError(`${JSON.stringify(value)} is not in ${this.name}`);
      return [...l.slice(0, i), ...l.slice(i + 1)];
    }, options);
  }

  async pop(options?: ProposeOptions): Promise<V | undefined> {
    let popped: V | undefined;
    await this.modify((l) => {
      popped = l[l.length - 1];
      return l.slice(0, -1);
    }, options);
    return popped;
  }

  async length(): Promise<number> {
    return (await this.get()).length;
  }
}
