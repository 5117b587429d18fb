import { figure2Rules, type RaftRules } from '../raft/rules';
import type { LogEntry, Message, NodeId, Role } from '../raft/types';
import { Cluster, InvariantViolation, type ClusterBugs, type InFlightMessage } from '../sim/cluster';
import { Rng } from '../sim/rng';
import type { TraceEvent } from '../sim/trace';
import { zooVariant } from '../fuzz/zoo';
import type { ActionBody, RuleSource, ScopeAction, ScopeSpec } from './spec';

/** What the page draws for one node. */
export interface NodeView {
  readonly index: number;
  readonly id: NodeId;
  readonly alive: boolean;
  readonly role: Role | 'down';
  readonly term: number;
  readonly votedFor: number | null;
  readonly commitIndex: number;
  /** The entries after `snapshotIndex` (the ones before are compacted into a snapshot). */
  readonly log: readonly LogEntry[];
  readonly snapshotIndex: number;
  /** Election timer: fraction of its timeout still to run (1 = just reset, 0 = firing); null for leaders and crashed nodes. */
  readonly timer: number | null;
  readonly timerLeftMs: number | null;
  /** Leaders only: per peer index, nextIndex and matchIndex. */
  readonly nextIndex: readonly (number | null)[] | null;
  readonly matchIndex: readonly (number | null)[] | null;
  readonly votes: readonly number[];
}

export interface MessageView extends InFlightMessage {
  readonly fromIndex: number;
  readonly toIndex: number;
  readonly label: string;
}

export interface DropView {
  readonly t: number;
  readonly fromIndex: number;
  readonly toIndex: number;
  readonly reason: string;
  /** Where on the link it died: 0 at the sender, 1 at the receiver. */
  readonly where: number;
  readonly label: string;
}

export interface ViolationView {
  readonly property: string;
  readonly detail: string;
  readonly eventIndex: number;
  readonly time: number;
}

/** One stretch of a node's life on the term timeline. */
export interface Segment {
  readonly node: number;
  readonly from: number;
  to: number;
  readonly role: Role | 'down';
  readonly term: number;
}

const roleOrder: readonly Role[] = ['follower', 'precandidate', 'candidate', 'leader'];

export function shortLabel(m: Message): string {
  switch (m.type) {
    case 'RequestVote': return `${m.preVote ? 'PreVote' : 'RequestVote'} t${m.term}`;
    case 'RequestVoteReply': return `${m.preVote ? 'PreVote' : 'Vote'} ${m.voteGranted ? 'yes' : 'no'} t${m.term}`;
    case 'AppendEntries': return m.entries.length === 0 ? `Heartbeat t${m.term}` : `Append ${m.entries.length} t${m.term}`;
    case 'AppendEntriesReply': return `${m.success ? 'Ack' : 'Nack'} ${m.matchIndex} t${m.term}`;
    case 'TimeoutNow': return `TimeoutNow t${m.term}`;
    case 'InstallSnapshot': return `Snapshot ${m.lastIncludedIndex} t${m.term}`;
    case 'InstallSnapshotReply': return `${m.done ? 'Installed' : 'Chunk ok'} ${m.lastIncludedIndex} t${m.term}`;
  }
}

