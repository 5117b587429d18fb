import { Isolate, IsolateError, STUDENT_SOURCE, type IsolatedFunction } from '../../lib/course/isolate';

/**
 * The student's exercise functions, living in an Isolate, seen from the harness as host functions. Arguments
 * cross as data; a function argument (a `random()`, a log's `termAt`) or an object's method becomes a handle:
 * inside the isolate it is a stub that answers from the host's recorded answers, and when it has no answer
 * yet the call is abandoned, the host calls the real function once with the stub's (JSON) arguments, and the
 * call is replayed from the start with one more answer. Exercise functions are functions of their arguments,
 * so a replay takes the same path; one that does not is reported. No host object ever enters the isolate.
 */

// Trusted code evaluated in the isolate before any student cell; what it needs is captured first.
const helper = `
(function (g) {
  'use strict';
  const stringify = JSON.stringify, parse = JSON.parse, isArray = Array.isArray, keys = Object.keys, own = Object.prototype.hasOwnProperty;
  const MapC = Map, SetC = Set, text = g.__raftlab_text, exportsObject = g.exports;
  const NEED = {};
  function invoke(name, payloadJson) {
    const p = parse(payloadJson);
    const used = {};
    let need = null;
    const stub = (h) => function () {
      const a = [];
      for (let i = 0; i < arguments.length; i++) a.push(arguments[i]);
      const i = own.call(used, h) ? used[h] : 0;
      used[h] = i + 1;
      let argsJson;
      try { argsJson = stringify(a); } catch (e) { argsJson = undefined; }
      if (argsJson === undefined) { if (need === null) need = { bad: 'a callback was given arguments that are not data' }; throw NEED; }
      const seen = own.call(p.answers, h) ? p.answers[h] : [];
      if (i < seen.length) {
        if (seen[i].args !== argsJson) { if (need === null) need = { bad: 'a replay called back with other arguments: the function must depend on its arguments only' }; throw NEED; }
        return decode(seen[i].value);
      }
      if (need === null) need = { h: h, i: i, args: argsJson };
      throw NEED;
    };
    const decode = (v) => {
      if (v === null || typeof v !== 'object') return v;
      if (isArray(v)) { const out = []; for (let i = 0; i < v.length; i++) out.push(decode(v[i])); return out; }
      if (own.call(v, '\\u0000fn')) return stub(v['\\u0000fn']);
      if (own.call(v, '\\u0000map')) return new MapC(decode(v['\\u0000map']));
      if (own.call(v, '\\u0000set')) return new SetC(decode(v['\\u0000set']));
      const o = {};
      const ks = keys(v);
      for (let i = 0; i < ks.length; i++) o[ks[i]] = decode(v[ks[i]]);
      return o;
    };
    const f = own.call(exportsObject, name) ? exportsObject[name] : g[name];
    if (typeof f !== 'function') return stringify({ error: name + ' is not defined as a function' });
    let result, error = null;
    try { result = f.apply(undefined, decode(p.args)); } catch (e) { if (need === null) error = text(e); }
    if (need !== null) return stringify({ need: need });
    if (error !== null) return stringify({ error: error });
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') return stringify({ error: name + ' returned a Promise: it must return its answer directly (no async)' });
    if (result === undefined) return '{"undefined":true}';
    const json = stringify(result);
    return json === undefined ? '{"undefined":true}' : '{"value":' + json + '}';
  }
  Object.defineProperty(g, '__harness_invoke', { value: invoke, writable: false, configurable: false, enumerable: false });
})(globalThis);
`;

export interface StudentFunctionsOptions {
  /** Longest one call (or one cell's evaluation) may run, in ms. */
  readonly callTimeoutMs: number;
  /** After this many timed-out calls of a function, its later calls fail at once (a loop forever costs little). */
  readonly maxTimeouts: number;
  /** Most callbacks one call may make. */
  readonly maxCallbacks: number;
}

export const defaultStudentOptions: StudentFunctionsOptions = { callTimeoutMs: 1000, maxTimeouts: 3, maxCallbacks: 5000 };

type Encoded = null | boolean | number | string | Encoded[] | { [k: string]: Encoded };

export class StudentFunctions {
  readonly isolate: Isolate;
  /** Timed-out calls per function name. */
  private readonly timeouts = new Map<string, number>();
  /** Names that must fail when called, with why (their cell is missing, or raised). */
  private readonly unavailable = new Map<string, string>();

  constructor(private readonly options: StudentFunctionsOptions = defaultStudentOptions) {
    this.isolate = new Isolate({ timeoutMs: options.callTimeoutMs });
    this.isolate.evaluate(helper, 'raftlab-harness-helper.js');
  }

