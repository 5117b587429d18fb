import * as fs from 'node:fs';
import * as path from 'node:path';

/** Write an SVG string to a file (folders created), e.g. saveSvg(svg, 'out/plots/timeline.svg'). Returns the path. */
export function saveSvg(svg: string, file: string): string {
  if (!svg.trimStart().startsWith('<svg')) throw new Error(`saveSvg(${file}): the content is not an SVG document`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, svg.endsWith('\n') ? svg : svg + '\n');
  return file;
}

interface TslabDisplay {
  svg(s: string): void;
  html(s: string): void;
}

/**
 * Show an SVG in the notebook's output (Jupyter and VS Code render image/svg+xml).
 * Only inside the Raft Lab kernel: elsewhere it throws and says to use saveSvg.
 */
export function display(svg: string): void {
  let tslab: { display: TslabDisplay };
  try {
    // Inside a tslab kernel, require('tslab') is hooked to the running kernel's display.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tslab = require('tslab') as { display: TslabDisplay };
  } catch {
    throw new Error('display() needs the Raft Lab notebook kernel (tslab); outside a notebook use saveSvg(svg, file)');
  }
  try {
    tslab.display.svg(svg);
  } catch (error) {
    throw new Error(`display() works only inside a running notebook cell (${(error as Error).message}); outside a notebook use saveSvg(svg, file)`);
  }
}
