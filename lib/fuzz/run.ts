import type { Handlers } from '../raft/context';
import type { RaftRules } from '../raft/rules';
import type { Command, NodeId } from '../raft/types';
import type { TrackedRead } from '../raft/reads';
import { Cluster, InvariantViolation, type ClusterBugs } from '../sim/cluster';
import type { TraceLevel } from '../sim/trace';
import { calmPhase, networkFor, type Fault, type Schedule } from './schedule';

/**
 * One seed = one whole run: a cluster in virtual time under the schedule's faults with clients writing all
 * along and the safety monitor checking every event; then every fault is lifted (links healed, calm network,
 * crashed nodes restarted) and liveness is checked: within a bounded virtual time a leader is elected and every
 * write acknowledged to a client is committed and applied on every node.
 */

export interface RunOptions {
  /** Replace some of Figure 2's rules (the bug zoo). */
  readonly rules?: Partial<RaftRules>;
  readonly handlers?: Partial<Handlers>;
  readonly bugs?: ClusterBugs;
  /** Default 'off' (fastest); 'all' to report or plot a failing seed. */
  readonly trace?: TraceLevel;
  /** Virtual ms allowed after the heal for the liveness check. Default 10,000. */
  readonly livenessBoundMs?: number;
}

export type Failure =
  | {
      readonly kind: 'safety';
      readonly property: string;
      readonly detail: string;
      readonly eventIndex: number;
      readonly time: number;
      readonly message: string;
    }
  | { readonly kind: 'liveness'; readonly detail: string; readonly time: number }
  /** The library threw something other than a safety violation: a bug too. */
  | { readonly kind: 'error'; readonly detail: string; readonly time: number };

export interface RunResult {
  readonly schedule: Schedule;
  readonly failure: Failure | null;
  /** Client writes a leader accepted, and how many of them were acknowledged (applied on that leader). */
  readonly proposed: number;
  readonly acknowledged: number;
  /** Virtual time at which the liveness check was satisfied (or gave up). */
  readonly endTime: number;
  readonly cluster: Cluster;
}

interface Write {
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly command: Command;
}

export const defaultLivenessBoundMs = 10_000;

export function runSchedule(schedule: Schedule, options: RunOptions = {}): RunResult {
  const cluster = new Cluster({
    nodes: schedule.nodes,
    seed: schedule.seed,
    network: networkFor(calmPhase),
    preVote: schedule.preVote,
    checkQuorum: schedule.checkQuorum,
    leaderNoop: schedule.leaderNoop,
    ...(schedule.leaderWriteMs !== undefined ? { leaderWriteMs: schedule.leaderWriteMs } : {}),
    ...(schedule.leaseReads ? { leaseReads: true } : {}),
    ...(schedule.snapshotEvery > 0 ? { snapshotEvery: schedule.snapshotEvery, snapshotChunkChars: schedule.snapshotChunkChars } : {}),
    trace: options.trace ?? 'off',
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.handlers ? { handlers: options.handlers } : {}),
    ...(options.bugs ? { bugs: options.bugs } : {}),
  });
  const ids = cluster.ids;
  for (const fault of schedule.faults) cluster.at(fault.at, () => applyFault(cluster, ids, fault));

  const writes: Write[] = [];
  let n = 0;
  let known: NodeId | null = null; // the sticky client's idea of the leader
  const client = (): void => {
    if (cluster.now >= schedule.durationMs) return;
    const command = { w: n++ };
    const p = cluster.propose(command, schedule.client === 'sticky' && known !== null ? known : undefined);
    if (!p.accepted && schedule.client === 'sticky') {
      known = p.leaderId !== null && cluster.isAlive(p.leaderId) ? p.leaderId : cluster.leader();
    } else if (p.accepted) {
      known = p.node;
    }
    if (p.accepted) writes.push({ node: p.node, index: p.index, term: p.term, command });
    cluster.after(schedule.proposeEveryMs, client);
  };
  cluster.after(schedule.proposeEveryMs, client);

  // Reads through ReadIndex, each required to see every entry committed anywhere before it began.
  const reads: { readonly node: NodeId; readonly floor: number; readonly tracked: TrackedRead; readonly at: number }[] = [];
  let committedSoFar = 0;
  const reader = (): void => {
    if (cluster.now >= schedule.durationMs) return;
    for (const id of ids) committedSoFar = Math.max(committedSoFar, cluster.raft(id)?.commitIndex ?? 0);
    // The sticky client reads where it last wrote: a leader that may since have been deposed.
    const target = schedule.client === 'sticky' && known !== null && cluster.isAlive(known) ? known : cluster.leader();
    const tracked = target === null ? null : cluster.readAndTrack(target, { timeoutMs: 1000 });
    if (tracked) {
      tracked.promise.catch(() => undefined); // refused, timed out, crashed: a client retries; only answers are checked
      reads.push({ node: target!, floor: committedSoFar, tracked, at: cluster.now });
    }
    cluster.after(schedule.readEveryMs, reader);
  };
  if (schedule.readEveryMs > 0) cluster.after(schedule.readEveryMs, reader);
  const staleRead = (): Failure | null => {
    for (const r of reads) {
      if (r.tracked.index === null || r.tracked.index >= r.floor) continue;
      const detail = `a read taken by ${r.node} at ${r.at.toFixed(3)} ms answered at index ${r.tracked.index}, but index ${r.floor} was already committed`;
      return { kind: 'safety', property: 'linearizable reads (ReadIndex)', detail, eventIndex: cluster.trace.count, time: r.at, message: detail };
    }
    return null;
  };

  const result = (failure: Failure | null): RunResult => ({
    schedule,
    failure,
    proposed: writes.length,
    acknowledged: writes.filter((w) => isApplied(cluster, w.node, w)).length,
    endTime: cluster.now,
    cluster,
  });

  try {
    cluster.runUntilTime(schedule.durationMs);
    // Lift every fault.
    cluster.heal();
    cluster.setNetwork(networkFor(calmPhase));
    for (const id of ids) if (!cluster.isAlive(id)) cluster.restart(id);
    const failure = staleRead() ?? checkLiveness(cluster, writes, options.livenessBoundMs ?? defaultLivenessBoundMs) ?? sameStateMachines(cluster);
    return result(failure);
  } catch (error) {
    if (error instanceof InvariantViolation) {
      return result({
        kind: 'safety',
        property: error.property,
        detail: error.detail,
        eventIndex: error.eventIndex,
        time: error.time,
        message: error.message,
      });
    }
    return result({ kind: 'error', detail: error instanceof Error ? error.message : String(error), time: cluster.now });
  }
}