/** Rebuild a notebook's rule from its source text; it must not use names from the notebook. */
function ruleFromSource(rule: RuleSource): RaftRules[keyof RaftRules] {
  if (!(rule.name in figure2Rules)) {
    throw new Error(`unknown rule ${JSON.stringify(rule.name)} (Figure 2's rules: ${Object.keys(figure2Rules).join(', ')})`);
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const fn = new Function(`"use strict"; return (${rule.source});`)() as unknown;
  if (typeof fn !== 'function') throw new Error(`rule ${rule.name}: its source is not a function`);
  return fn as RaftRules[keyof RaftRules];
}

/**
 * One branch of a run, replayed in the page: a Cluster on the virtual clock driven forward to any time, with
 * the spec's actions applied at their exact points. Going back in time means building a new ScopeRun and
 * driving it to the earlier time: the same seed and actions give the same state, event for event.
 */
export class ScopeRun {
  readonly cluster: Cluster;
  readonly ids: readonly NodeId[];
  private readonly actions: ScopeAction[];
  private next = 0;
  private requests = 0;
  private violationInfo: ViolationView | null = null;
  private readonly timerStart: number[];
  private readonly timerDeadline: number[];
  private readonly segments: Segment[] = [];
  private readonly open: (Segment | null)[];
  private seenEvents = 0;
  private readonly drops: DropView[] = [];
  private readonly chaosRng: Rng | null;

  constructor(readonly spec: ScopeSpec) {
    const variant = spec.zoo ? zooVariant(spec.zoo) : null;
    const rules: Partial<Record<keyof RaftRules, unknown>> = { ...(variant?.rules ?? {}) };
    for (const r of spec.rules) rules[r.name as keyof RaftRules] = ruleFromSource(r);
    const bugs: ClusterBugs | undefined = variant?.bugs;
    this.cluster = new Cluster({
      nodes: spec.nodes,
      seed: spec.seed,
      preVote: spec.preVote,
      checkQuorum: spec.checkQuorum,
      network: { loss: spec.loss, latency: { kind: 'uniform', min: spec.latency[0], max: spec.latency[1] } },
      timings: { electionTimeout: { min: spec.electionTimeout[0], max: spec.electionTimeout[1] }, heartbeatInterval: spec.heartbeat },
      trace: 'all',
      ...(Object.keys(rules).length > 0 ? { rules: rules as Partial<RaftRules> } : {}),
      ...(bugs ? { bugs } : {}),
    });
    this.ids = this.cluster.ids;
    this.actions = [...spec.actions].sort((a, b) => a.after - b.after || a.at - b.at);
    this.timerStart = this.ids.map(() => 0);
    this.timerDeadline = this.ids.map(() => Infinity);
    this.open = this.ids.map(() => null);
    this.ids.forEach((id, i) => this.segment(i, 0, 'follower', this.cluster.status(id).term));
    this.chaosRng = spec.chaos ? new Rng((spec.seed ^ 0x0c4a05) >>> 0) : null;
    if (this.chaosRng) this.cluster.at(this.chaosRng.uniform(300, 700), () => this.chaos());
    this.observe();
  }

  get now(): number {
    return this.cluster.now;
  }

  get violation(): ViolationView | null {
    return this.violationInfo;
  }

  /** Trace events so far: the position an action is recorded at. */
  get position(): number {
    return this.cluster.trace.count;
  }

  /** Drive the run forward to virtual time `time`, applying the spec's actions on the way. Stops at a violation. */
  advanceTo(time: number): void {
    const cluster = this.cluster;
    while (!this.violationInfo) {
      const action = this.actions[this.next];
      if (action && action.at <= time && cluster.trace.count >= action.after && !(cluster.nextEventTime() < action.at)) {
        if (cluster.nextEventTime() > action.at && cluster.now < action.at) this.guard(() => cluster.runUntilTime(action.at));
        this.next++;
        this.guard(() => this.apply(action));
        continue;
      }
      if (cluster.nextEventTime() > time) break;
      this.guard(() => cluster.step());
      this.observe();
    }
    if (!this.violationInfo && cluster.now < time) this.guard(() => cluster.runUntilTime(time));
    this.observe();
  }

  /** Run until the trace records something (one visible event), or `limit` ms pass. */
  stepEvent(limit = 10_000): void {
    const start = this.cluster.trace.count;
    const deadline = this.now + limit;
    while (!this.violationInfo && this.cluster.trace.count === start && this.cluster.nextEventTime() <= deadline) {
      const action = this.actions[this.next];
      const t = this.cluster.nextEventTime();
      if (action && action.at <= t) {
        this.advanceTo(action.at);
        continue;
      }
      this.guard(() => this.cluster.step());
      this.observe();
    }
  }

  /** Whether the run still has actions ahead of its current point (then acting here forks the run). */
  get hasActionsAhead(): boolean {
    return this.next < this.actions.length;
  }

  /** Record and apply an action at the current point. Returns the new action. */
  act(body: ActionBody): ScopeAction {
    const action = { after: this.cluster.trace.count, at: this.now, ...body } as ScopeAction;
    this.actions.splice(this.next, this.actions.length - this.next, action);
    this.next++;
    this.guard(() => this.apply(action));
    this.observe();
    return action;
  }

  /** The actions applied so far (the spec of this branch up to now). */
  actionsSoFar(): ScopeAction[] {
    return this.actions.slice(0, this.next);
  }

  private apply(a: ScopeAction): void {
    const c = this.cluster;
    const id = (n: number): NodeId => this.ids[n]!;
    switch (a.op) {
      case 'crash': c.crash(id(a.node)); break;
      case 'restart': c.restart(id(a.node)); break;
      case 'timeout': if (c.isAlive(id(a.node))) c.campaign(id(a.node)); break;
      case 'request': this.request(a.node === undefined ? undefined : id(a.node), a.command); break;
      case 'cut':
        c.links.cutOneWay(id(a.a), id(a.b));
        c.links.cutOneWay(id(a.b), id(a.a));
        c.trace.add({ t: c.now, node: '*', kind: 'partition', cut: c.links.describe() });
        break;
      case 'split': c.partition(...a.groups.map((g) => g.map(id))); break;
      case 'heal': c.heal(); break;
      case 'links':
        c.links.healAll();
        for (const [x, y] of a.cut) c.links.cutOneWay(id(x), id(y));
        c.trace.add({ t: c.now, node: '*', kind: a.cut.length > 0 ? 'partition' : 'heal', cut: c.links.describe() });
        break;
      case 'drop': c.dropInFlight(a.message); break;
      case 'delay': c.delayInFlight(a.message, a.ms); break;
      case 'net': c.setNetwork({ loss: a.loss, latency: { kind: 'uniform', min: a.min, max: a.max } }); break;
    }
  }

  private request(via?: NodeId, command?: Record<string, unknown> | null): void {
    this.requests++;
    this.cluster.propose(command === undefined ? { x: this.requests } : command, via);
  }

  /** Faults and client requests drawn from the seed: a crash, a restart, an isolated leader, a heal. */
  private chaos(): void {
    const rng = this.chaosRng!;
    const c = this.cluster;
    const down = this.ids.filter((n) => !c.isAlive(n));
    const roll = rng.next();
    const leader = c.leader();
    if (roll < 0.4) this.request();
    else if (roll < 0.55 && down.length > 0) c.restart(rng.pick(down));
    else if (roll < 0.7 && leader) c.crash(leader);
    else if (roll < 0.8) c.crash(rng.pick(this.ids));
    else if (roll < 0.9 && leader) c.disconnect(leader);
    else c.heal();
    if (down.length > this.ids.length / 2) c.restart(rng.pick(down));
    c.after(rng.uniform(100, 500), () => this.chaos());
  }

  private guard(fn: () => unknown): void {
    if (this.violationInfo) return;
    try {
      fn();
    } catch (error) {
      if (!(error instanceof InvariantViolation)) throw error;
      this.violationInfo = { property: error.property, detail: error.detail, eventIndex: error.eventIndex, time: error.time };
    }
  }

  /** Follow timers, the term timeline and drops from the trace and the cores. */
  private observe(): void {
    const c = this.cluster;
    const now = c.now;
    for (let i = 0; i < this.ids.length; i++) {
      const core = c.raft(this.ids[i]!);
      const deadline = core && core.role !== 'leader' ? core.nextDeadline() : Infinity;
      if (deadline !== this.timerDeadline[i]) {
        this.timerDeadline[i] = deadline;
        this.timerStart[i] = now;
      }
    }
    const events = c.trace.events;
    for (; this.seenEvents < events.length; this.seenEvents++) this.follow(events[this.seenEvents]!);
  }

  private follow(e: TraceEvent): void {
    const node = this.ids.indexOf(e.node);
    switch (e.kind) {
      case 'role': this.segment(node, e.t, e.role, e.term); break;
      case 'term': {
        const open = this.open[node];
        if (open && open.term !== e.term) this.segment(node, e.t, open.role, e.term);
        break;
      }
      case 'crash': this.segment(node, e.t, 'down', this.open[node]?.term ?? 0); break;
      case 'restart': this.segment(node, e.t, 'follower', this.cluster.status(e.node).term); break;
      case 'drop': {
        const from = this.ids.indexOf(e.from);
        const to = this.ids.indexOf(e.to);
        const where = e.reason === 'crashed' || (e.node === e.to && e.reason === 'partition') ? 0.92 : e.reason === 'manual' ? 0.5 : 0.12;
        this.drops.push({ t: e.t, fromIndex: from, toIndex: to, reason: e.reason, where, label: shortLabel(e.message) });
        if (this.drops.length > 200) this.drops.splice(0, 100);
        break;
      }
      default: break;
    }
  }

  private segment(node: number, t: number, role: Role | 'down', term: number): void {
    if (node < 0) return;
    const open = this.open[node];
    if (open) {
      if (open.role === role && open.term === term) return;
      open.to = t;
    }
    const s: Segment = { node, from: t, to: Infinity, role, term };
    this.segments.push(s);
    this.open[node] = s;
  }

  /** The term timeline so far (open segments end now). */
  timeline(): readonly Segment[] {
    return this.segments;
  }

  nodes(): NodeView[] {
    const c = this.cluster;
    const now = c.now;
    return this.ids.map((id, index) => {
      const s = c.status(id);
      const core = c.raft(id);
      const isLeader = core?.role === 'leader';
      const deadline = this.timerDeadline[index]!;
      const total = deadline - this.timerStart[index]!;
      const left = Number.isFinite(deadline) ? Math.max(0, deadline - now) : null;
      const peers = (f: (p: NodeId) => number | undefined) => this.ids.map((p) => (p === id ? null : (f(p) ?? null)));
      return {
        index,
        id,
        alive: s.alive,
        role: s.role,
        term: s.term,
        votedFor: s.votedFor === null ? null : this.ids.indexOf(s.votedFor),
        commitIndex: s.commitIndex,
        log: s.log,
        snapshotIndex: s.snapshotIndex,
        timer: left === null || !(total > 0) ? null : Math.min(1, left / total),
        timerLeftMs: left,
        nextIndex: isLeader && core ? peers((p) => core.nextIndexOf(p)) : null,
        matchIndex: isLeader && core ? peers((p) => core.matchIndexOf(p)) : null,
        votes: core && (core.role === 'candidate' || core.role === 'precandidate') ? [...core.votesReceived].map((v) => this.ids.indexOf(v)) : [],
      };
    });
  }

  messages(): MessageView[] {
    return this.cluster.inFlight().map((m) => ({
      ...m,
      fromIndex: this.ids.indexOf(m.from),
      toIndex: this.ids.indexOf(m.to),
      label: shortLabel(m.message),
    }));
  }

  /** Drops in the last `window` ms of virtual time. */
  recentDrops(window: number): DropView[] {
    const since = this.now - window;
    return this.drops.filter((d) => d.t >= since && d.t <= this.now);
  }

  /** Directed links cut now, as [from, to] node indexes. */
  cutLinks(): [number, number][] {
    return this.cluster.links.describe().map((s) => {
      const [a, b] = s.split(' -> ');
      return [this.ids.indexOf(a!), this.ids.indexOf(b!)];
    });
  }

  /** The last `count` trace events, for the event list. */
  recentEvents(count: number): readonly TraceEvent[] {
    const events = this.cluster.trace.events;
    return events.slice(Math.max(0, events.length - count));
  }

  leaderIndex(): number | null {
    const l = this.cluster.leader();
    return l === null ? null : this.ids.indexOf(l);
  }

  roleRank(role: Role | 'down'): number {
    return role === 'down' ? -1 : roleOrder.indexOf(role);
  }
}

/** Build a run of `spec` and drive it to `time` (going back in time is exactly this). */
export function replayTo(spec: ScopeSpec, time: number): ScopeRun {
  const run = new ScopeRun(spec);
  run.advanceTo(time);
  return run;
}
