/**
 * The MIT 6.5840 Raft lab's test harness (raft/config.go), rebuilt over the in-process Cluster.
 *
 * Servers are numbered 0..n-1 as in config.go, so a test reads like its Go original:
 * `h.disconnect((leader + 1) % servers)`. Everything runs in virtual time: `sleep(ms)` advances the
 * simulated clock, and every random choice a test makes comes from `h.rng`, seeded like the cluster.
 *
 * Differences from config.go, on purpose:
 * - checkOneLeader() samples every 50 virtual ms (config.go sleeps ~500 ms between samples).
 * - Commands are one-key dictionaries {value: v} (our Command type); the harness takes and returns v.
 * - RPCs are counted from the trace: one request (RequestVote or AppendEntries) sent = one RPC, which is
 *   6.5840's count (request + reply are one labrpc call). Needs trace level 'all'.
 * - A client that is "concurrent" in Go is a callback chain on the virtual clock (startOne).
 */
import type { Command, Message, NodeId } from '../raft/types';
import { Cluster, type ClusterOptions } from '../sim/cluster';
import { reliableNetwork, unreliableNetwork, type NetworkOptions } from '../sim/network';
import { Rng } from '../sim/rng';

/** config.go's RaftElectionTimeout: the tests' unit of "long enough to elect a leader". */
export const RaftElectionTimeout = 1000;

/** What a 6.5840 test hands to Start(): an int (or a string in RPCBytes). */
export type Value = number | string;

export function command(value: Value): Command {
  return { value };
}

