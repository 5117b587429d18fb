import { HandlerError } from '../../raft/context';
import { Cluster, InvariantViolation, type ClusterBugs } from '../../sim/cluster';
import { reliableNetwork, unreliableNetwork, type NetworkOptions } from '../../sim/network';
import type { TraceLevel } from '../../sim/trace';
import { Harness, HarnessFailure, longReordering, valueOf, type HarnessFailureKind } from '../harness';
import { persistentStateOf, restartDifference } from '../restore';
import { studentClusterOptions, type StudentImpl } from '../student-node';
import type { PersistentState } from '../../raft/types';
import type { Scenario } from './catalog';
import type { Fault, NetworkPreset, NodeRef, PlannedFault, ScenarioPlan, Step } from './plan';

/**
 * Runs one scenario on one seed against a student's implementation: the faults at their times, the clients and
 * checks at theirs, the safety monitor on every event. The first thing that goes wrong ends the run.
 */

export type FailureKind = 'safety' | 'handler' | 'assertion' | 'error';

export interface ScenarioFailure {
  readonly kind: FailureKind;
  /** Safety: the Figure 3 property; handler: the handler; assertion: what was checked (HarnessFailureKind). */
  readonly what: string;
  readonly detail: string;
  /** Virtual ms. */
  readonly time: number;
  /** Handler errors: the rule the core named. */
  readonly rule?: string;
  /** The step of the scenario that failed (assertions), e.g. "one(103)". */
  readonly step?: string;
}

export interface RunOptions {
  readonly seed: number;
  /** Run exactly these faults instead of the scenario's (a replay, or the shrinker). */
  readonly faults?: readonly Fault[];
  /** Default 'off'; 'all' for the pictures of a failing run. */
  readonly trace?: TraceLevel;
  /** Most simulator events one run may take (a message storm ends the run). Default 50,000 (the reference needs under 4,000). */
  readonly maxEvents?: number;
  /** Bug zoo only: a documented bug of the simulator's driver (lib/fuzz/zoo.ts). */
  readonly bugs?: ClusterBugs;
}

export interface ScenarioRun {
  readonly scenario: string;
  readonly seed: number;
  readonly failure: ScenarioFailure | null;
  /** The faults as they happened (servers resolved), in order: what the shrinker cuts down. */
  readonly faults: readonly Fault[];
  readonly cluster: Cluster;
  readonly events: number;
}

/** A leader must be found within this long after a majority is up (election timeouts are 150-300 ms). */
const settleMs = 1200;
const oneGivesUpMs = 10_000;
const defaultMaxEvents = 50_000; // the reference takes at most ~4,000 per scenario

export function runScenario(scenario: Scenario, impl: StudentImpl, options: RunOptions): ScenarioRun {
  const plan = scenario.plan(options.seed);
  const h = new Harness(plan.servers, {
    seed: options.seed,
    trace: options.trace ?? 'off',
    ...(plan.maxEntriesPerAppend ? { maxEntriesPerAppend: plan.maxEntriesPerAppend } : {}),
    ...studentClusterOptions(impl),
    ...(options.bugs ? { bugs: options.bugs } : {}),
  });
  const state = new RunState(h, plan, impl.restore !== undefined);
  const faults: readonly (PlannedFault | Fault)[] = options.faults ?? plan.faults;
  for (const f of faults) h.cluster.at(f.at, () => state.applyFault(f));
  for (const s of plan.steps) h.cluster.at(s.at, () => state.runStep(s));

  const maxEvents = options.maxEvents ?? defaultMaxEvents;
  const hardEnd = plan.durationMs + 2 * oneGivesUpMs + 5000;
  let events = 0;
  let failure: ScenarioFailure | null = null;
  try {
    h.cluster.runUntil(
      () => {
        if (++events > maxEvents) {
          throw new HarnessFailure(`more than ${maxEvents} events by t=${h.now.toFixed(1)} ms: a message storm`, 'assertion', h.now);
        }
        return h.now >= plan.durationMs && state.pendingClients === 0;
      },
      { timeout: hardEnd },
    );
  } catch (error) {
    failure = asFailure(error, h, events > maxEvents);
  }
  return { scenario: scenario.name, seed: options.seed, failure, faults: state.resolved, cluster: h.cluster, events };
}

