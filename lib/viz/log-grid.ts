import type { LogEntry, NodeId } from '../raft/types';
import type { Cluster } from '../sim/cluster';
import { renderPlot } from './dom';
import { shortNames } from './source';

/** What a log grid shows of one node: its log, how far it is committed, whether it is up. */
export interface LogSnapshot {
  readonly id: NodeId;
  readonly log: readonly LogEntry[];
  readonly commitIndex: number;
  readonly alive?: boolean;
  /** Entries up to here are compacted into a snapshot; `log` starts after it (default 0). */
  readonly snapshotIndex?: number;
}

export interface LogGridOptions {
  readonly title?: string;
  readonly width?: number;
}

function snapshots(source: Cluster | readonly LogSnapshot[]): readonly LogSnapshot[] {
  if (Array.isArray(source)) return source as readonly LogSnapshot[];
  const cluster = source as Cluster;
  return cluster.statuses().map((s) => ({ id: s.id, log: s.log, commitIndex: s.commitIndex, alive: s.alive, snapshotIndex: s.snapshotIndex }));
}

function shortCommand(entry: LogEntry): string {
  const c = entry.command as unknown;
  if (c === null || c === undefined) return 'no-op';
  const text = typeof c === 'object' ? Object.entries(c as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') : JSON.stringify(c);
  return text.length > 14 ? text.slice(0, 13) + '…' : text;
}

/**
 * Every node's log, one row per node, one cell per index: colour = the entry's term, solid = committed on that
 * node, pale with a dashed border = not (yet) committed there. Observable Plot; an SVG string.
 */
export async function logGrid(source: Cluster | readonly LogSnapshot[], options: LogGridOptions = {}): Promise<string> {
  const nodes = snapshots(source);
  const names = shortNames(nodes.map((n) => n.id));
  const rowLabel = (n: LogSnapshot) =>
    `${names.get(n.id)} · commit ${n.commitIndex}${n.snapshotIndex ? ` · snapshot ${n.snapshotIndex}` : ''}${n.alive === false ? ' · down' : ''}`;
  const cells = nodes.flatMap((n) =>
    n.log.map((entry, i) => ({
      row: rowLabel(n),
      index: (n.snapshotIndex ?? 0) + i + 1,
      term: entry.term,
      committed: (n.snapshotIndex ?? 0) + i + 1 <= n.commitIndex,
      label: `T${entry.term}`,
      command: shortCommand(entry),
    })),
  );
  const longest = Math.max(1, ...nodes.map((n) => (n.snapshotIndex ?? 0) + n.log.length));
  const indexes = Array.from({ length: longest }, (_, i) => i + 1);
  const rows = nodes.map(rowLabel);
  const terms = [...new Set(cells.map((c) => c.term))].sort((a, b) => a - b);
  const cellTitle = (d: { index: number; term: number; command: string; committed: boolean }) =>
    `index ${d.index}, term ${d.term}: ${d.command}${d.committed ? ' (committed)' : ' (not committed)'}`;
  const title = options.title ?? 'Logs by index (colour: term; solid: committed; dashed: not committed)';
  return renderPlot((Plot) => ({
    width: options.width ?? Math.max(560, Math.min(900, 200 + 64 * longest)),
    height: 60 + 44 * Math.max(1, nodes.length),
    marginLeft: 150,
    marginTop: 64,
    x: { domain: indexes, label: null, axis: 'top', tickFormat: (d: number) => String(d) },
    y: { domain: rows, label: null },
    color: { type: 'ordinal', domain: terms, scheme: 'tableau10' },
    style: { background: 'white', fontSize: '11px' },
    marks: [
      Plot.cell(cells.filter((c) => c.committed), { x: 'index', y: 'row', fill: 'term', inset: 2, stroke: '#222', title: cellTitle }),
      Plot.cell(cells.filter((c) => !c.committed), { x: 'index', y: 'row', fill: 'term', inset: 2, fillOpacity: 0.35, stroke: '#777', strokeDasharray: '3,2', title: cellTitle }),
      Plot.text(cells, { x: 'index', y: 'row', text: 'label', dy: -7, fontWeight: 'bold' }),
      Plot.text(cells, { x: 'index', y: 'row', text: 'command', dy: 7, fontSize: 8 }),
      Plot.text([title], { frameAnchor: 'top-left', dy: -56, dx: -140, fontSize: 13, fontWeight: 'bold', textAnchor: 'start' }),
    ],
  }));
}
