import type { Message, NodeId } from '../raft/types';
import type { DropReason } from '../sim/trace';
import { renderPlot } from './dom';
import { shortNames, viewOf, type TraceSource } from './source';

export interface MessageDiagramOptions {
  readonly title?: string;
  /** Virtual-time window (ms). Default: from the first message, at most maxMessages messages. */
  readonly from?: number;
  readonly to?: number;
  /** At most this many messages (default 60): a diagram is for a short run. */
  readonly maxMessages?: number;
  readonly width?: number;
}

export interface MessageArrow {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly sent: number;
  /** Delivery time, or null when the message was dropped. */
  readonly delivered: number | null;
  readonly dropped: DropReason | null;
  readonly type: Message['type'] | 'Heartbeat';
  readonly label: string;
}

const abbreviations: Record<MessageArrow['type'], string> = {
  RequestVote: 'RV',
  RequestVoteReply: 'RV✓',
  AppendEntries: 'AE',
  Heartbeat: 'HB',
  AppendEntriesReply: 'AE✓',
  TimeoutNow: 'TN',
  InstallSnapshot: 'IS',
  InstallSnapshotReply: 'IS✓',
};

const typeColours: Record<MessageArrow['type'], string> = {
  RequestVote: '#e6550d',
  RequestVoteReply: '#fdae6b',
  AppendEntries: '#3182bd',
  Heartbeat: '#9ecae1',
  AppendEntriesReply: '#31a354',
  TimeoutNow: '#756bb1',
  InstallSnapshot: '#54278f',
  InstallSnapshotReply: '#9e9ac8',
};

function typeOf(m: Message): MessageArrow['type'] {
  return m.type === 'AppendEntries' && m.entries.length === 0 ? 'Heartbeat' : m.type;
}

function labelOf(m: Message): string {
  const base = `${abbreviations[typeOf(m)]} t${m.term}`;
  if (m.type === 'RequestVoteReply') return `${m.voteGranted ? 'yes' : 'no'} t${m.term}`;
  if (m.type === 'AppendEntries' && m.entries.length > 0) return `${base} +${m.entries.length}`;
  return base;
}

/**
 * Pair each send with its delivery (or its drop). The simulator hands the same message object to both events;
 * a duplicated message is delivered twice from one send.
 */
export function messageArrows(source: TraceSource, options: Pick<MessageDiagramOptions, 'from' | 'to' | 'maxMessages'> = {}): MessageArrow[] {
  const view = viewOf(source);
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  const max = options.maxMessages ?? 60;
  const arrows: MessageArrow[] = [];
  const pending = new Map<Message, { index: number; to: NodeId }[]>();
  for (const e of view.events) {
    if (e.kind === 'send') {
      if (e.t < from || e.t > to || arrows.length >= max) continue;
      const arrow: MessageArrow = { from: e.node, to: e.to, sent: e.t, delivered: null, dropped: null, type: typeOf(e.message), label: labelOf(e.message) };
      const list = pending.get(e.message) ?? [];
      list.push({ index: arrows.length, to: e.to });
      pending.set(e.message, list);
      arrows.push(arrow);
    } else if (e.kind === 'deliver' || e.kind === 'drop') {
      const receiver = e.kind === 'deliver' ? e.node : e.to;
      const list = pending.get(e.message);
      const k = list?.findIndex((p) => p.to === receiver) ?? -1;
      if (!list || k < 0) continue;
      const [{ index }] = list.splice(k, 1) as [{ index: number; to: NodeId }];
      const a = arrows[index]!;
      arrows[index] = e.kind === 'deliver' ? { ...a, delivered: e.t } : { ...a, dropped: e.reason };
    }
  }
  if (view.events.length > 0 && arrows.length === 0 && !view.events.some((e) => e.kind === 'send')) {
    throw new Error('messageDiagram: the trace has no messages; run the cluster with trace: "all"');
  }
  return arrows;
}

/** A Lamport-style diagram of a short run: one vertical lifeline per node, time downwards, one arrow per message. */
export async function messageDiagram(source: TraceSource, options: MessageDiagramOptions = {}): Promise<string> {
  const view = viewOf(source);
  const arrows = messageArrows(source, options);
  const names = shortNames(view.nodes);
  const name = (id: NodeId) => names.get(id) ?? id;
  const delivered = arrows.filter((a) => a.delivered !== null);
  const dropped = arrows.filter((a) => a.dropped !== null);
  const inFlight = arrows.filter((a) => a.delivered === null && a.dropped === null);
  const times = arrows.flatMap((a) => [a.sent, a.delivered ?? a.sent]);
  const t0 = Math.min(...times, options.from ?? Infinity);
  const t1 = Math.max(...times, t0 + 1);
  const lanes = view.nodes.map(name);
  const title = options.title ?? `Messages ${t0.toFixed(1)}-${t1.toFixed(1)} ms (${arrows.length}${dropped.length ? `, ${dropped.length} dropped` : ''})`;
  const legend = (Object.keys(abbreviations) as MessageArrow['type'][]).map((type, i) => ({ type, i, text: `${abbreviations[type]} = ${type}` }));
  const width = options.width ?? Math.max(640, 170 * lanes.length);
  return renderPlot((Plot) => ({
    width,
    height: Math.min(1400, 120 + 14 * arrows.length),
    marginTop: 70,
    marginLeft: 60,
    marginRight: 40,
    x: { type: 'point', domain: lanes, axis: 'top', label: null, padding: 0.5 },
    y: { domain: [t0, t1], reverse: true, label: null, tickFormat: (t: number) => `${t} ms` },
    style: { background: 'white', fontSize: '11px' },
    marks: [
      Plot.ruleX(lanes, { stroke: '#999' }),
      Plot.arrow(delivered, {
        x1: (a: MessageArrow) => name(a.from), x2: (a: MessageArrow) => name(a.to),
        y1: 'sent', y2: 'delivered', stroke: (a: MessageArrow) => typeColours[a.type], strokeWidth: 1.3, headLength: 7, bend: false,
      }),
      ...[true, false].map((rightwards) =>
        Plot.text(delivered.filter((a) => (lanes.indexOf(name(a.to)) > lanes.indexOf(name(a.from))) === rightwards), {
          x: (a: MessageArrow) => name(a.from), y: 'sent', text: 'label', dy: -5, fontSize: 8,
          textAnchor: rightwards ? 'start' : 'end', dx: rightwards ? 4 : -4, fill: (a: MessageArrow) => typeColours[a.type],
        }),
      ),
      Plot.dot(dropped, { x: (a: MessageArrow) => name(a.from), y: 'sent', symbol: 'times', stroke: '#b2182b', r: 4 }),
      Plot.text(dropped, { x: (a: MessageArrow) => name(a.from), y: 'sent', text: (a: MessageArrow) => `${a.label} → ${name(a.to)} dropped (${a.dropped})`, dx: 8, textAnchor: 'start', fontSize: 8, fill: '#b2182b' }),
      Plot.dot(inFlight, { x: (a: MessageArrow) => name(a.from), y: 'sent', symbol: 'circle', stroke: '#666', r: 2 }),
      Plot.text([title], { frameAnchor: 'top-left', dy: -62, dx: -50, fontSize: 13, fontWeight: 'bold', textAnchor: 'start' }),
      ...legend.map((d) => Plot.text([d.text], { frameAnchor: 'top-left', dy: -44, dx: -50 + (d.i * (width - 40)) / legend.length, fill: typeColours[d.type], textAnchor: 'start', fontSize: 9 })),
    ],
  }));
}