function asFailure(error: unknown, h: Harness, storm: boolean): ScenarioFailure {
  if (error instanceof InvariantViolation) {
    return { kind: 'safety', what: error.property, detail: error.detail, time: error.time };
  }
  if (error instanceof HandlerError) {
    return { kind: 'handler', what: error.handler, detail: `${error.event}: ${error.detail}`, rule: error.rule, time: h.now };
  }
  if (error instanceof ScenarioCheckFailure) {
    return { kind: 'assertion', what: error.kind, detail: error.message, step: error.step, time: error.time };
  }
  if (error instanceof HarnessFailure) {
    return { kind: 'assertion', what: storm ? 'storm' : error.kind, detail: error.message, time: error.time };
  }
  const text = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
  return { kind: 'error', what: 'error', detail: text, time: h.now };
}

export class ScenarioCheckFailure extends HarnessFailure {
  constructor(message: string, kind: HarnessFailureKind, time: number, readonly step: string) {
    super(message, kind, time);
    this.name = 'ScenarioCheckFailure';
  }
}

function networkOf(preset: NetworkPreset): NetworkOptions {
  if (preset === 'reliable') return reliableNetwork;
  if (preset === 'unreliable') return unreliableNetwork;
  return { ...unreliableNetwork, longDelay: longReordering };
}

interface StartedValue {
  readonly index: number;
  readonly value: number;
  readonly leader: number;
  /** The leader could reach a majority at some point since (then the value may rightly commit). */
  reachedMajority: boolean;
}

/** What a run keeps track of: bound names, the faults as they happened, and whether a majority is up. */
class RunState {
  readonly resolved: Fault[] = [];
  pendingClients = 0;
  private readonly names = new Map<string, number>();
  private readonly terms = new Map<string, number>();
  private readonly started = new Map<string, StartedValue>();
  /** Since when a majority of servers has been connected and up (null while it is not). */
  private majoritySince: number | null = 0;
  /** The leaders (server, term) there were when the majority was lost. */
  private leadersAtMinority: { i: number; term: number }[] = [];

  constructor(
    private readonly h: Harness,
    private readonly plan: ScenarioPlan,
    /** Servers restart through the student's restore: each must come back with exactly what it saved. */
    private readonly checkRestarts = false,
  ) {}

  /** Restart server i; it must come back with what it saved (checked once the restart is on record). */
  private restart(i: number): () => void {
    const id = this.h.id(i);
    const saved = this.checkRestarts ? persistentStateOf(this.h.cluster.status(id)) : null;
    this.h.cluster.restart(id);
    return () => (saved ? this.checkRestarted(i, saved) : undefined);
  }

  private checkRestarted(i: number, saved: PersistentState): void {
    const id = this.h.id(i);
    const back = persistentStateOf(this.h.cluster.status(id));
    const lost = restartDifference(saved, back, (v) => (v === null ? 'null' : `n${this.h.ids.indexOf(v)}`));
    if (lost) throw new ScenarioCheckFailure(`n${i} restarted with ${lost}`, 'restart', this.h.now, `restart n${i}`);
  }

  private get n(): number {
    return this.plan.servers;
  }

  private up(i: number): boolean {
    return this.h.isConnected(i) && this.h.isAlive(i);
  }

  private upCount(): number {
    let k = 0;
    for (let i = 0; i < this.n; i++) if (this.up(i)) k++;
    return k;
  }

  private hasMajority(): boolean {
    return this.upCount() * 2 > this.n;
  }

  /** A majority has been up for long enough (default: that a correct Raft has a leader by now). */
  private settled(ms = settleMs): boolean {
    return this.majoritySince !== null && this.h.now - this.majoritySince >= ms;
  }

