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
    let argsNow = [];
    // The data of the arguments now (methods left out), so the host sees what the function changed in them.
    const snap = (v, depth) => {
      if (v === null || typeof v !== 'object' || depth > 16) return typeof v === 'function' ? undefined : v;
      if (v instanceof MapC) { const e = []; v.forEach((x, k) => e.push([snap(k, depth + 1), snap(x, depth + 1)])); return { '\u0000map': e }; }
      if (v instanceof SetC) { const e = []; v.forEach((x) => e.push(snap(x, depth + 1))); return { '\u0000set': e }; }
      if (isArray(v)) { const out = []; for (let i = 0; i < v.length; i++) out.push(snap(v[i], depth + 1)); return out; }
      const o = {};
      const ks = keys(v);
      for (let i = 0; i < ks.length; i++) { const x = v[ks[i]]; if (typeof x !== 'function') o[ks[i]] = snap(x, depth + 1); }
      return o;
    };
    const state = () => { try { return snap(argsNow, 0); } catch (e) { return null; } };
    // After a callback, the host's arguments may have changed (a role, a cleared set): take them over.
    const adopt = (target, v, depth) => {
      if (target === null || typeof target !== 'object' || v === null || typeof v !== 'object' || depth > 16) return;
      if (target instanceof MapC && own.call(v, '\u0000map')) { target.clear(); for (const [k, x] of v['\u0000map']) target.set(decode(k), decode(x)); return; }
      if (target instanceof SetC && own.call(v, '\u0000set')) { target.clear(); for (const x of v['\u0000set']) target.add(decode(x)); return; }
      const ks = keys(v);
      for (let i = 0; i < ks.length; i++) {
        const k = ks[i], x = v[k], cur = target[k];
        if (typeof cur === 'function') continue;
        if (cur !== null && typeof cur === 'object' && x !== null && typeof x === 'object' && !isArray(x)) adopt(cur, x, depth + 1);
        else target[k] = decode(x);
      }
    };
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
        if (seen[i].after !== undefined && seen[i].after !== null) for (let j = 0; j < argsNow.length; j++) adopt(argsNow[j], seen[i].after[j], 0);
        return decode(seen[i].value);
      }
      if (need === null) need = { h: h, i: i, args: argsJson, state: state() };
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
    argsNow = decode(p.args);
    try { result = f.apply(undefined, argsNow); } catch (e) { if (need === null) error = text(e); }
    if (need !== null) return stringify({ need: need });
    if (error !== null) return stringify({ error: error });
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') return stringify({ error: name + ' returned a Promise: it must return its answer directly (no async)' });
    const after = stringify(state());
    if (result === undefined) return '{"undefined":true,"state":' + after + '}';
    const json = stringify(result);
    return json === undefined ? '{"undefined":true,"state":' + after + '}' : '{"value":' + json + ',"state":' + after + '}';
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
    const payload: { args: Encoded; answers: Record<number, { args: string; value: Encoded; after: Encoded }[]> } = { args: encode(args, handles), answers: {} };
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
      const r = (typeof reply === 'string' ? JSON.parse(reply) : {}) as { need?: { h?: number; i?: number; args?: string; bad?: string; state?: unknown }; error?: string; value?: unknown; undefined?: true; state?: unknown };
      if (r.need) {
        if (r.need.bad !== undefined) throw new Error(`${name}: ${r.need.bad}`);
        if (callbacks >= this.options.maxCallbacks) throw new Error(`${name} called back more than ${this.options.maxCallbacks} times in one call`);
        const h = r.need.h!;
        const target = handles[h];
        if (target === undefined || typeof r.need.args !== 'string') throw new Error(`${name}: a callback that was never given`);
        // The host's objects get what the function changed so far, the callback runs on them, and the replay
        // takes over what the callback changed.
        applyState(args, r.need.state);
        const value = target(...(JSON.parse(r.need.args) as unknown[]));
        const after = encode(args, []);
        (payload.answers[h] ??= [])[r.need.i!] = { args: r.need.args, value: encode(value, handles), after };
        continue;
      }
      if (r.error !== undefined) throw new Error(String(r.error));
      applyState(args, r.state);
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

/**
 * Copy what the student's function changed in its arguments (their data: fields, Maps, Sets, arrays) back onto
 * the host's objects, through their setters, so a handler that assigns `ctx.votedFor` is seen as doing so.
 */
function applyState(args: readonly unknown[], state: unknown, depth = 0): void {
  if (!Array.isArray(state)) return;
  args.forEach((arg, i) => applyTo(arg, state[i], depth));
}

function applyTo(target: unknown, value: unknown, depth: number): void {
  if (depth > 16 || target === null || typeof target !== 'object' || value === null || typeof value !== 'object') return;
  const v = value as Record<string, unknown>;
  if (target instanceof Map && Array.isArray(v['\u0000map'])) {
    target.clear();
    for (const [k, x] of v['\u0000map'] as [unknown, unknown][]) target.set(plain(k), plain(x));
    return;
  }
  if (target instanceof Set && Array.isArray(v['\u0000set'])) {
    target.clear();
    for (const x of v['\u0000set'] as unknown[]) target.add(plain(x));
    return;
  }
  if (Array.isArray(target)) {
    if (Array.isArray(value) && JSON.stringify(target) !== JSON.stringify(value)) target.splice(0, target.length, ...(value as unknown[]).map(plain));
    return;
  }
  const t = target as Record<string, unknown>;
  for (const [k, x] of Object.entries(v)) {
    const cur = t[k];
    if (typeof cur === 'function') continue;
    if (cur !== null && typeof cur === 'object') {
      applyTo(cur, x, depth + 1);
      continue;
    }
    const next = plain(x);
    if (Object.is(cur, next) || (next !== null && typeof next === 'object')) continue;
    if (!writable(t, k)) continue;
    try {
      t[k] = next;
    } catch {
      // a read-only field: the student's change is not taken over
    }
  }
}

function writable(obj: object, key: string): boolean {
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return d.set !== undefined || d.writable === true;
  }
  return Object.isExtensible(obj);
}

/** Tagged JSON (Maps, Sets) back to values. */
function plain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  const o = v as Record<string, unknown>;
  if (Array.isArray(o['\u0000map'])) return new Map((o['\u0000map'] as [unknown, unknown][]).map(([k, x]) => [plain(k), plain(x)]));
  if (Array.isArray(o['\u0000set'])) return new Set((o['\u0000set'] as unknown[]).map(plain));
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
}
