/**
 * One source notebook -> its solution and student versions (nbgrader's way, with the course's markers).
 */
import { cellWhere, markers, NotebookError, sourceLines, sourceText, type CellRole, type Notebook, type NotebookCell } from './notebook-format';

export interface Released {
  readonly solution: Notebook;
  readonly student: Notebook;
  readonly exercises: number;
  readonly autograders: number;
  readonly points: number;
}

const idPattern = /^\d\d-[a-z0-9-]+$/;
const markerLines = new Set<string>(Object.values(markers));

/** Check a cell's metadata.raftlab and return it (or {} when the cell has none). */
function roleOf(file: string, index: number, cell: NotebookCell, ids: Set<string>): CellRole {
  const where = cellWhere(index, cell);
  const role = cell.metadata.raftlab;
  if (role === undefined) return {};
  if (typeof role !== 'object' || role === null) throw new NotebookError(file, where, 'metadata.raftlab must be an object');
  const known = new Set(['role', 'id', 'points', 'todo', 'needsSolution']);
  for (const key of Object.keys(role)) if (!known.has(key)) throw new NotebookError(file, where, `metadata.raftlab.${key} is not a known field (${[...known].join(', ')})`);
  if (role.role !== 'exercise' && role.role !== 'autograder') throw new NotebookError(file, where, `metadata.raftlab.role must be "exercise" or "autograder", got ${JSON.stringify(role.role)}`);
  if (cell.cell_type !== 'code') throw new NotebookError(file, where, `an ${role.role} cell must be a code cell`);
  if (typeof role.id !== 'string' || !idPattern.test(role.id)) throw new NotebookError(file, where, `metadata.raftlab.id must look like "01-grant-vote", got ${JSON.stringify(role.id)}`);
  if (ids.has(role.id)) throw new NotebookError(file, where, `metadata.raftlab.id ${role.id} is used twice`);
  ids.add(role.id);
  if (role.role === 'autograder' && !(typeof role.points === 'number' && role.points > 0)) {
    throw new NotebookError(file, where, `metadata.raftlab.points must be a positive number in an autograder cell, got ${JSON.stringify(role.points)}`);
  }
  if (role.role === 'exercise' && role.points !== undefined) throw new NotebookError(file, where, 'points belong to autograder cells, not exercise cells');
  return role;
}

interface Split {
  readonly solution: string;
  readonly student: string;
  readonly solutions: number;
  readonly hidden: number;
}

/** Apply the markers of one code cell. */
function splitCell(file: string, index: number, cell: NotebookCell, role: CellRole): Split {
  const where = cellWhere(index, cell);
  const lines = sourceText(cell).split('\n');
  const solution: string[] = [];
  const student: string[] = [];
  let open: { kind: 'solution' | 'hidden'; line: number } | null = null;
  let solutions = 0;
  let hidden = 0;
  lines.forEach((line, i) => {
    const marker = line.trim();
    const at = `${where}, line ${i + 1}`;
    if (!markerLines.has(marker)) {
      if (/\/\/\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)/.test(line)) throw new NotebookError(file, at, `a marker must be alone on its line: ${JSON.stringify(line.trim())}`);
      solution.push(line);
      if (open === null) student.push(line);
      return;
    }
    if (marker === markers.beginSolution || marker === markers.beginHidden) {
      if (open) throw new NotebookError(file, at, `${marker} inside the region opened at line ${open.line}`);
      const kind = marker === markers.beginSolution ? 'solution' : 'hidden';
      if (kind === 'solution' && role.role !== 'exercise') throw new NotebookError(file, at, `${marker} outside an exercise cell (set metadata.raftlab.role to "exercise")`);
      if (kind === 'hidden' && role.role !== 'autograder') throw new NotebookError(file, at, `${marker} outside an autograder cell`);
      open = { kind, line: i + 1 };
      if (kind === 'solution') {
        solutions++;
        const indent = /^\s*/.exec(line)![0];
        const todo = role.todo ?? `write this part of exercise ${role.id}`;
        student.push(`${indent}// YOUR CODE HERE (exercise ${role.id})`);
        student.push(`${indent}throw new Error(${JSON.stringify(`TODO: exercise ${role.id}: ${todo}`)});`);
      } else {
        hidden++;
      }
      return;
    }
    const closes = marker === markers.endSolution ? 'solution' : 'hidden';
    const current = open as { kind: 'solution' | 'hidden'; line: number } | null;
    if (!current || current.kind !== closes) throw new NotebookError(file, at, `${marker} without its BEGIN`);
    open = null;
  });
  const unclosed = open as { kind: 'solution' | 'hidden'; line: number } | null;
  if (unclosed) throw new NotebookError(file, `${where}, line ${unclosed.line}`, `the ${unclosed.kind === 'solution' ? 'SOLUTION' : 'HIDDEN TESTS'} region is never closed`);
  if (role.role === 'exercise' && solutions === 0) throw new NotebookError(file, where, `exercise cell without a ${markers.beginSolution} region`);
  return { solution: solution.join('\n'), student: student.join('\n'), solutions, hidden };
}

function cleared(cell: NotebookCell, index: number, text: string): NotebookCell {
  const out: NotebookCell = {
    cell_type: cell.cell_type,
    id: cell.id ?? `cell-${index}`,
    metadata: { ...cell.metadata },
    source: sourceLines(text),
  };
  if (cell.attachments !== undefined) out.attachments = cell.attachments;
  if (cell.cell_type === 'code') {
    out.execution_count = null;
    out.outputs = [];
  }
  return out;
}

export function releaseNotebook(file: string, source: Notebook, sourcePath: string): Released {
  const ids = new Set<string>();
  const solutionCells: NotebookCell[] = [];
  const studentCells: NotebookCell[] = [];
  let exercises = 0;
  let autograders = 0;
  let points = 0;
  const cellIds = new Set<string>();
  source.cells.forEach((cell, i) => {
    if (cell.id !== undefined) {
      if (cellIds.has(cell.id)) throw new NotebookError(file, cellWhere(i, cell), `cell id ${cell.id} is used twice`);
      cellIds.add(cell.id);
    }
    const role = roleOf(file, i, cell, ids);
    if (role.role === 'exercise') exercises++;
    if (role.role === 'autograder') {
      autograders++;
      points += role.points!;
    }
    if (cell.cell_type !== 'code') {
      const text = sourceText(cell);
      if (/(BEGIN|END) (SOLUTION|HIDDEN TESTS)/.test(text)) throw new NotebookError(file, cellWhere(i, cell), 'markers belong in code cells');
      solutionCells.push(cleared(cell, i, text));
      studentCells.push(cleared(cell, i, text));
      return;
    }
    const split = splitCell(file, i, cell, role);
    solutionCells.push(cleared(cell, i, split.solution));
    studentCells.push(cleared(cell, i, split.student));
  });
  const metadata = (version: 'solution' | 'student') => ({
    ...source.metadata,
    raftlab: {
      version,
      generated: `by "npm run release" from ${sourcePath}: edit the source, not this file`,
    },
  });
  return {
    solution: { ...source, metadata: metadata('solution'), cells: solutionCells },
    student: { ...source, metadata: metadata('student'), cells: studentCells },
    exercises,
    autograders,
    points,
  };
}