  /** Evaluate one exercise cell (already JavaScript); throws IsolateError when it raises or does not finish. */
  evaluate(js: string, where: string): void {
    try {
      this.isolate.evaluate(js, where);
    } catch (error) {
      throw error;
    }
  }

  markUnavailable(name: string, why: string): void {
    if (!this.unavailable.has(name)) this.unavailable.set(name, why);
  }

  /** A host function for `name` (carrying STUDENT_SOURCE, so a scenario runner can use the isolate itself). */
  fn(name: string): IsolatedFunction {
    const call = (...args: unknown[]) => this.call(name, args);
    Object.defineProperty(call, STUDENT_SOURCE, { value: { isolate: this.isolate, name } });
    Object.defineProperty(call, 'name', { value: name });
    return call as unknown as IsolatedFunction;
  }

  call(name: string, args: readonly unknown[]): unknown {
    const why = this.unavailable.get(name);
    if (why !== undefined) throw new Error(why);
    const timedOut = this.timeouts.get(name) ?? 0;
    if (timedOut >= this.options.maxTimeouts) throw new Error(`${name} was not called: ${timedOut} calls of it already ran past ${this.options.callTimeoutMs} ms (an endless loop?)`);
    const handles: ((...a: unknown[]) => unknown)[] = [];
    const payload: { args: Encoded; answers: Record<number, { args: string; value: Encoded }[]> } = { args: encode(args, handles), answers: {} };
    for (let callbacks = 0; ; callbacks++) {
      let reply: unknown;
      try {
        reply = this.isolate.call('__harness_invoke', [name, JSON.stringify(payload)]);
      } catch (error) {
        if (error instanceof IsolateError && error.kind === 'timeout') {
          this.timeouts.set(name, timedOut + 1);
          throw new Error(`${name} did not return within ${this.options.callTimeoutMs} ms (an endless loop?)`);
        }
        throw new Error(`${name}: ${(error as Error).message}`);
      }
      const r = (typeof reply === 'string' ? JSON.parse(reply) : {}) as { need?: { h?: number; i?: number; args?: string; bad?: string }; error?: string; value?: unknown; undefined?: true };
      if (r.need) {
        if (r.need.bad !== undefined) throw new Error(`${name}: ${r.need.bad}`);
        if (callbacks >= this.options.maxCallbacks) throw new Error(`${name} called back more than ${this.options.maxCallbacks} times in one call`);
        const h = r.need.h!;
        const target = handles[h];
        if (target === undefined || typeof r.need.args !== 'string') throw new Error(`${name}: a callback that was never given`);
        const value = target(...(JSON.parse(r.need.args) as unknown[]));
        (payload.answers[h] ??= [])[r.need.i!] = { args: r.need.args, value: encode(value, handles) };
        continue;
      }
      if (r.error !== undefined) throw new Error(String(r.error));
      return r.undefined ? undefined : r.value;
    }
  }
}

/** Host data -> JSON-able form: functions and methods become handles, Maps and Sets are tagged. */
function encode(value: unknown, handles: ((...a: unknown[]) => unknown)[], depth = 0, seen = new Set<object>()): Encoded {
  if (depth > 32) throw new Error('an argument nested more than 32 levels deep');
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'function':
      handles.push(value as (...a: unknown[]) => unknown);
      return { '\u0000fn': handles.length - 1 };
    case 'object':
      break;
    default:
      throw new Error(`an argument of type ${typeof value} cannot be passed to student code`);
  }
  const obj = value as object;
  if (seen.has(obj)) throw new Error('a cyclic argument cannot be passed to student code');
  seen.add(obj);
  try {
    const next = (v: unknown) => encode(v, handles, depth + 1, seen);
    if (Array.isArray(obj)) return obj.map(next);
    if (obj instanceof Map) return { '\u0000map': [...obj.entries()].map(([k, v]) => [next(k), next(v)]) };
    if (obj instanceof Set) return { '\u0000set': [...obj].map(next) };
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return next((obj as { toJSON: () => unknown }).toJSON());
    const out: Record<string, Encoded> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'function') {
        handles.push((v as (...a: unknown[]) => unknown).bind(obj));
        out[k] = { '\u0000fn': handles.length - 1 };
      } else if (v !== undefined) out[k] = next(v);
    }
    // Class instances: their getters' values and their methods (bound) too.
    for (let proto = Object.getPrototypeOf(obj) as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
        if (k === 'constructor' || k in out) continue;
        if (d.get) out[k] = next(d.get.call(obj));
        else if (typeof d.value === 'function') {
          handles.push((d.value as (...a: unknown[]) => unknown).bind(obj));
          out[k] = { '\u0000fn': handles.length - 1 };
        }
      }
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}
