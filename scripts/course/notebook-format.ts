/**
 * The notebooks' JSON (nbformat 4), the course's cell metadata and its markers, shared by `npm run release`
 * and `npm run notebooks:check`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  metadata: Record<string, unknown> & { raftlab?: CellRole };
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
  attachments?: unknown;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export interface CellRole {
  readonly role?: 'exercise' | 'autograder';
  readonly id?: string;
  readonly points?: number;
  /** Exercise cells: what the student's stub says to do. */
  readonly todo?: string;
  /** Autograder cells that grade something other than the exercises (e.g. task files): may pass in the student version. */
  readonly needsSolution?: boolean;
}

/** Where the course lives, relative to the repository root. */
export const layout = {
  source: 'notebooks/source',
  solution: 'notebooks/solution',
  student: 'notebooks',
} as const;

export const notebookName = /^\d\d-[a-z0-9-]+\.ipynb$/;

export const markers = {
  beginSolution: '// BEGIN SOLUTION',
  endSolution: '// END SOLUTION',
  beginHidden: '// BEGIN HIDDEN TESTS',
  endHidden: '// END HIDDEN TESTS',
} as const;

export class NotebookError extends Error {
  constructor(file: string, where: string, problem: string) {
    super(`${file}: ${where}: ${problem}`);
    this.name = 'NotebookError';
  }
}

export function sourceText(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** Jupyter's way: a list of lines, each but the last ending in "\n". */
export function sourceLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  return lines.map((l, i) => (i < lines.length - 1 ? l + '\n' : l)).filter((l) => l !== '');
}

export function readNotebook(file: string): Notebook {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new NotebookError(file, 'file', `not a readable JSON notebook (${(error as Error).message})`);
  }
  const nb = data as Partial<Notebook>;
  if (typeof nb !== 'object' || nb === null || !Array.isArray(nb.cells) || nb.nbformat !== 4) {
    throw new NotebookError(file, 'file', 'not an nbformat 4 notebook (expected "nbformat": 4 and a "cells" list)');
  }
  nb.cells.forEach((cell, i) => {
    if (!['code', 'markdown', 'raw'].includes(cell.cell_type)) throw new NotebookError(file, `cell ${i}`, `unknown cell_type ${JSON.stringify(cell.cell_type)}`);
    if (typeof cell.source !== 'string' && !Array.isArray(cell.source)) throw new NotebookError(file, `cell ${i}`, '"source" must be a string or a list of strings');
  });
  return nb as Notebook;
}

export function writeNotebook(file: string, nb: Notebook): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(nb, null, 1) + '\n');
}

export function cellWhere(index: number, cell: NotebookCell): string {
  const id = cell.metadata.raftlab?.id ?? cell.id;
  return `cell ${index}${id ? ` (${id})` : ''}`;
}

/** The source notebooks, sorted by name. */
export function listSources(root: string): string[] {
  const dir = path.join(root, layout.source);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => notebookName.test(f)).sort().map((f) => path.join(dir, f));
}
