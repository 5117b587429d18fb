import { renderVegaLite, type VegaLiteSpec } from './vega';

/** One line of Figure 16: a timeout range's label ('150-155') and the downtime of every trial (ms). */
export interface ElectionSamples {
  readonly label: string;
  readonly samples: readonly number[];
}

export interface PaperFigure {
  readonly label: string;
  readonly statistic: 'median' | 'mean' | 'max';
  readonly value: number;
  readonly quote: string;
}

/** What section 9.3 of the Raft paper states in numbers (Figure 16 itself is a plot). */
export const paperFigure16: readonly PaperFigure[] = [
  { label: '150-150', statistic: 'median', value: 10_000, quote: 'in the absence of randomness, leader election consistently took longer than 10 seconds' },
  { label: '150-155', statistic: 'median', value: 287, quote: 'adding just 5 ms of randomness ... a median downtime of 287 ms' },
  { label: '150-200', statistic: 'max', value: 513, quote: 'with 50 ms of randomness the worst-case completion time (over 1000 trials) was 513 ms' },
  { label: '12-24', statistic: 'mean', value: 35, quote: 'with an election timeout of 12-24 ms, it takes only 35 ms on average' },
  { label: '12-24', statistic: 'max', value: 152, quote: 'the longest trial took 152 ms' },
];

export interface ElectionCdfOptions {
  readonly title?: string;
  /** Show the paper's numbers for the ranges that are plotted. Default true. */
  readonly paper?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Points of the empirical CDF: one per distinct downtime, the fraction of trials at or below it. */
export function cdfPoints(samples: readonly number[]): { downtime: number; fraction: number }[] {
  const sorted = [...samples].sort((a, b) => a - b);
  const points: { downtime: number; fraction: number }[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i + 1 < sorted.length && sorted[i + 1] === sorted[i]) continue;
    points.push({ downtime: Math.max(sorted[i]!, 1), fraction: (i + 1) / sorted.length });
  }
  return points;
}

function fractionFor(statistic: PaperFigure['statistic']): number {
  return statistic === 'max' ? 1 : 0.5;
}

/** The vega-lite spec of electionCdf. */
export function electionCdfSpec(ranges: readonly ElectionSamples[], options: ElectionCdfOptions = {}): VegaLiteSpec {
  if (ranges.length === 0) throw new RangeError('electionCdf: no ranges to plot');
  const values = ranges.flatMap((r) => {
    if (r.samples.length === 0) throw new RangeError(`electionCdf: range ${r.label} has no samples`);
    return cdfPoints(r.samples).map((p) => ({ range: r.label, ...p }));
  });
  const labels = ranges.map((r) => r.label);
  const paper = (options.paper ?? true)
    ? paperFigure16.filter((p) => labels.includes(p.label)).map((p) => ({
        range: p.label, downtime: p.value, fraction: fractionFor(p.statistic),
        text: `paper ${p.label}: ${p.statistic} ${p.value} ms`, quote: p.quote,
      }))
    : [];
  const x = { field: 'downtime', type: 'quantitative', title: 'time without leader (ms, log scale)', scale: { type: 'log' } };
  const y = { field: 'fraction', type: 'quantitative', title: 'cumulative fraction of trials', scale: { domain: [0, 1] } };
  const color = { field: 'range', type: 'nominal', title: 'timeout (ms)', sort: labels };
  const layers: object[] = [
    { data: { values }, mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 }, encoding: { x, y, color } },
  ];
  if (paper.length > 0) {
    layers.push({
      data: { values: paper },
      mark: { type: 'point', shape: 'diamond', filled: true, size: 90, stroke: 'black', strokeWidth: 1 },
      encoding: { x, y, color, tooltip: [{ field: 'text' }, { field: 'quote' }] },
    });
    layers.push({
      data: { values: paper },
      mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 9, color: '#333' },
      encoding: { x, y, text: { field: 'text' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? 'Figure 16: time to elect a new leader after a crash (diamonds: the paper\'s numbers)',
    width: options.width ?? 560,
    height: options.height ?? 300,
    background: 'white',
    layer: layers,
  };
}

/** Figure 16's CDF of leader-election downtime, one line per timeout range, beside the paper's numbers. An SVG string. */
export async function electionCdf(ranges: readonly ElectionSamples[], options: ElectionCdfOptions = {}): Promise<string> {
  return renderVegaLite(electionCdfSpec(ranges, options));
}
