import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import * as ts from 'typescript';

const repoRoot = path.join(__dirname, '..', '..');

/**
 * The functions the solution notebooks' exercise cells define (notebooks/solution/NN-*.ipynb), compiled and
 * evaluated cell after cell in one context, as the kernel does: what a student who solved every exercise has.
 */
export function solutionFunctions(...notebooks: readonly string[]): Record<string, Function> {
  const context = vm.createContext({ JSON, Math, Object, Array, Map, Set, Number, String, Error, exports: {} });
  for (const name of notebooks) {
    const file = path.join(repoRoot, 'notebooks', 'solution', name);
    const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { cell_type: string; metadata?: { raftlab?: { role?: string } }; source: string[] | string }[] };
    for (const cell of nb.cells) {
      if (cell.cell_type !== 'code' || cell.metadata?.raftlab?.role !== 'exercise') continue;
      const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None } }).outputText;
      vm.runInContext(js.replace(/^export \{\};?\s*$/m, '').replace(/^"use strict";/m, ''), context, { filename: `${name} (exercise cell)` });
    }
  }
  const out: Record<string, Function> = {};
  for (const key of Object.getOwnPropertyNames(context)) {
    const value = (context as Record<string, unknown>)[key];
    if (typeof value === 'function' && !['JSON', 'Math', 'Object', 'Array', 'Map', 'Set', 'Number', 'String', 'Error'].includes(key)) out[key] = value as Function;
  }
  return out;
}
