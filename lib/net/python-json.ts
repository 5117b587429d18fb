/**
 * JSON written the way Python's `json.dumps(value)` writes it with default arguments, so the files this
 * project writes look like the ones raftos wrote: `{"term": 1, "command": {"data_id": 1}}`.
 *
 * - separators ', ' and ': ', no newline, no indentation;
 * - ensure_ascii: every character outside printable ASCII (0x20-0x7e) is escaped as a lowercase \uXXXX
 *   (characters above U+FFFF as their surrogate pair, as Python does);
 * - integer-valued numbers are written as Python ints (all digits, never an exponent); other numbers
 *   the way Python's float repr writes them (shortest round-trip digits, exponent below 1e-4 or from 1e16).
 *
 * Key order is the object's own order. JavaScript lists integer-like keys ("2") first, which Python
 * would not; commands in this project use ordinary names, so that difference does not show.
 */

/** Nesting deeper than this is refused everywhere in lib/net (the writer recurses; Python's default limit is ~1000). */
export const MAX_JSON_DEPTH = 64;

export function pythonJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, 0, []);
  return parts.join('');
}

function write(value: unknown, out: string[], depth: number, stack: object[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      out.push(pythonNumber(value));
      return;
    case 'string':
      out.push(pythonString(value));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot write a ${typeof value} as JSON`);
  }
  const obj = value as object;
  if (depth >= MAX_JSON_DEPTH) throw new TypeError(`JSON nesting deeper than ${MAX_JSON_DEPTH} levels`);
  if (stack.includes(obj)) throw new TypeError('cannot write a circular structure as JSON');
  stack.push(obj);
  if (Array.isArray(obj)) {
    out.push('[');
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) out.push(', ');
      write(obj[i], out, depth + 1, stack);
    }
    out.push(']');
  } else {
    if (!isPlainObject(obj)) throw new TypeError(`cannot write a ${obj.constructor?.name ?? 'non-plain object'} as JSON`);
    out.push('{');
    let first = true;
    for (const key of Object.keys(obj)) {
      if (!first) out.push(', ');
      first = false;
      out.push(pythonString(key), ': ');
      write((obj as Record<string, unknown>)[key], out, depth + 1, stack);
    }
    out.push('}');
  }
  stack.pop();
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function pythonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`cannot write ${n} as JSON`);
  if (Number.isInteger(n)) return BigInt(n).toString();
  // toExponential() without an argument gives the shortest digits that round-trip, like Python's repr.
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(n);
}

function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c <= 0x7e) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += '\\u' + c.toString(16).padStart(4, '0');
  }
  return out + '"';
}

/**
 * Why `value` (typically a command from the network or a file) cannot be stored, or null if it can:
 * only JSON values (plain objects, arrays, strings, finite numbers, booleans, null), not circular,
 * nested at most MAX_JSON_DEPTH deep (so the recursion here and in pythonJson stays shallow).
 */
export function jsonValueProblem(value: unknown): string | null {
  return check(value, 0, '', [], new Set());
}

function check(v: unknown, depth: number, path: string, ancestors: object[], done: Set<object>): string | null {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${where(path)}is not a finite number`;
  if (typeof v !== 'object') return `${where(path)}is a ${typeof v}, not a JSON value`;
  if (ancestors.includes(v)) return `${where(path)}is circular`;
  if (done.has(v)) return null;
  if (depth >= MAX_JSON_DEPTH) return `${where(path)}is nested deeper than ${MAX_JSON_DEPTH} levels`;
  let children: Array<[string, unknown]>;
  if (Array.isArray(v)) children = v.map((item, i) => [`${path}[${i}]`, item]);
  else if (isPlainObject(v)) children = Object.keys(v).map((key) => [path === '' ? key : `${path}.${key}`, v[key]]);
  else return `${where(path)}is not a plain object`;
  ancestors.push(v);
  for (const [childPath, child] of children) {
    const problem = check(child, depth + 1, childPath, ancestors, done);
    if (problem !== null) return problem;
  }
  ancestors.pop();
  done.add(v);
  return null;
}

function where(path: string): string {
  return path === '' ? '' : `${path} `;
}
