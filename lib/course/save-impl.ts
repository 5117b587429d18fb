import * as fs from 'node:fs';
import * as path from 'node:path';
import { handlerNames, type Handlers } from '../raft/context';
import { figure2Rules, type RaftRules } from '../raft/rules';
import { loadImplementation, type Implementation } from '../lab/impl';
import { Cluster } from '../sim/cluster';

/**
 * Your Raft as a module file the lab's programs run (`npm run task2 -- --id 1 --impl FILE`): the functions'
 * own source (as the notebook compiled them, types stripped), each declared under its name, so the module
 * stands alone. A function that calls one of your helpers must get that helper too (`helpers`).
 */
export interface SavedImplementation {
  readonly handlers?: Partial<Handlers>;
  readonly rules?: Partial<RaftRules>;
  /** Functions your handlers call by name (e.g. your logIsUpToDate). */
  readonly helpers?: Readonly<Record<string, Function>>;
}

export interface SaveResult extends Implementation {
  /** Where it was written: `file`, or a new name beside it when `file` held something else. */
  readonly written: string;
  /** True when `file` already held exactly this module (nothing was written). */
  readonly unchanged: boolean;
}

const identifier = /^[A-Za-z_$][\w$]*$/;
const reserved = new Set(['handlers', 'rules', 'exports', 'module', 'require']);