  private leadersUp(): { i: number; term: number }[] {
    const out: { i: number; term: number }[] = [];
    for (let i = 0; i < this.n; i++) {
      if (!this.up(i)) continue;
      const core = this.h.cluster.raft(this.h.id(i));
      if (core?.role === 'leader') out.push({ i, term: core.currentTerm });
    }
    return out;
  }

  private fail(step: string, kind: HarnessFailureKind, message: string): never {
    throw new ScenarioCheckFailure(`${step}: ${message} (t=${this.h.now.toFixed(1)} ms)`, kind, this.h.now, step);
  }

  // ---- Faults ----

  private resolve(ref: NodeRef): number | null {
    if (typeof ref === 'number') return ref;
    if ('leader' in ref) {
      const leaders = this.leadersUp();
      if (leaders.length === 0) {
        // a crashed or cut-off server may still believe it leads; config.go's loops look at every server
        for (let i = 0; i < this.n; i++) {
          if (this.h.cluster.raft(this.h.id(i))?.role === 'leader') return (i + ref.leader) % this.n;
        }
        return null;
      }
      const best = leaders.reduce((a, b) => (b.term > a.term ? b : a));
      return (best.i + ref.leader) % this.n;
    }
    if ('ref' in ref) {
      const base = this.names.get(ref.ref);
      return base === undefined ? null : (base + (ref.plus ?? 0)) % this.n;
    }
    const except = new Set(ref.except.map((name) => this.names.get(name)));
    for (const r of ref.first) {
      const i = this.resolve(r);
      if (i !== null && !except.has(i)) return i;
    }
    return null;
  }

  applyFault(f: PlannedFault | Fault): void {
    const h = this.h;
    if (f.kind === 'network') {
      h.cluster.setNetwork(networkOf(f.preset));
      this.resolved.push(f);
      if (f.forMs !== undefined) h.cluster.after(f.forMs, () => h.cluster.setNetwork(reliableNetwork));
      return;
    }
    const node = this.resolve(f.node);
    if (node === null) return;
    const id = h.id(node);
    let check = () => {};
    switch (f.kind) {
      case 'disconnect':
        if (!h.isConnected(node)) return;
        h.disconnect(node);
        break;
      case 'connect':
        if (h.isConnected(node)) return;
        h.connect(node);
        break;
      case 'crash':
        if (!h.cluster.isAlive(id)) return;
        h.cluster.crash(id);
        break;
      case 'restart': {
        if (h.cluster.isAlive(id)) return;
        const limit = 'ifUpBelow' in f ? f.ifUpBelow : undefined;
        if (limit !== undefined && this.aliveCount() >= limit) return;
        try {
          check = this.restart(node);
        } catch (error) {
          this.resolved.push({ at: h.now, kind: 'restart', node }); // a restart that failed is the fault to replay
          throw error;
        }
        break;
      }
    }
    if ('as' in f && f.as !== undefined) this.names.set(f.as, node);
    this.resolved.push({ at: h.now, kind: f.kind, node });
    this.afterTopologyChange();
    check();
  }

  private aliveCount(): number {
    let k = 0;
    for (let i = 0; i < this.n; i++) if (this.h.isAlive(i)) k++;
    return k;
  }

  private afterTopologyChange(): void {
    const majority = this.hasMajority();
    if (majority && this.majoritySince === null) this.majoritySince = this.h.now;
    if (!majority && this.majoritySince !== null) {
      this.majoritySince = null;
      this.leadersAtMinority = this.leadersUp();
    }
    for (const s of this.started.values()) {
      if (!s.reachedMajority && this.groupOf(s.leader) * 2 > this.n) s.reachedMajority = true;
    }
  }

  /** How many servers `i` can reach, itself included (connected servers reach each other). */
  private groupOf(i: number): number {
    if (!this.h.isAlive(i)) return 0;
    return this.h.isConnected(i) ? this.upCount() : 1;
  }

