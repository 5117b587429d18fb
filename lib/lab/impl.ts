import * as fs from 'node:fs';
import * as path from 'node:path';
import { handlerNames, type Handlers } from '../raft/context';
import { figure2Rules, type RaftRules } from '../raft/rules';

/**
 * A student's Raft as a module file (what `saveImpl` writes from the notebooks, or one written by hand):
 * it exports `handlers` (some of Figure 2's handlers) and/or `rules` (some of the small rules). The lab's
 * programs load it with `--impl FILE` and run the real node on it; whatever it leaves out is the reference's.
 */
export interface Implementation {
  readonly file: string;
  readonly handlers: Partial<Handlers>;
  readonly rules: Partial<RaftRules>;
}

export class ImplementationError extends Error {
  override readonly name = 'ImplementationError';
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}

function table<K extends string>(file: string, exported: unknown, field: string, allowed: readonly K[]): Partial<Record<K, Function>> {
  if (exported === undefined) return {};
  if (exported === null || typeof exported !== 'object' || Array.isArray(exported)) {
    throw new ImplementationError(file, `\`${field}\` must be an object of functions, got ${exported === null ? 'null' : Array.isArray(exported) ? 'an array' : typeof exported}`);
  }
  const out: Partial<Record<K, Function>> = {};
  for (const [name, value] of Object.entries(exported)) {
    if (!(allowed as readonly string[]).includes(name)) {
      throw new ImplementationError(file, `${field}.${name} is not one of Figure 2's ${field} (expected one of: ${allowed.join(', ')})`);
    }
    if (typeof value !== 'function') throw new ImplementationError(file, `${field}.${name} must be a function, got ${value === null ? 'null' : typeof value}`);
    out[name as K] = value as Function;
  }
  return out;
}

/** Load and check a student module; every problem names the file and the field. */
export function loadImplementation(file: string): Implementation {
  const absolute = path.resolve(file);
  if (!fs.existsSync(absolute)) throw new ImplementationError(file, 'no such file (write it with saveImpl(...) in a notebook, or pass the path it printed)');
  if (!fs.statSync(absolute).isFile()) throw new ImplementationError(file, 'is not a file');
  let loaded: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(absolute) as Record<string, unknown>;
  } catch (error) {
    throw new ImplementationError(file, `cannot be loaded: ${(error as Error).message.split('\n')[0]}`);
  }
  const handlers = table(file, loaded.handlers, 'handlers', handlerNames) as Partial<Handlers>;
  const rules = table(file, loaded.rules, 'rules', Object.keys(figure2Rules) as (keyof RaftRules)[]) as Partial<RaftRules>;
  if (Object.keys(handlers).length === 0 && Object.keys(rules).length === 0) {
    throw new ImplementationError(file, 'exports neither `handlers` nor `rules`: nothing of yours would run (see saveImpl in the notebooks)');
  }
  return { file: absolute, handlers, rules };
}

/** One line for the node's terminal: which of Figure 2's parts are the student's. */
export function describeImplementation(impl: Implementation): string {
  const mine = [...Object.keys(impl.handlers), ...Object.keys(impl.rules)];
  const reference = handlerNames.filter((n) => !(n in impl.handlers));
  return `your Raft from ${impl.file}: ${mine.join(', ')}` + (reference.length > 0 ? `; reference: ${reference.join(', ')}` : '');
}
