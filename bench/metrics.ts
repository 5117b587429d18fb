import Table from 'cli-table3';

/** One measured number. Benchmarks measure; they never pass or fail. */
export interface Metric {
  /** Dotted name, e.g. 'sim.deliveries_per_s' or 'fig16.150-155.median_ms'. */
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The paper's figure for the same quantity, where it gives one. */
  readonly paper?: number;
  /** How to read `paper` when it is not a plain measurement, e.g. 'more than'. */
  readonly paperNote?: string;
}

/** Round to `digits` significant digits, so lines stay readable (integers above that are kept whole). */
export function roundValue(value: number, digits = 6): number {
  if (!Number.isFinite(value) || value === 0) return value;
  if (Math.abs(value) >= 10 ** digits) return Math.round(value);
  return Number(value.toPrecision(digits));
}

/**
 * One JSON object per line: `{"metric": NAME, "value": NUMBER, "unit": UNIT}` in that order, then any
 * extra fields ("paper", "paper_note"). A value that is not a finite number is written as null.
 */
export function formatJsonLine(m: Metric): string {
  const value = Number.isFinite(m.value) ? roundValue(m.value) : null;
  let line = `{"metric": ${JSON.stringify(m.metric)}, "value": ${JSON.stringify(value)}, "unit": ${JSON.stringify(m.unit)}`;
  if (m.paper !== undefined) line += `, "paper": ${JSON.stringify(m.paper)}`;
  if (m.paperNote !== undefined) line += `, "paper_note": ${JSON.stringify(m.paperNote)}`;
  return `${line}}`;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (Number.isInteger(value) || abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** A readable table: our value, the paper's beside it where it gives one, and the ratio. */
export function formatTable(metrics: readonly Metric[]): string {
  const table = new Table({
    head: ['metric', 'ours', 'unit', 'paper', 'ours / paper'],
    colAligns: ['left', 'right', 'left', 'right', 'right'],
    style: { head: [], border: [], compact: true },
  });
  for (const m of metrics) {
    const paper = m.paper === undefined ? '' : `${m.paperNote ? `${m.paperNote} ` : ''}${formatNumber(m.paper)}`;
    // A ratio to a bound ("more than 10 s") would read as a measurement; leave it out.
    const ratio = m.paper === undefined || m.paper === 0 || m.paperNote ? '' : (m.value / m.paper).toFixed(2);
    table.push([m.metric, formatNumber(m.value), m.unit, paper, ratio]);
  }
  return table.toString();
}
