import { importEsm } from './esm';

/** A vega-lite specification (kept loose: the specs here are built by this module's functions). */
export type VegaLiteSpec = Record<string, unknown>;

interface VegaLiteModule {
  compile(spec: VegaLiteSpec): { spec: object };
}
interface VegaView {
  toSVG(): Promise<string>;
  finalize(): void;
}
interface VegaModule {
  parse(spec: object): object;
  View: new (runtime: object, options: { renderer: 'none' }) => VegaView;
}

/** Compile a vega-lite spec and render it to an SVG string headless (no canvas: text widths are estimated). */
export async function renderVegaLite(spec: VegaLiteSpec): Promise<string> {
  const [vl, vega] = await Promise.all([importEsm<VegaLiteModule>('vega-lite'), importEsm<VegaModule>('vega')]);
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