/** A statement declaring `source` as the function `name`. */
function declaration(name: string, fn: Function, where: string): string {
  if (typeof fn !== 'function') throw new TypeError(`${where} must be a function, got ${fn === null ? 'null' : typeof fn}`);
  const source = Function.prototype.toString.call(fn).trim();
  if (source.includes('[native code]')) throw new TypeError(`${where} is a built-in or bound function: saveImpl needs a function you wrote`);
  const declared = /^(async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)?\s*\(/.exec(source);
  if (declared) {
    // function name(...) {...}: keep it a declaration when its name is the one it is saved under
    return declared[2] === name ? source : `const ${name} = (${source});`;
  }
  if (/^(async\s+)?(\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>/.test(source)) return `const ${name} = (${source});`;
  // a method: name(ctx) {...}
  return `const ${name} = (function ${source.replace(/^(async\s+)?[A-Za-z_$][\w$]*/, '')});`;
}

/** The module's text. */
export function implementationModule(impl: SavedImplementation, origin = 'the Raft Lab notebooks'): string {
  const handlers = Object.entries(impl.handlers ?? {}).filter(([, f]) => f !== undefined) as [string, Function][];
  const rules = Object.entries(impl.rules ?? {}).filter(([, f]) => f !== undefined) as [string, Function][];
  const helpers = Object.entries(impl.helpers ?? {});
  if (handlers.length + rules.length === 0) throw new TypeError('saveImpl: give it { handlers: {...} } and/or { rules: {...} }: there is nothing to save');
  for (const [name] of handlers) if (!(handlerNames as readonly string[]).includes(name)) throw new TypeError(`saveImpl: handlers.${name} is not one of Figure 2's handlers (${handlerNames.join(', ')})`);
  for (const [name] of rules) if (!(name in figure2Rules)) throw new TypeError(`saveImpl: rules.${name} is not one of Figure 2's rules (${Object.keys(figure2Rules).join(', ')})`);
  for (const [name] of helpers) {
    if (!identifier.test(name) || reserved.has(name)) throw new TypeError(`saveImpl: helpers.${name}: not a usable function name`);
  }

  const lines = [
    `// Your Raft, written by saveImpl() from ${origin}. Run it with`,
    '//   npm run task2 -- --id 1 --impl THIS_FILE   (and --id 2, --id 3 in two more terminals)',
    "// Each function is its notebook cell's, as compiled (types stripped). What it leaves out is the reference's.",
    "'use strict';",
    '',
  ];
  // Under its own name and as exports.NAME: the notebook's kernel compiles a call to a function of an earlier
  // cell as exports.NAME(...), a call within one cell as NAME(...).
  const declared = new Map<string, Function>();
  const declare = (name: string, fn: Function, where: string) => {
    const previous = declared.get(name);
    if (previous === fn) return;
    if (previous !== undefined) throw new TypeError(`saveImpl: two different functions are named ${name} (${where})`);
    declared.set(name, fn);
    lines.push(declaration(name, fn, `saveImpl: ${where}`), `exports.${name} = ${name};`, '');
  };
  for (const [name, fn] of helpers) declare(name, fn, `helpers.${name}`);
  for (const [name, fn] of rules) declare(name, fn, `rules.${name}`);
  for (const [name, fn] of handlers) declare(name, fn, `handlers.${name}`);
  lines.push(
    `exports.handlers = { ${handlers.map(([n]) => `${n}: ${n}`).join(', ')} };`,
    `exports.rules = { ${rules.map(([n]) => `${n}: ${n}`).join(', ')} };`,
    '',
  );
  return lines.join('\n');
}

function freeName(file: string, content: string): { target: string; unchanged: boolean } {
  if (!fs.existsSync(file)) return { target: file, unchanged: false };
  if (fs.readFileSync(file, 'utf8') === content) return { target: file, unchanged: true };
  const ext = path.extname(file);
  const stem = file.slice(0, file.length - ext.length);
  for (let n = 2; ; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if (!fs.existsSync(candidate)) return { target: candidate, unchanged: false };
    if (fs.readFileSync(candidate, 'utf8') === content) return { target: candidate, unchanged: true };
  }
}

/**
 * Write your handlers and rules to a module (default out/my-raft/raft.js). An existing file with other
 * content is never overwritten: the module goes to raft-2.js (raft-3.js, ...) beside it, and the result says
 * where. The written module is loaded back and checked, as the lab's programs will load it.
 */
export function saveImpl(file: string, impl: SavedImplementation, options: { readonly base?: string } = {}): SaveResult {
  if (!/\.(c?js)$/.test(file)) throw new TypeError(`saveImpl: ${file}: the module is JavaScript (the notebook compiled it): name it .js`);
  const content = implementationModule(options.base === undefined ? impl : withBase(options.base, impl));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { target, unchanged } = freeName(file, content);
  if (!unchanged) fs.writeFileSync(target, content, { flag: 'wx' });
  const loaded = loadImplementation(target);
  smokeRun(loaded);
  return { ...loaded, written: target, unchanged };
}

/**
 * What an earlier saved module holds (e.g. notebook 01's election), with `impl`'s functions replacing its own:
 * one module for the whole of your Raft.
 */
function withBase(base: string, impl: SavedImplementation): SavedImplementation {
  if (!fs.existsSync(base)) throw new TypeError(`saveImpl: base ${base}: no such file (save the earlier notebook's handlers first, or leave base out)`);
  const loaded = loadImplementation(base);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exported = require(loaded.file) as Record<string, unknown>;
  const listed = new Set<unknown>([...Object.values(loaded.handlers), ...Object.values(loaded.rules)]);
  const helpers: Record<string, Function> = {};
  for (const [name, value] of Object.entries(exported)) {
    if (typeof value === 'function' && !listed.has(value)) helpers[name] = value;
  }
  return {
    handlers: { ...loaded.handlers, ...impl.handlers },
    rules: { ...loaded.rules, ...impl.rules },
    helpers: { ...helpers, ...impl.helpers },
  };
}

/**
 * Run the saved module (as loaded back from the file) for a few virtual seconds: a function that calls something
 * the module does not define (a helper of another cell, an import) fails here, not in the lab's terminals.
 */
function smokeRun(impl: Implementation): void {
  try {
    const cluster = new Cluster({ nodes: 3, seed: 1, handlers: impl.handlers, rules: impl.rules });
    cluster.runUntil((c) => c.leader() !== null, { timeout: 3000 });
    cluster.propose({ data_id: 1 });
    cluster.runFor(1000);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    const missing = /(\w+) is not defined/.exec(message);
    throw new Error(
      `saveImpl: the module written to ${impl.file} fails when it runs: ${message}` +
        (missing ? `. Pass ${missing[1]} in { helpers: { ${missing[1]}: ${missing[1]} } } so the module has it.` : ''),
    );
  }
}
