/**
 * A picture of a linearizability verdict, after Porcupine's visualization: for an illegal history, the failing
 * key's operations on a timeline, one row per client, each operation a bar from its call to its return (a
 * dashed bar running to the end when it never returned).
 * - green, numbered: the longest linearizable order found (the number is the position in that order);
 * - red: the operation that cannot be placed after that order;
 * - thick outline: the small failing subset (these operations alone are not linearizable);
 * - grey: the other operations of the key.
 * The x axis is the order of events (calls and returns), not time, so short operations stay readable.
 *
 * `linearizabilityPicture(result)` returns a self-contained HTML fragment (an SVG and a legend) for a notebook
 * cell (tslab.display.html) or a file; `linearizabilitySvg(result)` the SVG alone.
 */
import type { LinearizabilityResult, OperationView } from './linearizability/check';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface PictureOptions {
  /** Most operations drawn (default 300): the window around the failing subset is kept. */
  readonly maxOperations?: number;
  readonly title?: string;
}

/** The operations to draw: all, or a window of calls around the failing subset and the stuck operation. */
function windowOf(ops: readonly OperationView[], focus: ReadonlySet<number>, max: number): OperationView[] {
  if (ops.length <= max) return [...ops];
  const positions = ops.map((o, i) => (focus.has(o.index) ? i : -1)).filter((i) => i >= 0);
  const lo = positions.length ? Math.min(...positions) : 0;
  const hi = positions.length ? Math.max(...positions) : 0;
  const slack = Math.max(0, max - (hi - lo + 1));
  const from = Math.max(0, Math.min(lo - Math.floor(slack / 2), ops.length - max));
  const window = ops.slice(from, Math.max(from + max, hi + 1));
  return window.length <= max ? window : window.filter((o) => focus.has(o.index));
}

export function linearizabilitySvg(result: LinearizabilityResult, options: PictureOptions = {}): string {
  if (result.result !== 'illegal') {
    const text = result.result === 'ok' ? `linearizable: ${result.operations} operations over ${result.keys} keys` : `unknown: ${result.reason}`;
    return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="40" font-family="sans-serif" font-size="13"><text x="8" y="24" fill="${result.result === 'ok' ? '#1a7f37' : '#9a6700'}">${esc(text)}</text></svg>`;
  }
  const f = result.failure;
  const order = new Map(f.longestPrefix.map((index, i) => [index, i + 1]));
  const minimal = new Set(f.minimal ?? []);
  const focus = new Set<number>([...minimal, ...(f.stuckAt === null ? [] : [f.stuckAt]), ...f.longestPrefix.slice(-5)]);
  const ops = windowOf(f.operations, focus, options.maxOperations ?? 300);
  const clients = [...new Set(ops.map((o) => String(o.client)))].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
  const row = new Map(clients.map((c, i) => [c, i]));
  // x: rank of each distinct event time.
  const times = [...new Set(ops.flatMap((o) => (o.return === null ? [o.call] : [o.call, o.return])))].sort((a, b) => a - b);
  const rank = new Map(times.map((t, i) => [t, i]));
  const step = Math.max(6, Math.min(28, 1400 / Math.max(1, times.length)));
  const left = 90;
  const rowH = 34;
  const top = 30;
  const width = left + (times.length + 1) * step + 40;
  const height = top + clients.length * rowH + 20;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="8" y="18" font-size="13" font-weight="bold">${esc(options.title ?? `key ${JSON.stringify(f.key)}: not linearizable`)}</text>`);
  clients.forEach((c, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="8" y="${y + 20}" fill="#444">client ${esc(c)}</text>`);
    parts.push(`<line x1="${left}" y1="${y + rowH - 2}" x2="${width - 10}" y2="${y + rowH - 2}" stroke="#eee"/>`);
  });
  for (const o of ops) {
    const x1 = left + rank.get(o.call)! * step;
    const x2 = o.return === null ? width - 20 : left + rank.get(o.return)! * step + step * 0.8;
    const y = top + row.get(String(o.client))! * rowH + 6;
    const stuck = o.index === f.stuckAt;
    const n = order.get(o.index);
    const fill = stuck ? '#cf222e' : n !== undefined ? '#2da44e' : '#d0d7de';
    const stroke = minimal.has(o.index) ? '#0b0b0b' : 'none';
    const label = `#${o.index} ${o.description}${n !== undefined ? ` [linearized ${n}]` : ''}${stuck ? ' [cannot be placed]' : ''}${minimal.has(o.index) ? ' [failing subset]' : ''}`;
    parts.push(
      `<g><title>${esc(label)}</title><rect x="${x1.toFixed(1)}" y="${y}" width="${Math.max(3, x2 - x1).toFixed(1)}" height="20" rx="3" fill="${fill}" fill-opacity="${o.return === null ? 0.45 : 0.9}" stroke="${stroke}" stroke-width="${minimal.has(o.index) ? 2.5 : 0}"${o.return === null ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
    const text = `${n !== undefined ? `${n}: ` : ''}${o.description}`;
    if (x2 - x1 > 40) parts.push(`<text x="${(x1 + 4).toFixed(1)}" y="${y + 14}" fill="${stuck || n !== undefined ? '#fff' : '#222'}">${esc(text.length > (x2 - x1) / 6 ? `${text.slice(0, Math.max(1, Math.floor((x2 - x1) / 6) - 1))}…` : text)}</text>`);
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('\n');
}

export function linearizabilityPicture(result: LinearizabilityResult, options: PictureOptions = {}): string {
  const svg = linearizabilitySvg(result, options);
  const verdict = result.result === 'illegal' ? `<pre style="white-space:pre-wrap;font-size:12px">${esc(result.failure.explanation)}</pre>` : '';
  const legend =
    result.result === 'illegal'
      ? `<div style="font:12px sans-serif;margin:4px 0"><span style="background:#2da44e;color:#fff;padding:0 4px">n</span> longest linearizable order (position n) · <span style="background:#cf222e;color:#fff;padding:0 4px">red</span> cannot be placed · <span style="border:2px solid #000;padding:0 4px">outlined</span> failing subset · <span style="background:#d0d7de;padding:0 4px">grey</span> other operations · dashed: never returned</div>`
      : '';
  return `<div class="linearizability">${legend}<div style="overflow-x:auto">${svg}</div>${verdict}</div>`;
}
