/**
 * The grader's trusted harness: one process per graded notebook, started (sandboxed) by run.ts with cwd the
 * instructor's checkout. It reads its job as JSON on stdin (the reference notebook's code cells, from the
 * instructor's copy, and the submission's exercise cells), evaluates the exercise cells in an Isolate, then
 * runs the reference's own cells (autograder cells included) with every name the exercise cells define bound
 * to the isolated functions. Every autograder()/reportResult() result goes, as it happens, to fd 3 (JSON lines):
 * the only channel scores come from. What anything prints on stdout is ignored by the grader.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { installResultSink } from '../../lib/course/autograder';
import { cellToScript, functionsDefined } from './cells';
import { StudentFunctions, type StudentFunctionsOptions } from './student-functions';
import type { HarnessEvent, HarnessJob } from './protocol';

const OUT_FD = 3;

function emit(event: HarnessEvent): void {
  fs.writeSync(OUT_FD, `${JSON.stringify(event)}\n`);
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n').filter((l) => l.trim() !== '').slice(0, 8).join('\n');
  return String(error);
}

async function main(): Promise<void> {
  const job = JSON.parse(fs.readFileSync(0, 'utf8')) as HarnessJob;
  let current: string | null = null;
  installResultSink((title, result) => emit({ type: 'result', cell: current, title, result }));

  const options: StudentFunctionsOptions = job.options;
  const student = new StudentFunctions(options);
  const bound = new Map<string, unknown>();
  let raised: string | null = null;
  for (const cell of job.cells) {
    if (cell.role !== 'exercise' || cell.id === null) continue;
    const names = functionsDefined(cell.source);
    for (const n of names) bound.set(n, student.fn(n));
    const mine = job.exercises[cell.id];
    let status: 'ok' | 'missing' | 'raised' | 'skipped' = 'ok';
    let message = '';
    if (mine === undefined || mine === null) {
      status = 'missing';
      message = `the submission has no exercise cell ${cell.id} (deleted, or its metadata.raftlab changed)`;
    } else if (raised !== null) {
      status = 'skipped';
      message = `exercise cell ${cell.id} was not run: ${raised}`;
    } else {
      try {
        student.evaluate(cellToScript(mine, `exercise cell ${cell.id}`), `exercise cell ${cell.id}`);
      } catch (error) {
        status = 'raised';
        message = `exercise cell ${cell.id} raised: ${errorText(error)}`;
        raised = `an earlier exercise cell (${cell.id}) raised`;
      }
    }
    if (status !== 'ok') for (const n of names) student.markUnavailable(n, `${n} is not defined: ${message}`);
    emit({ type: 'exercise', id: cell.id, names, status, message });
  }

  // One async function holding every cell, each in its own block: a cell that throws ends only itself.
  const parts: string[] = [];
  job.cells.forEach((cell, i) => {
    if (cell.role === 'exercise') return;
    let js: string;
    try {
      js = cellToScript(cell.source, `reference cell ${cell.id ?? i}`);
    } catch (error) {
      js = `throw new Error(${JSON.stringify(errorText(error))});`;
    }
    parts.push(`{ let __e = null; __enter(${i}); try {\n${js}\n} catch (e) { __e = e; } __leave(${i}, __e); }`);
  });
  const names = [...bound.keys()];
  const program = `(async function (require, __student, __enter, __leave) {\n'use strict';\n${names.map((n) => `var ${n} = __student.get(${JSON.stringify(n)});`).join('\n')}\n${parts.join('\n')}\n})`;
  const run = vm.runInThisContext(program, { filename: `${job.notebook} (reference cells)` }) as (
    require: NodeJS.Require, student: Map<string, unknown>, enter: (i: number) => void, leave: (i: number, e: unknown) => void,
  ) => Promise<void>;
  const requireHere = createRequire(path.join(process.cwd(), `${job.notebook}.js`));
  withoutPlots(requireHere);
  await run(requireHere, bound, (i) => {
    const cell = job.cells[i]!;
    current = cell.role === 'autograder' ? cell.id : null;
    emit({ type: 'cell-start', index: i, id: cell.id, role: cell.role });
  }, (i, e) => {
    const cell = job.cells[i]!;
    current = null;
    emit({ type: 'cell-end', index: i, id: cell.id, role: cell.role, status: e === null ? 'ok' : 'error', error: e === null ? null : errorText(e) });
  });
  emit({ type: 'done' });
}

/**
 * The harness draws no plot (seconds each, and never graded): lib/viz's renderers give an empty SVG and
 * display() shows nothing. Everything else of the library is the real one.
 */
function withoutPlots(requireHere: NodeJS.Require): void {
  let file: string;
  try {
    file = requireHere.resolve('./lib/viz/index');
  } catch {
    return;
  }
  const real = requireHere(file) as Record<string, unknown>;
  const stub: Record<string, unknown> = { ...real };
  const empty = '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"></svg>';
  for (const name of ['termTimeline', 'electionCdf', 'logGrid', 'messageDiagram', 'renderVegaLite']) if (typeof real[name] === 'function') stub[name] = () => Promise.resolve(empty);
  stub['display'] = () => undefined;
  requireHere.cache[file]!.exports = stub;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    try {
      emit({ type: 'fatal', error: errorText(error) });
    } finally {
      process.exit(1);
    }
  },
);