  // ---- Steps ----

  runStep(s: Step): void {
    switch (s.kind) {
      case 'leader':
        return this.leaderStep(s, s.at + (s.within ?? 0));
      case 'no-leader':
        return this.noLeaderStep();
      case 'terms':
        return this.termsStep(s);
      case 'one':
        return this.oneStep(s, s.chain ?? 1, 0);
      case 'start':
        return this.startStep(s);
      case 'not-committed':
        return this.notCommittedStep(s);
      case 'applied':
        return this.appliedStep(s, s.at + (s.within ?? 1000));
      case 'name': {
        const i = this.resolve(s.node);
        if (i !== null) this.names.set(s.as, i);
        return;
      }
      case 'recover':
        return this.recover();
    }
  }

  private leaderStep(s: Extract<Step, { kind: 'leader' }>, deadline: number): void {
    const label = s.unique ? 'exactly one leader' : 'a leader';
    const leaders = this.leadersUp();
    const byTerm = new Map<number, number[]>();
    for (const l of leaders) byTerm.set(l.term, [...(byTerm.get(l.term) ?? []), l.i]);
    for (const [term, ls] of byTerm) {
      if (ls.length > 1) this.fail(label, 'two-leaders', `term ${term} has ${ls.length} leaders (n${ls.join(', n')})`);
    }
    const ok = s.unique ? leaders.length === 1 : leaders.length > 0;
    if (ok) {
      const best = leaders.reduce((a, b) => (b.term > a.term ? b : a));
      if (s.as !== undefined) this.names.set(s.as, best.i);
      return;
    }
    if (this.h.now >= deadline) {
      if (!this.hasMajority()) return; // no majority up: nobody can be elected, nothing to check
      if (this.settled()) {
        const found = leaders.length === 0 ? 'none' : `${leaders.length} (n${leaders.map((l) => l.i).join(', n')})`;
        this.fail(label, s.unique ? 'unexpected-leader' : 'no-leader', `expected ${label} among the connected servers, found ${found}`);
      }
    }
    this.pendingClients++;
    this.h.cluster.after(50, () => {
      this.pendingClients--;
      this.leaderStep(s, deadline);
    });
  }

  private noLeaderStep(): void {
    if (this.hasMajority()) return;
    const before = new Set(this.leadersAtMinority.map((l) => `${l.i}:${l.term}`));
    const elected = this.leadersUp().filter((l) => !before.has(`${l.i}:${l.term}`));
    if (elected.length > 0) {
      this.fail('no leader', 'unexpected-leader', `n${elected[0]!.i} became leader of term ${elected[0]!.term} with only ${this.upCount()} of ${this.n} servers connected`);
    }
  }

  private termsStep(s: Extract<Step, { kind: 'terms' }>): void {
    let term = -1;
    for (let i = 0; i < this.n; i++) {
      if (!this.up(i)) continue;
      const t = this.h.cluster.raft(this.h.id(i))!.currentTerm;
      if (term === -1) term = t;
      else if (t !== term) this.fail('same term', 'terms', `servers disagree on the term (${term} and ${t})`);
    }
    if (s.as !== undefined) this.terms.set(s.as, term);
    if (s.same !== undefined) {
      const was = this.terms.get(s.same);
      if (was !== undefined && was !== term) this.fail('same term', 'terms', `the term changed from ${was} to ${term} with no failures`);
    }
  }

