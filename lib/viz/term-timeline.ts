import type { NodeId, Role } from '../raft/types';
import { viewOf, type TraceSource } from './source';
import { renderVegaLite, type VegaLiteSpec } from './vega';

export interface TermTimelineOptions {
  readonly title?: string;
  /** Only these nodes (default: every node of the cluster/trace). */
  readonly nodes?: readonly NodeId[];
  /** Plot width in pixels. Default 640. */
  readonly width?: number;
  /** Draw up to this virtual time (default: the cluster's clock or the last event). */
  readonly until?: number;
}

export type TimelineRole = Role | 'down';

/** A stretch of time during which a node kept one role in one term. */
export interface RoleSegment {
  readonly node: NodeId;
  readonly start: number;
  readonly end: number;
  readonly role: TimelineRole;
  readonly term: number;
}

export interface TimelineMark {
  readonly t: number;
  readonly node: NodeId;
  readonly kind: 'crash' | 'restart';
}

export interface NetworkMark {
  readonly t: number;
  readonly kind: 'partition' | 'heal';
  readonly label: string;
}

export interface TimelineData {
  readonly nodes: readonly NodeId[];
  readonly segments: readonly RoleSegment[];
  readonly marks: readonly TimelineMark[];
  readonly network: readonly NetworkMark[];
  readonly end: number;
}

/** Every node's role and term over time, from the trace's role, term, crash, restart, partition and heal events. */
export function timelineData(source: TraceSource, options: Pick<TermTimelineOptions, 'nodes' | 'until'> = {}): TimelineData {
  const view = viewOf(source);
  const nodes = options.nodes ?? view.nodes;
  const end = options.until ?? view.end;
  const wanted = new Set(nodes);
  const state = new Map<NodeId, { start: number; role: TimelineRole; term: number }>();
  for (const id of nodes) state.set(id, { start: 0, role: 'follower', term: 0 });
  const segments: RoleSegment[] = [];
  const marks: TimelineMark[] = [];
  const network: NetworkMark[] = [];

  const change = (node: NodeId, t: number, role: TimelineRole, term: number) => {
    const s = state.get(node)!;
    if (s.role === role && s.term === term) return;
    if (t > s.start) segments.push({ node, start: s.start, end: t, role: s.role, term: s.term });
    state.set(node, { start: t, role, term });
  };

  for (const e of view.events) {
    if (e.t > end) break;
    if (e.kind === 'partition' || e.kind === 'heal') {
      network.push({ t: e.t, kind: e.kind, label: e.kind === 'heal' ? 'healed' : `partition (${e.cut.length} links cut)` });
      continue;
    }
    if (!wanted.has(e.node)) continue;
    const s = state.get(e.node)!;
    switch (e.kind) {
      case 'role':
        change(e.node, e.t, e.role, e.term);
        break;
      case 'term':
        if (s.role !== 'down') change(e.node, e.t, s.role, e.term);
        break;
      case 'crash':
        change(e.node, e.t, 'down', s.term);
        marks.push({ t: e.t, node: e.node, kind: 'crash' });
        break;
      case 'restart':
        change(e.node, e.t, 'follower', s.term);
        marks.push({ t: e.t, node: e.node, kind: 'restart' });
        break;
      default:
        break;
    }
  }
  for (const id of nodes) {
    const s = state.get(id)!;
    if (end > s.start) segments.push({ node: id, start: s.start, end, role: s.role, term: s.term });
  }
  return { nodes, segments, marks, network, end };
}

const roleColours: Record<TimelineRole, string> = {
  follower: '#9ecae1',
  precandidate: '#fee6ce',
  candidate: '#fdae6b',
  leader: '#31a354',
  down: '#d9d9d9',
};

/** The vega-lite spec of termTimeline (one row per node; colour = role; the term written in each stretch). */
export function termTimelineSpec(source: TraceSource, options: TermTimelineOptions = {}): VegaLiteSpec {
  const data = timelineData(source, options);
  const width = options.width ?? 640;
  const rowHeight = 34;
  const labelMin = data.end / 40; // write the term only where the stretch is wide enough to hold it
  const segments = data.segments.map((s) => ({ ...s, mid: (s.start + s.end) / 2, termLabel: s.end - s.start >= labelMin && s.role !== 'down' ? `T${s.term}` : '' }));
  const x = { field: 'start', type: 'quantitative', title: 'virtual time (ms)', scale: { domain: [0, data.end], nice: false } };
  const y = { field: 'node', type: 'nominal', title: null, sort: data.nodes };
  const layers: object[] = [
    {
      data: { values: segments },
      mark: { type: 'rect', height: rowHeight - 8 },
      encoding: {
        x,
        x2: { field: 'end' },
        y,
        color: {
          field: 'role', type: 'nominal', title: 'role',
          scale: { domain: Object.keys(roleColours), range: Object.values(roleColours) },
        },
        tooltip: [{ field: 'node' }, { field: 'role' }, { field: 'term' }, { field: 'start' }, { field: 'end' }],
      },
    },
    {
      data: { values: segments },
      mark: { type: 'text', fontSize: 10, color: '#222' },
      encoding: { x: { field: 'mid', type: 'quantitative' }, y, text: { field: 'termLabel' } },
    },
  ];
  if (data.marks.length > 0) {
    layers.push({
      data: { values: data.marks },
      mark: { type: 'point', filled: true, size: 120, opacity: 1 },
      encoding: {
        x: { field: 't', type: 'quantitative' },
        y,
        shape: { field: 'kind', type: 'nominal', title: 'event', scale: { domain: ['crash', 'restart'], range: ['cross', 'triangle-up'] } },
        fill: { value: '#b2182b' },
        stroke: { value: '#b2182b' },
      },
    });
  }
  if (data.network.length > 0) {
    layers.push({
      data: { values: data.network },
      mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
      encoding: { x: { field: 't', type: 'quantitative' }, stroke: { value: '#6a3d9a' } },
    });
    layers.push({
      data: { values: data.network },
      mark: { type: 'text', align: 'left', dx: 3, dy: -4, fontSize: 10, baseline: 'bottom', color: '#6a3d9a' },
      encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? 'Term timeline (colour: role; T = term)',
    width,
    height: rowHeight * Math.max(1, data.nodes.length),
    background: 'white',
    layer: layers,
  };
}

/** Per node: term over time, role as colour, crashes and restarts marked, partitions as dashed lines. An SVG string. */
export async function termTimeline(source: TraceSource, options: TermTimelineOptions = {}): Promise<string> {
  return renderVegaLite(termTimelineSpec(source, options));
}
