import type * as PlotModule from '@observablehq/plot';
import { importEsm } from './esm';

export type Plot = typeof PlotModule;

interface LinkedomModule {
  parseHTML(html: string): { document: unknown };
}

/** Observable Plot and a DOM for it to draw into (linkedom: no browser, no canvas). */
export async function loadPlot(): Promise<{ Plot: Plot; document: unknown }> {
  const Plot = await importEsm<Plot>('@observablehq/plot');
  // linkedom ships CommonJS: a plain require keeps it synchronous.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseHTML } = require('linkedom') as LinkedomModule;
  const { document } = parseHTML('<!DOCTYPE html><html><head></head><body></body></html>');
  return { Plot, document };
}

/** Plot.plot(...) with our DOM, as an SVG string (no legends: Plot draws them in HTML, not SVG). */
export async function renderPlot(build: (Plot: Plot) => PlotModule.PlotOptions): Promise<string> {
  const { Plot, document } = await loadPlot();
  const options = build(Plot);
  const element = Plot.plot({ ...options, document: document as PlotModule.PlotOptions['document'] }) as unknown as { outerHTML: string; tagName: string };
  if (element.tagName.toLowerCase() !== 'svg') {
    throw new Error(`Observable Plot produced <${element.tagName.toLowerCase()}>, not <svg>: leave out legends, title and caption`);
  }
  let svg = element.outerHTML;
  if (!svg.includes('xmlns=')) svg = svg.replace('<svg', '<svg xmlns="http://www.w3.org/2000/svg"');
  return svg;
}
