import type { NodeStatus } from './cluster';

/** A small fixed-width table of node states, for terminals and notebook text output. */
export function formatStatusTable(statuses: readonly NodeStatus[]): string {
  const rows = statuses.map((s) => [
    s.id,
    s.role,
    String(s.term),
    s.votedFor ?? '-',
    String(s.lastIndex),
    String(s.commitIndex),
    JSON.stringify(s.state),
  ]);
  const header = ['node', 'role', 'term', 'votedFor', 'log', 'commit', 'state machine'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