  /** 6.5840's one(): find a leader among the connected servers, Start, wait for agreement; retry. */
  private oneStep(s: Extract<Step, { kind: 'one' }>, remaining: number, k: number): void {
    const h = this.h;
    const value = s.value + k;
    const label = `one(${value})`;
    const t0 = h.now;
    let starts = 0;
    this.pendingClients++;
    const done = (index: number): void => {
      this.pendingClients--;
      if (s.index !== undefined && k === 0 && index !== s.index) this.fail(label, 'assertion', `got index ${index} but expected ${s.index}`);
      if (remaining > 1) this.oneStep(s, remaining - 1, k + 1);
    };
    // a client may sit 2 s on an index a cut-off leader gave it before it tries again
    const giveUp = (): boolean => h.now - t0 >= oneGivesUpMs && this.settled(settleMs + 2500);
    const attempt = (): void => {
      if (giveUp()) this.fail(label, 'no-agreement', `failed to reach agreement in ${oneGivesUpMs / 1000} s`);
      if (h.now - t0 >= 3 * oneGivesUpMs) {
        this.pendingClients--; // no majority for this long: nothing to check
        return;
      }
      let index = -1;
      for (let si = 0; si < this.n; si++) {
        starts = (starts + 1) % this.n;
        if (!this.up(starts)) continue;
        const r = h.start(starts, value);
        if (r.isLeader) {
          index = r.index;
          break;
        }
      }
      if (index === -1) {
        h.cluster.after(50, attempt);
        return;
      }
      const t1 = h.now;
      const poll = (): void => {
        const expected = s.servers ?? this.upCount();
        const { count, value: got } = h.nCommitted(index);
        if (count > 0 && count >= expected && got === value) return done(index);
        if (h.now - t1 >= 2000) {
          if (!s.retry && this.settled(settleMs + 2500)) this.fail(label, 'no-agreement', `failed to reach agreement (only ${count} of ${expected} servers applied index ${index})`);
          attempt();
          return;
        }
        h.cluster.after(20, poll);
      };
      poll();
    };
    attempt();
  }

  private startStep(s: Extract<Step, { kind: 'start' }>): void {
    const h = this.h;
    const targets = s.node === 'all' ? [...Array(this.n).keys()].filter((i) => h.isAlive(i)) : [this.resolve(s.node)];
    for (const i of targets) {
      if (i === null || !h.isAlive(i)) continue;
      const r = h.start(i, s.value);
      const label = `Start(${s.value}) on n${i}`;
      if (s.leader && !r.isLeader) this.fail(label, 'assertion', 'the leader rejected Start()');
      if (r.isLeader && s.index && !s.index.includes(r.index)) {
        this.fail(label, 'assertion', `expected index ${s.index.join(' or ')}, got ${r.index}`);
      }
      if (r.isLeader && s.as !== undefined) {
        this.started.set(s.as, { index: r.index, value: s.value, leader: i, reachedMajority: this.groupOf(i) * 2 > this.n });
      }
    }
  }

  private notCommittedStep(s: Extract<Step, { kind: 'not-committed' }>): void {
    const started = this.started.get(s.of);
    if (!started || started.reachedMajority) return;
    const { count, command } = this.h.cluster.committedAt(started.index);
    if (count > 0 && valueOf(command) === started.value) {
      this.fail(
        `Start(${started.value}) not committed`,
        'committed-without-majority',
        `${count} server(s) applied ${started.value} at index ${started.index}, though its leader n${started.leader} never reached a majority`,
      );
    }
  }

  private appliedStep(s: Extract<Step, { kind: 'applied' }>, deadline: number): void {
    const missing = [...Array(this.n).keys()].filter((i) => this.up(i) && this.h.cluster.appliedAt(this.h.id(i), s.index) === undefined);
    if (missing.length === 0) return;
    if (this.h.now >= deadline && this.settled()) {
      this.fail(`index ${s.index} applied everywhere`, 'no-agreement', `n${missing.join(', n')} never applied index ${s.index}`);
    }
    this.pendingClients++;
    this.h.cluster.after(20, () => {
      this.pendingClients--;
      this.appliedStep(s, deadline);
    });
  }

  private recover(): void {
    const h = this.h;
    h.cluster.setNetwork(reliableNetwork);
    const checks: (() => void)[] = [];
    for (let i = 0; i < this.n; i++) {
      if (!h.isAlive(i)) checks.push(this.restart(i));
      if (!h.isConnected(i)) h.connect(i);
    }
    this.afterTopologyChange();
    for (const check of checks) check();
  }
}