function isApplied(cluster: Cluster, id: NodeId, w: Write): boolean {
  const entry = cluster.appliedAt(id, w.index);
  if (entry === undefined || entry.term !== w.term) return false;
  // In the simulator an entry carries the very object the client proposed; compare by value only otherwise.
  return entry.command === w.command || JSON.stringify(entry.command) === JSON.stringify(w.command);
}

/**
 * A client writes a probe to whoever leads, and again whenever that leader is gone (Figure 2's leaders commit
 * earlier terms' entries only with one of their own), until the latest probe is applied on every node; then every
 * acknowledged write must be applied on every node too.
 */
function checkLiveness(cluster: Cluster, writes: readonly Write[], boundMs: number): Failure | null {
  let probe: Write | null = null;
  let probes = 0;
  let stop = false;
  const prober = (): void => {
    if (stop) return;
    const core = probe ? cluster.raft(probe.node) : null;
    const stale = !probe || !core || core.role !== 'leader' || core.currentTerm !== probe.term;
    if (stale) {
      const command = { probe: probes++ };
      const p = cluster.propose(command);
      if (p.accepted) probe = { node: p.node, index: p.index, term: p.term, command };
    }
    cluster.after(50, prober);
  };
  prober();
  // Every member of the leader's configuration (a removed server gets nothing more): the probe after it commits it.
  const settled = (): readonly NodeId[] | null => (cluster.leader() === null ? null : membersOf(cluster));
  const everywhere = (w: Write, members: readonly NodeId[]): boolean => members.every((id) => isApplied(cluster, id, w));
  const done = cluster.runUntil(
    () => {
      const members = settled();
      return probe !== null && members !== null && members.every((id) => (cluster.raft(id)?.lastApplied ?? 0) >= probe!.index) && everywhere(probe, members);
    },
    { timeout: boundMs },
  );
  const ids = membersOf(cluster);
  stop = true;
  if (!done) {
    const states = ids
      .map((id) => {
        const c = cluster.raft(id)!;
        return `${id} ${c.role} term ${c.currentTerm} votedFor ${c.votedFor ?? '-'} commit ${c.commitIndex}/${c.lastIndex}`;
      })
      .join('; ');
    const leader = cluster.leader();
    return {
      kind: 'liveness',
      detail:
        `${boundMs} virtual ms after the heal, ${leader === null ? 'no leader was elected' : `leader ${leader} has not committed a write on every node`}` +
        ` (${states})`,
      time: cluster.now,
    };
  }
  for (const w of writes) {
    if (!isApplied(cluster, w.node, w)) continue; // never acknowledged
    const missing = ids.filter((id) => !isApplied(cluster, id, w));
    if (missing.length > 0) {
      return {
        kind: 'liveness',
        detail: `write ${JSON.stringify(w.command)} acknowledged by ${w.node} at index ${w.index} (term ${w.term}) is not applied on ${missing.join(', ')}`,
        time: cluster.now,
      };
    }
  }
  return null;
}

