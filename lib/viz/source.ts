import type { NodeId } from '../raft/types';
import type { Cluster } from '../sim/cluster';
import { Trace, type TraceEvent } from '../sim/trace';

/** What a plot can be drawn from: a cluster (its trace, its node ids, its clock), a trace, or its events. */
export type TraceSource = Cluster | Trace | readonly TraceEvent[];

export interface TraceView {
  readonly events: readonly TraceEvent[];
  /** Node ids in cluster order (or in order of first appearance in the trace). */
  readonly nodes: readonly NodeId[];
  /** Where the plot ends: the cluster's clock, or the last event. */
  readonly end: number;
}

function isCluster(source: TraceSource): source is Cluster {
  return !Array.isArray(source) && !(source instanceof Trace) && 'trace' in source && 'ids' in source;
}

export function viewOf(source: TraceSource): TraceView {
  if (isCluster(source)) {
    return { events: source.trace.events, nodes: source.ids, end: source.now };
  }
  const events: readonly TraceEvent[] = source instanceof Trace ? source.events : (source as readonly TraceEvent[]);
  const nodes: NodeId[] = [];
  const seen = new Set<NodeId>();
  const add = (id: NodeId) => {
    if (id !== '*' && !seen.has(id)) {
      seen.add(id);
      nodes.push(id);
    }
  };
  for (const e of events) {
    add(e.node);
    if (e.kind === 'send') add(e.to);
    if (e.kind === 'deliver') add(e.from);
  }
  const end = events.length > 0 ? events[events.length - 1]!.t : 0;
  return { events, nodes, end };
}

/** 127.0.0.1:8001 -> "8001" when every node shares the host, as the lab's nodes do. */
export function shortNames(nodes: readonly NodeId[]): Map<NodeId, string> {
  const hosts = new Set(nodes.map((n) => n.slice(0, n.lastIndexOf(':'))));
  const short = hosts.size === 1 && nodes.every((n) => n.includes(':'));
  return new Map(nodes.map((n) => [n, short ? n.slice(n.lastIndexOf(':') + 1) : n]));
}