export function valueOf(cmd: Command | undefined): Value | undefined {
  if (cmd === undefined || cmd === null) return undefined;
  const v = cmd['value'];
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

/**
 * labrpc's long reordering holds back about 2/3 of *replies* by 200-2200 ms. Our network delays any
 * message, requests included, so heartbeats and vote requests suffer too: at 0.5 and above the cluster
 * keeps re-electing and one() cannot finish in its 10 s. 0.3 keeps it harsh but live.
 */
export const longReordering: NetworkOptions['longDelay'] = { probability: 0.3, min: 200, max: 2200 };

export interface HarnessOptions extends Omit<ClusterOptions, 'nodes'> {
  /** 6.5840's make_config(t, servers, unreliable, snapshot): start on the unreliable network preset.
   * `network` fields override the preset until setUnreliable/setLongReordering switch presets. */
  readonly unreliable?: boolean;
}

export interface StartResult {
  readonly index: number;
  readonly term: number;
  readonly isLeader: boolean;
}

/** A client's one() running on the virtual clock (6.5840 runs these as goroutines). */
export interface OneHandle {
  readonly value: Value;
  done: boolean;
  /** The index the value committed at, once done. */
  index: number;
}

/** Counters over the message trace. */
export interface Traffic {
  /** RequestVote + AppendEntries sent: 6.5840's RPC count. */
  rpcs: number;
  appendEntries: number;
  /** Sum over AppendEntries sent of the JSON size of each entry's command. */
  entryBytes: number;
  /** AppendEntries refused by the consistency check (the leader had to back up). */
  refusals: number;
}

/** What a failed harness check was about: the scenario grader names the rule to look at from it. */
export type HarnessFailureKind = 'assertion' | 'no-leader' | 'two-leaders' | 'terms' | 'unexpected-leader' | 'no-agreement' | 'committed-without-majority' | 'restart';

/** A harness check failed (6.5840's t.Fatalf). */
export class HarnessFailure extends Error {
  constructor(message: string, readonly kind: HarnessFailureKind, readonly time: number) {
    super(message);
    this.name = 'HarnessFailure';
  }
}

export class Harness {
  readonly cluster: Cluster;
  readonly n: number;
  readonly ids: readonly NodeId[];
  /** The test's own random choices (which server, how long to sleep, which values). */
  readonly rng: Rng;
  readonly seed: number;
  private readonly connected: boolean[];
  private readonly traffic: Traffic = { rpcs: 0, appendEntries: 0, entryBytes: 0, refusals: 0 };
  private scanned = 0;
  private unreliable: boolean;
  private longReorderingOn = false;

  constructor(servers: number, options: HarnessOptions = {}) {
    const { unreliable = false, ...rest } = options;
    this.unreliable = unreliable;
    this.cluster = new Cluster({
      ...rest,
      nodes: servers,
      network: { ...(unreliable ? unreliableNetwork : reliableNetwork), ...rest.network },
    });
    this.n = servers;
    this.ids = this.cluster.ids;
    this.seed = this.cluster.seed;
    this.rng = new Rng(this.seed ^ 0x6584);
    this.connected = this.ids.map(() => true);
  }

  get now(): number {
    return this.cluster.now;
  }

  /** time.Sleep, in virtual milliseconds. */
  sleep(ms: number): void {
    this.cluster.runFor(ms);
  }

  /** t.Fatalf: fail with the seed so the run can be replayed. */
  fatal(message: string, kind: HarnessFailureKind = 'assertion'): never {
    throw new HarnessFailure(`${message} (seed ${this.seed}, t=${this.now.toFixed(1)} ms)`, kind, this.now);
  }

  // ---- Servers ----

  id(i: number): NodeId {
    const id = this.ids[i];
    if (id === undefined) throw new RangeError(`no server ${i}`);
    return id;
  }

  isConnected(i: number): boolean {
    return this.connected[i]!;
  }

  isAlive(i: number): boolean {
    return this.cluster.isAlive(this.id(i));
  }

  /**
   * Detach server i from the net (config.go disconnect). It keeps running: its timers fire, it can
   * take Start(), it just cannot reach anyone.
   */
  disconnect(i: number): void {
    this.connected[i] = false;
    this.cluster.disconnect(this.id(i));
  }

  /**
   * Attach server i to the net (config.go connect): its links to every *connected* server come back.
   * Cluster.connect restores all of i's links, so links to still-disconnected servers are cut again.
   */
  connect(i: number): void {
    this.connected[i] = true;
    this.cluster.connect(this.id(i));
    for (let j = 0; j < this.n; j++) {
      if (j === i || this.connected[j]) continue;
      this.cluster.cutLink(this.id(i), this.id(j));
      this.cluster.cutLink(this.id(j), this.id(i));
    }
  }

  /** config.go crash1: disconnect, then kill; the persisted state survives. */
  crash1(i: number): void {
    this.disconnect(i);
    this.cluster.crash(this.id(i));
  }

  /** config.go start1: (crash and) start again from the persisted state, still disconnected. */
  start1(i: number): void {
    this.crash1(i);
    this.cluster.restart(this.id(i));
  }

  /** rf.GetState(). */
  getState(i: number): { term: number; isLeader: boolean } {
    const core = this.cluster.raft(this.id(i));
    if (!core) this.fatal(`GetState() on crashed server ${i}`);
    return { term: core.currentTerm, isLeader: core.role === 'leader' };
  }

  /** rf.Start(cmd): (index, term, isLeader). */
  start(i: number, value: Value): StartResult {
    const id = this.id(i);
    if (!this.cluster.raft(id)) this.fatal(`Start() on crashed server ${i}`);
    const r = this.cluster.propose(command(value), id);
    if (r.accepted) return { index: r.index, term: r.term, isLeader: true };
    const core = this.cluster.raft(id)!;
    return { index: core.lastIndex + 1, term: core.currentTerm, isLeader: false };
  }

  // ---- config.go's checks ----

  /**
   * Run virtual time in 50 ms steps for up to 5 s; return the leader of the highest term among the
   * connected live servers. Two leaders in one term fail the test.
   */
  checkOneLeader(): number {
    for (let waited = 0; waited < 5000; waited += 50) {
      this.sleep(50);
      const leaders = new Map<number, number[]>();
      for (let i = 0; i < this.n; i++) {
        if (!this.connected[i] || !this.isAlive(i)) continue;
        const { term, isLeader } = this.getState(i);
        if (isLeader) leaders.set(term, [...(leaders.get(term) ?? []), i]);
      }
      let lastTermWithLeader = -1;
      for (const [term, ls] of leaders) {
        if (ls.length > 1) this.fatal(`term ${term} has ${ls.length} (>1) leaders`, 'two-leaders');
        lastTermWithLeader = Math.max(lastTermWithLeader, term);
      }
      if (leaders.size > 0) return leaders.get(lastTermWithLeader)![0]!;
    }
    this.fatal('expected one leader, got none', 'no-leader');
  }

  /** All connected live servers are in the same term; returns it. */
  checkTerms(): number {
    let term = -1;
    for (let i = 0; i < this.n; i++) {
      if (!this.connected[i] || !this.isAlive(i)) continue;
      const xterm = this.getState(i).term;
      if (term === -1) term = xterm;
      else if (term !== xterm) this.fatal('servers disagree on term', 'terms');
    }
    return term;
  }

  /** No connected live server believes it is the leader. */
  checkNoLeader(): void {
    for (let i = 0; i < this.n; i++) {
      if (this.connected[i] && this.isAlive(i) && this.getState(i).isLeader) {
        this.fatal(`expected no leader among connected servers, but ${i} claims to be leader`, 'unexpected-leader');
      }
    }
  }

  /** How many servers applied an entry at `index`, and its value (they must all agree). */
  nCommitted(index: number): { count: number; value: Value | undefined } {
    const { count, command: cmd } = this.cluster.committedAt(index);
    return { count, value: valueOf(cmd) };
  }

  /**
   * config.go wait(): poll with backoff (10 ms doubling to 1 s, 30 polls) until n servers applied
   * `index`. Returns -1 if some server moved past startTerm (when startTerm > -1).
   */
  wait(index: number, n: number, startTerm: number): Value {
    let to = 10;
    for (let iters = 0; iters < 30; iters++) {
      if (this.nCommitted(index).count >= n) break;
      this.sleep(to);
      if (to < 1000) to *= 2;
      if (startTerm > -1) {
        for (let i = 0; i < this.n; i++) {
          if (this.isAlive(i) && this.getState(i).term > startTerm) return -1;
        }
      }
    }
    const { count, value } = this.nCommitted(index);
    if (count < n) this.fatal(`only ${count} decided for index ${index}; wanted ${n}`, 'no-agreement');
    return value!;
  }

  /**
   * config.go one(), as a client on the virtual clock: try the connected servers in turn until one
   * takes the value as leader, then give it 2 s to be applied by `expectedServers` at that index;
   * retry (if `retry`) for up to 10 s. Fails the test from inside the simulation when it gives up.
   */
  startOne(value: Value, expectedServers: number, retry: boolean): OneHandle {
    const handle: OneHandle = { value, done: false, index: -1 };
    const t0 = this.now;
    let starts = 0;
    const attempt = (): void => {
      if (this.now - t0 >= 10_000) this.fatal(`one(${value}) failed to reach agreement`, 'no-agreement');
      let index = -1;
      for (let si = 0; si < this.n; si++) {
        starts = (starts + 1) % this.n;
        if (!this.connected[starts] || !this.isAlive(starts)) continue;
        const r = this.start(starts, value);
        if (r.isLeader) {
          index = r.index;
          break;
        }
      }
      if (index === -1) {
        this.cluster.after(50, attempt);
        return;
      }
      const t1 = this.now;
      const poll = (): void => {
        if (this.now - t1 >= 2000) {
          if (!retry) this.fatal(`one(${value}) failed to reach agreement`, 'no-agreement');
          attempt();
          return;
        }
        const { count, value: got } = this.nCommitted(index);
        if (count > 0 && count >= expectedServers && got === value) {
          handle.done = true;
          handle.index = index;
          return;
        }
        this.cluster.after(20, poll);
      };
      poll();
    };
    attempt();
    return handle;
  }

  /** config.go one(): submit `value` and wait until it is committed; returns its index. */
  one(value: Value, expectedServers: number, retry: boolean): number {
    const handle = this.startOne(value, expectedServers, retry);
    this.awaitAll([handle]);
    return handle.index;
  }

  /** Run the clock until every handle is done (each fails the test itself when it gives up). */
  awaitAll(handles: readonly OneHandle[]): void {
    const ok = this.cluster.runUntil(() => handles.every((h) => h.done), { timeout: 15_000 });
    if (!ok) this.fatal(`one(${handles.find((h) => !h.done)!.value}) never finished`, 'no-agreement');
  }

  /**
   * config.go LogSize(): the largest persisted Raft state of any server, in bytes (its term, vote and the log
   * entries after its snapshot; the snapshot itself is the service's).
   */
  logSize(): number {
    let max = 0;
    for (const id of this.ids) {
      const { currentTerm, votedFor, log } = this.cluster.persisted(id);
      max = Math.max(max, JSON.stringify({ currentTerm, votedFor, log }).length);
    }
    return max;
  }

  // ---- Network ----

  /** config.go setunreliable: switch between the reliable and unreliable network presets. */
  setUnreliable(unreliable: boolean): void {
    this.unreliable = unreliable;
    this.applyNetwork();
  }

  /** config.go setlongreordering. */
  setLongReordering(on: boolean): void {
    this.longReorderingOn = on;
    this.applyNetwork();
  }

  private applyNetwork(): void {
    const preset = this.unreliable ? unreliableNetwork : reliableNetwork;
    this.cluster.setNetwork({ ...preset, longDelay: this.longReorderingOn ? longReordering : preset.longDelay });
  }

  // ---- Counting RPCs (trace level 'all') ----

  /** Counters over every message sent so far. */
  counts(): Readonly<Traffic> {
    const trace = this.cluster.trace;
    if (!trace.recordsMessages) throw new Error('counting RPCs needs trace level "all"');
    const events = trace.events;
    for (; this.scanned < events.length; this.scanned++) {
      const e = events[this.scanned]!;
      if (e.kind === 'send') this.count(e.message);
    }
    return { ...this.traffic };
  }

  /** 6.5840's rpcCount summed over servers: requests sent (a request and its reply are one RPC). */
  rpcTotal(): number {
    return this.counts().rpcs;
  }

  private count(m: Message): void {
    const t = this.traffic;
    switch (m.type) {
      case 'RequestVote':
        t.rpcs++;
        break;
      case 'AppendEntries':
        t.rpcs++;
        t.appendEntries++;
        for (const e of m.entries) t.entryBytes += JSON.stringify(e.command).length;
        break;
      case 'AppendEntriesReply':
        if (!m.success && m.conflictIndex !== undefined) t.refusals++;
        break;
      case 'RequestVoteReply':
        break;
    }
  }
}

/** 6.5840's make_config(t, servers, unreliable, false). */
export function makeConfig(servers: number, unreliable = false, options: Omit<HarnessOptions, 'unreliable'> = {}): Harness {
  return new Harness(servers, { ...options, unreliable });
}

/** A random printable string of length n (6.5840's randstring). */
export function randstring(rng: Rng, n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
}
