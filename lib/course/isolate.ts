import { types } from 'node:util';
import * as vm from 'node:vm';
import ts from 'typescript';

/**
 * A place to run untrusted student code: a fresh V8 context with no `require`, no `process`, no host objects,
 * no `eval`/`new Function`, and a time limit on every entry. Values cross the boundary only as JSON strings
 * built and parsed on the far side, so a Proxy, a getter or a poisoned prototype stays inside; errors come back
 * as text. (Node's vm is not a security boundary against a determined attacker on its own: the grader also runs
 * the whole process inside the sandbox. Here it is what keeps student code from reaching the grader's state.)
 */

/** Marks a host function that stands for a function inside an Isolate (so a runner can reuse its isolate). */
export const STUDENT_SOURCE = Symbol.for('raftlab.student-source');

export interface IsolatedFunction {
  (...args: unknown[]): unknown;
  readonly [STUDENT_SOURCE]: { readonly isolate: Isolate; readonly name: string };
}

export type IsolateErrorKind = 'syntax' | 'runtime' | 'timeout' | 'result';

export class IsolateError extends Error {
  constructor(
    message: string,
    readonly kind: IsolateErrorKind,
    /** The file, cell or function the error is about. */
    readonly where: string,
  ) {
    super(message);
    this.name = 'IsolateError';
  }

  /** What a runaway call returned once its step budget stopped it (when it returned at all). */
  partial?: unknown;
}

export interface IsolateOptions {
  /** Longest time one evaluation of a script may run, in ms. Default 1000. */
  readonly timeoutMs?: number;
  /**
   * Most steps (function entries and loop iterations of untrusted code) one call may take before it is stopped
   * as runaway. Default 2,000,000. Calls run without a timer (a watchdog per call costs ~0.25 ms); the step
   * counter that evaluate() weaves into untrusted code stops endless loops and recursion instead.
   */
  readonly stepBudget?: number;
  /** Most console lines kept (the rest are counted, not kept). Default 200. */
  readonly maxLogLines?: number;
}

// Runs inside the context. Everything it hands back is a string.
const prelude = `
'use strict';
(function (global) {
  const stringify = JSON.stringify, parse = JSON.parse, exportsObject = {};
  const log = [];
  let dropped = 0;
  const text = (e) => { try { return e && typeof e === 'object' && 'stack' in e ? String(e.stack) : String(e); } catch (_) { return 'an unprintable value'; } };
  const line = (...args) => { if (log.length < MAX_LOG) log.push(args.map((a) => typeof a === 'string' ? a : (() => { try { return stringify(a); } catch (_) { return text(a); } })()).join(' ')); else dropped++; };
  let steps = 0, exhausted = false;
  const fixed = (name, value) => Object.defineProperty(global, name, { value, writable: false, configurable: false, enumerable: false });
  fixed('__raftlab_text', text);
  fixed('__raftlab_tick', () => {
    if (++steps > STEP_BUDGET || exhausted) { exhausted = true; throw new RangeError('ran past its step budget of ' + STEP_BUDGET + ' steps (an endless loop or recursion?)'); }
  });
  global.__raftlab_error = undefined;
  fixed('exports', exportsObject);
  fixed('module', { exports: exportsObject });
  fixed('require', (what) => { throw new Error('graded code cannot import ' + String(what) + ': write the exercise with what its arguments give you'); });
  fixed('console', { log: line, info: line, warn: line, error: line, debug: line });
  fixed('__raftlab_reset', () => { steps = 0; exhausted = false; });
  fixed('__raftlab_call', (name, argsJson) => {
    steps = 0; exhausted = false;
    try {
      const f = Object.prototype.hasOwnProperty.call(exportsObject, name) ? exportsObject[name] : global[name];
      if (typeof f !== 'function') return stringify({ error: name + ' is not defined as a function' });
      const result = f.apply(undefined, parse(argsJson));
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') return stringify({ error: name + ' returned a Promise: it must return its answer directly (no async)' });
      if (exhausted) return stringify({ error: name + ' ran past its step budget of ' + STEP_BUDGET + ' steps (an endless loop or recursion?)', runaway: true, partial: result });
      const json = result === undefined ? undefined : stringify(result);
      return json === undefined ? '{"undefined":true}' : '{"value":' + json + '}';
    } catch (e) {
      if (exhausted) return stringify({ error: name + ' ran past its step budget of ' + STEP_BUDGET + ' steps (an endless loop or recursion?)', runaway: true });
      try { return stringify({ error: text(e) }); } catch (_) { return '{"error":"an unprintable error"}'; }
    }
  });
  fixed('__raftlab_functions', () => {
    const names = new Set();
    for (const k of Object.getOwnPropertyNames(exportsObject)) if (typeof exportsObject[k] === 'function') names.add(k);
    for (const k of Object.getOwnPropertyNames(global)) if (typeof global[k] === 'function' && !k.startsWith('__raftlab')) names.add(k);
    return stringify([...names]);
  });
  fixed('__raftlab_log', () => { const out = stringify({ lines: log.splice(0), dropped }); dropped = 0; return out; });
})(globalThis);
`;

