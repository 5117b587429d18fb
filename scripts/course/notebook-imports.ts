/**
 * Notebooks import the library through its one entry point, './lib/index', and the instructor's grader through
 * its one entry point, './grading/index' (Task 2/3 checks and the hand-in zip are graded in the cell exactly as
 * the instructor grades them), plus Node's builtins ('node:fs'...): the inside of either can move without
 * breaking a notebook. Part of `npm run lint:layers`.
 */
import * as path from 'node:path';
import ts from 'typescript';
import { cellWhere, listSources, readNotebook, sourceText } from './notebook-format';

export const NOTEBOOK_ENTRY = './lib/index';
export const GRADER_ENTRY = './grading/index';

export interface NotebookImport {
  /** Relative to the repository root. */
  readonly file: string;
  readonly where: string;
  /** 1-based line in the cell. */
  readonly line: number;
  readonly specifier: string;
}


export function allowedInNotebook(specifier: string): boolean {
  return specifier === NOTEBOOK_ENTRY || specifier === GRADER_ENTRY || specifier.startsWith('node:');
}

/** Every import, require() and import() of a notebook's code cells that is not the library's entry point. */
export function notebookImports(file: string, root: string): NotebookImport[] {
  const nb = readNotebook(file);
  const rel = path.relative(root, file).split(path.sep).join('/');
  const out: NotebookImport[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    const text = sourceText(cell);
    const info = ts.preProcessFile(text, true, true);
    for (const imported of info.importedFiles) {
      if (allowedInNotebook(imported.fileName)) continue;
      const line = text.slice(0, imported.pos).split('\n').length;
      out.push({ file: rel, where: cellWhere(i, cell), line, specifier: imported.fileName });
    }
  });
  return out;
}

export interface NotebookImportReport {
  readonly violations: readonly NotebookImport[];
  /** Imports allowed by an explicit exception list (none in the course today). */
  readonly tolerated: readonly NotebookImport[];
}

export function checkNotebookImports(root: string, allowed: Readonly<Record<string, readonly string[]>> = {}): NotebookImportReport {
  const violations: NotebookImport[] = [];
  const tolerated: NotebookImport[] = [];
  for (const file of listSources(root)) {
    for (const imp of notebookImports(file, root)) {
      (allowed[imp.file]?.includes(imp.specifier) ? tolerated : violations).push(imp);
    }
  }
  return { violations, tolerated };
}

export function describeImport(imp: NotebookImport): string {
  return `${imp.file} ${imp.where} line ${imp.line}: imports '${imp.specifier}'; notebooks import only from '${NOTEBOOK_ENTRY}' and '${GRADER_ENTRY}' (rule notebooks-import-lib-index)`;
}