/** Nodes that applied the same entries hold the same state (snapshots installed from the leader included). */
function sameStateMachines(cluster: Cluster): Failure | null {
  const byApplied = new Map<number, { id: NodeId; state: string }>();
  for (const id of cluster.ids) {
    const applied = cluster.raft(id)!.lastApplied;
    const state = JSON.stringify(cluster.stateMachine(id).toJSON());
    const other = byApplied.get(applied);
    if (other === undefined) byApplied.set(applied, { id, state });
    else if (other.state !== state) {
      const detail = `${id} and ${other.id} both applied up to index ${applied} but hold different states (${state.slice(0, 120)} vs ${other.state.slice(0, 120)})`;
      return { kind: 'safety', property: 'State Machine Safety', detail, eventIndex: cluster.trace.count, time: cluster.now, message: `State Machine Safety violated: ${detail}` };
    }
  }
  return null;
}

/** The schedule's nodes and its two spares, by position (n0 ... n<nodes+1>). */
function sparesOf(cluster: Cluster, ids: readonly NodeId[]): NodeId[] {
  const host = ids[0]!.slice(0, ids[0]!.lastIndexOf(':'));
  const base = Number(ids[0]!.slice(ids[0]!.lastIndexOf(':') + 1));
  return [...ids, `${host}:${base + ids.length}`, `${host}:${base + ids.length + 1}`];
}

/** The servers of the leader's configuration (every server while no configuration was set). */
function membersOf(cluster: Cluster): readonly NodeId[] {
  const leader = cluster.leader();
  if (leader === null) return cluster.ids;
  const { voters, learners } = cluster.configuration(leader);
  return [...voters, ...learners];
}

function applyFault(cluster: Cluster, ids: readonly NodeId[], fault: Fault): void {
  switch (fault.kind) {
    case 'crash':
      cluster.crash(ids[fault.node]!);
      break;
    case 'restart':
      cluster.restart(ids[fault.node]!);
      break;
    case 'crash-leader': {
      const leader = cluster.leader();
      if (leader === null) break;
      cluster.crash(leader);
      cluster.after(fault.downMs, () => cluster.restart(leader));
      break;
    }
    case 'partition':
      cluster.partition(...fault.groups.map((g) => g.map((i) => ids[i]!)));
      break;
    case 'cut':
      cluster.cutLink(ids[fault.from]!, ids[fault.to]!);
      break;
    case 'clog':
      cluster.cutLink(ids[fault.node]!, ids[fault.peer]!);
      cluster.cutLink(ids[fault.peer]!, ids[fault.node]!);
      break;
    case 'unclog':
      cluster.restoreLink(ids[fault.node]!, ids[fault.peer]!);
      cluster.restoreLink(ids[fault.peer]!, ids[fault.node]!);
      break;
    case 'heal':
      cluster.heal();
      break;
    case 'add-server': {
      const spare = sparesOf(cluster, ids).find((id) => !cluster.ids.includes(id));
      if (spare !== undefined && cluster.leader() !== null) cluster.addServer(spare);
      break;
    }
    case 'remove-server': {
      const id = sparesOf(cluster, ids)[fault.node];
      if (id !== undefined && cluster.ids.includes(id) && cluster.leader() !== null && cluster.leader() !== id) cluster.removeServer(id);
      break;
    }
    case 'transfer-leader': {
      const leader = cluster.leader();
      if (leader !== null && leader !== ids[fault.to]) cluster.transferLeadership(leader, ids[fault.to]!);
      break;
    }
    case 'isolate-leader': {
      const leader = cluster.leader();
      if (leader === null) break;
      cluster.disconnect(leader);
      cluster.after(fault.forMs, () => cluster.connect(leader));
      break;
    }
    case 'network':
      cluster.setNetwork(networkFor(fault.phase));
      break;
  }
}