const callScript = new vm.Script('__raftlab_call(__raftlab_arg_name, __raftlab_arg_json)', { filename: 'raftlab-prelude.js' });
const preludeGlobals = new Set(['exports', 'module', 'require', 'console']);
const builtinGlobals = new Set(vm.runInNewContext('Object.getOwnPropertyNames(globalThis)') as string[]);

export class Isolate {
  readonly timeoutMs: number;
  readonly stepBudget: number;
  /** The untrusted scripts evaluated so far, as given (a fresh isolate can be built from them). */
  readonly scripts: { readonly source: string; readonly filename: string }[] = [];
  private readonly context: vm.Context;

  constructor(options: IsolateOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 1000;
    // A null-prototype sandbox: `this.constructor` inside the context leads nowhere on the host.
    this.context = vm.createContext(Object.create(null) as object, {
      name: 'raftlab-student',
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    this.stepBudget = options.stepBudget ?? 2_000_000;
    const code = prelude.replace('MAX_LOG', String(options.maxLogLines ?? 200)).replaceAll('STEP_BUDGET', String(this.stepBudget));
    vm.runInContext(code, this.context, { filename: 'raftlab-prelude.js' });
  }

  /**
   * Run a script in the context (function declarations become globals, `exports.x = ...` works): student cells
   * transpiled to JavaScript, or trusted library code the student's code runs inside.
   */
  evaluate(source: string, filename: string, options: { readonly trusted?: boolean } = {}): void {
    let script: vm.Script;
    try {
      new vm.Script(source, { filename }); // a syntax error is reported with its line, before anything runs
    } catch (error) {
      throw new IsolateError(`${filename}: ${(error as Error).message}`, 'syntax', filename);
    }
    if (!options.trusted) {
      this.scripts.push({ source, filename });
      source = withStepCounter(source, filename);
    }
    // Whatever the code throws is caught and turned into text inside the context (under the time limit): a
    // thrown object's getters must never run on the host. In a block, sloppy-mode function declarations still
    // become globals (Annex B), so cells see each other's functions.
    try {
      script = new vm.Script(`__raftlab_error = undefined; __raftlab_reset(); try {\n${source}\n} catch (e) { __raftlab_error = __raftlab_text(e); }\n__raftlab_error`, { filename, lineOffset: -1 });
    } catch (error) {
      throw new IsolateError(`${filename}: ${(error as Error).message}`, 'syntax', filename);
    }
    let failed: unknown;
    try {
      failed = script.runInContext(this.context, { timeout: this.timeoutMs, breakOnSigint: false });
    } catch (error) {
      throw this.hostError(error, filename, `evaluating ${filename}`);
    }
    if (typeof failed === 'string') {
      const runaway = /ran past its step budget/.test(failed);
      throw new IsolateError(runaway ? `evaluating ${filename} ran past its step budget of ${this.stepBudget} steps (an endless loop?)` : cleanStack(failed), runaway ? 'timeout' : 'runtime', filename);
    }
  }

  /** The functions the evaluated code defined (exports first, then globals), without the built-ins. */
  functionNames(): string[] {
    const names = JSON.parse(this.run('__raftlab_functions()', 'listing functions')) as string[];
    return names.filter((n) => !builtinGlobals.has(n) && !preludeGlobals.has(n));
  }

  /** Call a function of the context with JSON arguments; returns its JSON-cloned result. */
  call(name: string, args: readonly unknown[]): unknown {
    const reply = this.callJson(name, JSON.stringify(args));
    return reply === undefined ? undefined : JSON.parse(reply);
  }

  /** As call(), with the arguments already JSON and the result left as JSON (undefined for no result). */
  callJson(name: string, argsJson: string): string | undefined {
    // Primitives only cross: a name and a JSON string set as globals of the context, read by the call script.
    this.context['__raftlab_arg_name'] = name;
    this.context['__raftlab_arg_json'] = argsJson;
    const reply = this.run(callScript, name, false);
    let parsed: { value?: unknown; undefined?: true; error?: string; runaway?: true; partial?: unknown };
    try {
      parsed = JSON.parse(reply) as typeof parsed;
    } catch {
      throw new IsolateError(`${name} returned something that is not data`, 'result', name);
    }
    if (parsed.error !== undefined) {
      const error = new IsolateError(cleanStack(parsed.error), parsed.runaway ? 'timeout' : 'runtime', name);
      if (parsed.partial !== undefined) error.partial = parsed.partial;
      throw error;
    }
    return parsed.undefined ? undefined : JSON.stringify(parsed.value);
  }

  /** A host function that calls `name` inside the isolate (JSON in, JSON out). */
  fn(name: string): IsolatedFunction {
    const call = (...args: unknown[]) => this.call(name, args);
    Object.defineProperty(call, STUDENT_SOURCE, { value: { isolate: this, name } });
    Object.defineProperty(call, 'name', { value: name });
    return call as unknown as IsolatedFunction;
  }

  /** What the code printed with console.* since the last call (in the notebook, shown under the cell). */
  takeLog(): { lines: string[]; dropped: number } {
    return JSON.parse(this.run('__raftlab_log()', 'reading the log')) as { lines: string[]; dropped: number };
  }

  private run(code: string | vm.Script, what: string, timed = true): string {
    try {
      const script = typeof code === 'string' ? new vm.Script(code, { filename: 'raftlab-prelude.js' }) : code;
      const out = script.runInContext(this.context, timed ? { timeout: this.timeoutMs, breakOnSigint: false } : { breakOnSigint: false }) as unknown;
      if (typeof out !== 'string') throw new IsolateError(`${what}: the isolate's entry point was replaced`, 'result', what);
      return out;
    } catch (error) {
      throw this.hostError(error, what, what);
    }
  }

  private hostError(error: unknown, where: string, what: string): IsolateError {
    if (error instanceof IsolateError) return error;
    // Errors from the context are objects of the other realm: read them only as plain strings.
    // No getter, trap or toString of the thrown value may run here (outside the time limit).
    if (dataField(error, 'code') === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      return new IsolateError(`${what} did not finish within ${this.timeoutMs} ms (an endless loop?)`, 'timeout', where);
    }
    const stack = dataField(error, 'stack');
    const message = dataField(error, 'message');
    const textOf = typeof stack === 'string' ? stack : typeof message === 'string' ? message : typeof error === 'string' ? error : 'an error that is not an Error';
    return new IsolateError(cleanStack(textOf), 'runtime', where);
  }
}

/**
 * The source with a step counter at the start of every function body and loop body (lines kept), so a call
 * that loops or recurses without end stops at the isolate's step budget.
 */
export function withStepCounter(source: string, filename: string): string {
  const file = ts.createSourceFile(filename, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: { at: number; text: string }[] = [];
  const tick = '__raftlab_tick();';
  const guardBody = (body: ts.Node | undefined, arrowExpression = false): void => {
    if (!body) return;
    if (ts.isBlock(body)) {
      edits.push({ at: body.getStart(file) + 1, text: tick });
    } else if (arrowExpression) {
      edits.push({ at: body.getStart(file), text: `{${tick}return (` }, { at: body.getEnd(), text: ');}' });
    } else {
      edits.push({ at: body.getStart(file), text: `{${tick}` }, { at: body.getEnd(), text: '}' });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isForStatement(node) || ts.isForInStatement(node) || ts.isForOfStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node)) {
      guardBody(node.statement);
    } else if (ts.isArrowFunction(node)) {
      guardBody(node.body, !ts.isBlock(node.body));
    } else if (ts.isFunctionLike(node) && 'body' in node) {
      guardBody((node as ts.FunctionLikeDeclaration).body);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  edits.sort((a, b) => b.at - a.at);
  let out = source;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

/** An own data property of an object, read without running any code of the object's. */
function dataField(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || types.isProxy(value)) return undefined;
  const d = Object.getOwnPropertyDescriptor(value, key);
  return d !== undefined && 'value' in d ? d.value : undefined;
}

/** The stack without the frames of the isolate's own plumbing. */
function cleanStack(stack: string): string {
  return stack
    .split('\n')
    // The host's own frames (absolute paths) say nothing about the student's code.
    .filter((l) => !/raftlab-prelude\.js|node:vm|node:internal/.test(l) && !/^\s*at (.*[(\s])?(\/|[A-Za-z]:\\)/.test(l))
    .slice(0, 8)
    .join('\n');
}

/** True when `f` stands for a function inside an Isolate. */
export function isIsolated(f: unknown): f is IsolatedFunction {
  return typeof f === 'function' && STUDENT_SOURCE in f;
}
