import type { SyntaxNode } from '@lezer/common';
import { parser } from '@lezer/python';

/**
 * A node program (1.py..3.py) read as Python: parsed with lezer's Python grammar, never run. What the grader
 * needs from it: the module-level values of PORT, NODE_ID and TASK_NO (the last assignment wins), the
 * address and cluster it registers with raftos, and the text its f.write() calls write.
 *
 * "Module level" is what Python runs when the file starts: top-level statements and those nested in top-level
 * if / try / with blocks (raftos programs often set their constants under `if __name__ == "__main__":`), not
 * the bodies of def, class, for or while. Only simple expressions are evaluated: numbers, strings (f-strings
 * included), + - * // % **, comparisons, lists and tuples, one-`for` list comprehensions, subscripts, str() /
 * int() / len(), and names assigned before; anything else is "unknown", with its source.
 */

export type PyValue = number | string | boolean | null | readonly PyValue[];

export interface Unknown {
  readonly unknown: string;
}

export type Evaluated = { readonly value: PyValue } | Unknown;

export interface Assignment {
  readonly name: string;
  readonly line: number;
  readonly source: string;
  readonly result: Evaluated;
}

export interface WriteCall {
  readonly line: number;
  /** The argument as a template: its text with each {expression} kept as written, e.g. "LEADER => {leader}\n". */
  readonly template: string;
}

export interface RegisterCall {
  readonly line: number;
  readonly address: Evaluated | null;
  readonly cluster: Evaluated | null;
}

export interface PythonProgram {
  /** Name -> its last module-level assignment. */
  readonly globals: ReadonlyMap<string, Assignment>;
  readonly writes: readonly WriteCall[];
  readonly registers: readonly RegisterCall[];
}

export type PythonParse = { readonly ok: true; readonly program: PythonProgram } | { readonly ok: false; readonly line: number; readonly problem: string };

export function isUnknown(e: Evaluated): e is Unknown {
  return 'unknown' in e;
}

/** Parse a program; invalid Python gives the first bad line. */
export function readPython(text: string): PythonParse {
  try {
    return parseProgram(text);
  } catch (error) {
    // the tree walks recurse: an expression nested beyond the stack is refused, not a grader crash
    if (error instanceof RangeError) return { ok: false, line: 1, problem: 'is nested too deeply for the grader to read' };
    throw error;
  }
}

function parseProgram(text: string): PythonParse {
  const src = text.replace(/^\uFEFF/, '');
  const deep = tooDeep(src);
  if (deep) return { ok: false, ...deep };
  const tree = parser.parse(src);
  const problem = syntaxProblem(src, tree.topNode);
  if (problem) return { ok: false, ...problem };
  const globals = new Map<string, Assignment>();
  for (const statement of moduleStatements(tree.topNode)) runStatement(src, statement, globals);
  const writes: WriteCall[] = [];
  const registers: RegisterCall[] = [];
  const env = (name: string) => globals.get(name)?.result;
  walk(tree.topNode, (node) => {
    if (node.name !== 'CallExpression') return;
    const callee = node.firstChild;
    const args = node.getChild('ArgList');
    if (!callee || !args) return;
    const calleeText = textOf(src, callee).replace(/\s+/g, '');
    if (callee.name === 'MemberExpression' && callee.lastChild?.name === 'PropertyName' && textOf(src, callee.lastChild) === 'write') {
      const first = argumentsOf(src, args).positional[0];
      if (first) writes.push({ line: lineOf(src, node.from), template: templateOf(src, first) });
    } else if (calleeText === 'raftos.register' || calleeText === 'register') {
      const { positional, keywords } = argumentsOf(src, args);
      const cluster = keywords.get('cluster') ?? positional[1];
      registers.push({
        line: lineOf(src, node.from),
        address: positional[0] ? evaluate(src, positional[0], env) : null,
        cluster: cluster ? evaluate(src, cluster, env) : null,
      });
    }
  });
  return { ok: true, program: { globals, writes, registers } };
}

// ---- Syntax ----

/** Python's tokenizer refuses more than 200 nested brackets; checked first, as deep nesting makes parsing slow. */
const MAX_NESTING = 200;

function tooDeep(src: string): { line: number; problem: string } | null {
  let depth = 0;
  let line = 1;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\n') line++;
    else if (c === '#') {
      while (i + 1 < src.length && src[i + 1] !== '\n') i++;
    } else if (c === "'" || c === '"') {
      const quote = src.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += quote.length;
      while (i < src.length && !src.startsWith(quote, i)) {
        if (src[i] === '\\') i++;
        else if (src[i] === '\n') {
          if (quote.length === 1) break; // an unclosed string: the parser reports it
          line++;
        }
        i++;
      }
      if (src[i] === '\n') line++;
      i += quote.length - 1;
    } else if (c === '(' || c === '[' || c === '{') {
      if (++depth > MAX_NESTING) return { line, problem: `is not valid Python (too many nested parentheses: Python allows ${MAX_NESTING})` };
    } else if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return null;
}

function syntaxProblem(src: string, top: SyntaxNode): { line: number; problem: string } | null {
  let found: { line: number; problem: string } | null = null;
  walk(top, (node) => {
    if (found) return false;
    if (node.type.isError) {
      // at the end of the file: the unfinished statement's last line, as Python says
      const atEnd = src.slice(node.from).trim() === '';
      const line = lineOf(src, atEnd ? src.trimEnd().length - 1 : node.from);
      found = { line, problem: `is not valid Python (${describeAt(src, node.from)})` };
      return false;
    }
    if (node.name === 'PrintStatement') {
      found = { line: lineOf(src, node.from), problem: 'is not valid Python 3 (a Python 2 print statement: write print(...))' };
      return false;
    }
    return true;
  });
  return found ?? indentationProblem(src, top);
}

/** lezer accepts some indentation Python refuses: every statement of a block must start at the block's column. */
function indentationProblem(src: string, top: SyntaxNode): { line: number; problem: string } | null {
  const blocks: { indent: string | null; statements: SyntaxNode[] }[] = [];
  const collect = (block: SyntaxNode, topLevel: boolean) => {
    const statements: SyntaxNode[] = [];
    for (let c = block.firstChild; c; c = c.nextSibling) {
      if (c.name === 'StatementGroup') statements.push(...children(c).filter(isStatement));
      else if (isStatement(c)) statements.push(c);
    }
    blocks.push({ indent: topLevel ? '' : null, statements });
  };
  collect(top, true);
  walk(top, (node) => {
    if (node.name === 'Body') collect(node, false);
    return true;
  });
  for (const block of blocks) {
    let indent = block.indent;
    for (const s of block.statements) {
      const lineStart = src.lastIndexOf('\n', s.from - 1) + 1;
      const lead = src.slice(lineStart, s.from);
      if (!/^[ \t]*$/.test(lead)) continue; // after ';' or on the line of its ':'
      if (indent === null) indent = lead;
      else if (lead !== indent) {
        const problem = lead.replace(/ /g, '').length !== indent.replace(/ /g, '').length || lead.includes('\t') !== indent.includes('\t')
          ? `is not valid Python (indentation: ${JSON.stringify(lead)} where its block uses ${JSON.stringify(indent)}; do not mix tabs and spaces)`
          : `is not valid Python (unexpected indentation: ${JSON.stringify(lead)} where its block uses ${JSON.stringify(indent)})`;
        return { line: lineOf(src, s.from), problem };
      }
    }
  }
  return null;
}

function isStatement(node: SyntaxNode): boolean {
  return /Statement$|Definition$/.test(node.name) && node.name !== 'StatementGroup';
}

function describeAt(src: string, pos: number): string {
  const lineStart = src.lastIndexOf('\n', pos - 1) + 1;
  const lineEnd = src.indexOf('\n', pos);
  const line = src.slice(lineStart, lineEnd < 0 ? src.length : lineEnd).replace(/\r$/, '');
  const col = pos - lineStart + 1;
  return src.slice(pos).trim() === '' ? 'the file ends in the middle of a statement' : `column ${col} of ${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}...` : line)}`;
}

// ---- Module-level statements ----

const NESTED_BLOCKS = new Set(['IfStatement', 'TryStatement', 'WithStatement']);

function moduleStatements(top: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const visit = (block: SyntaxNode) => {
    for (let c = block.firstChild; c; c = c.nextSibling) {
      if (c.name === 'StatementGroup') visit(c);
      else if (NESTED_BLOCKS.has(c.name)) for (const body of c.getChildren('Body')) visit(body);
      else if (isStatement(c)) out.push(c);
    }
  };
  visit(top);
  return out;
}

function runStatement(src: string, statement: SyntaxNode, globals: Map<string, Assignment>): void {
  const env = (name: string) => globals.get(name)?.result;
  const bind = (name: string, result: Evaluated) => globals.set(name, { name, line: lineOf(src, statement.from), source: textOf(src, statement), result });
  if (statement.name === 'AssignStatement') {
    // a = b = 1, 2   ->  groups [a] [b] [1 , 2]
    const groups: SyntaxNode[][] = [[]];
    for (const c of children(statement)) {
      if (c.name === 'AssignOp') groups.push([]);
      else if (c.name !== 'TypeDef') groups[groups.length - 1]!.push(c);
    }
    if (groups.length < 2) return;
    const valueNodes = groups.pop()!.filter((n) => n.name !== ',');
    const value: Evaluated = valueNodes.length === 1 ? evaluate(src, valueNodes[0]!, env) : sequence(valueNodes.map((n) => evaluate(src, n, env)));
    for (const group of groups) {
      const targets = group.filter((n) => n.name !== ',').flatMap((n) => (n.name === 'TupleExpression' || n.name === 'ParenthesizedExpression' || n.name === 'ArrayExpression' ? children(n).filter((c) => c.name !== ',' && c.name !== '(' && c.name !== ')' && c.name !== '[' && c.name !== ']') : [n]));
      if (targets.length === 1 && group.filter((n) => n.name !== ',').length === 1 && group.length === 1) {
        if (targets[0]!.name === 'VariableName') bind(textOf(src, targets[0]!), value);
        continue;
      }
      targets.forEach((t, i) => {
        if (t.name !== 'VariableName') return;
        const v = isUnknown(value) || !Array.isArray(value.value) || value.value.length !== targets.length
          ? { unknown: textOf(src, statement) }
          : { value: (value.value as PyValue[])[i]! };
        bind(textOf(src, t), v);
      });
    }
  } else if (statement.name === 'UpdateStatement') {
    const [target, op, valueNode] = children(statement);
    if (target?.name !== 'VariableName' || !op || !valueNode) return;
    const name = textOf(src, target);
    const before = env(name) ?? { unknown: `${name} is not set before ${textOf(src, statement)}` };
    bind(name, binary(textOf(src, op).slice(0, -1), before, evaluate(src, valueNode, env), textOf(src, statement)));
  } else if (statement.name === 'ImportStatement') {
    // import x as NAME / from m import NAME: the value comes from elsewhere
    const names = children(statement).filter((c) => c.name === 'VariableName');
    const isFrom = statement.firstChild?.name === 'from';
    const asIndex = children(statement).findIndex((c) => c.name === 'as');
    const bound = asIndex >= 0 ? [children(statement)[asIndex + 1]!] : isFrom ? names.slice(1) : names.slice(0, 1);
    for (const b of bound) if (b?.name === 'VariableName') bind(textOf(src, b), { unknown: `imported (${textOf(src, statement)})` });
  } else if (statement.name === 'FunctionDefinition' || statement.name === 'ClassDefinition') {
    const name = statement.getChild('VariableName');
    if (name) bind(textOf(src, name), { unknown: `a ${statement.name === 'ClassDefinition' ? 'class' : 'function'}` });
  }
}

// ---- Expressions ----

type Env = (name: string) => Evaluated | undefined;

function sequence(items: readonly Evaluated[]): Evaluated {
  const bad = items.find(isUnknown);
  return bad ?? { value: items.map((i) => (i as { value: PyValue }).value) };
}

function evaluate(src: string, node: SyntaxNode, env: Env): Evaluated {
  const source = textOf(src, node);
  const unknown = (why?: string): Unknown => ({ unknown: why ?? source });
  switch (node.name) {
    case 'Number': {
      const n = Number(source.replace(/_/g, ''));
      return Number.isFinite(n) ? { value: n } : unknown();
    }
    case 'Boolean':
      return { value: source === 'True' };
    case 'None':
      return { value: null };
    case 'String':
      return stringValue(source) ?? unknown();
    case 'FormatString':
      return formatValue(src, node, env);
    case 'ContinuedString': {
      const parts = children(node).map((c) => evaluate(src, c, env));
      const bad = parts.find(isUnknown);
      if (bad) return bad;
      return { value: parts.map((p) => (p as { value: PyValue }).value).join('') };
    }
    case 'VariableName': {
      const v = env(source);
      if (v === undefined) return unknown(`${source} is not set at module level before it is used`);
      return v;
    }
    case 'ParenthesizedExpression': {
      const inner = children(node).filter((c) => c.name !== '(' && c.name !== ')');
      return inner.length === 1 ? evaluate(src, inner[0]!, env) : unknown();
    }
    case 'TupleExpression':
    case 'ArrayExpression':
      return sequence(children(node).filter((c) => !['(', ')', '[', ']', ','].includes(c.name)).map((c) => evaluate(src, c, env)));
    case 'UnaryExpression': {
      const [op, operand] = children(node);
      if (!op || !operand) return unknown();
      const v = evaluate(src, operand, env);
      if (isUnknown(v)) return v;
      const o = textOf(src, op);
      if (o === 'not') return { value: !truthy(v.value) };
      if (typeof v.value !== 'number') return unknown();
      return o === '-' ? { value: -v.value } : o === '+' ? v : unknown();
    }
    case 'BinaryExpression': {
      const [left, op, right] = children(node);
      if (!left || !op || !right) return unknown();
      return binary(textOf(src, op), evaluate(src, left, env), evaluate(src, right, env), source);
    }
    case 'ArrayComprehensionExpression':
      return comprehension(src, node, env);
    case 'MemberExpression': {
      const parts = children(node);
      if (parts[1]?.name !== '[' || parts.length !== 4) return unknown();
      const target = evaluate(src, parts[0]!, env);
      const index = evaluate(src, parts[2]!, env);
      if (isUnknown(target)) return target;
      if (isUnknown(index)) return index;
      const seq = target.value;
      const i = index.value;
      if ((typeof seq !== 'string' && !Array.isArray(seq)) || typeof i !== 'number' || !Number.isInteger(i)) return unknown();
      const at = i < 0 ? seq.length + i : i;
      if (at < 0 || at >= seq.length) return unknown(`${source}: index out of range`);
      return { value: typeof seq === 'string' ? seq[at]! : (seq as readonly PyValue[])[at]! };
    }
    case 'CallExpression': {
      const callee = node.firstChild;
      const args = node.getChild('ArgList');
      if (callee?.name !== 'VariableName' || !args) return unknown();
      const { positional, keywords } = argumentsOf(src, args);
      if (positional.length !== 1 || keywords.size > 0) return unknown();
      const v = evaluate(src, positional[0]!, env);
      if (isUnknown(v)) return v;
      const fn = textOf(src, callee);
      if (fn === 'str') return { value: pyStr(v.value) };
      if (fn === 'int' && (typeof v.value === 'number' || (typeof v.value === 'string' && /^\s*[-+]?\d+\s*$/.test(v.value)))) return { value: Math.trunc(Number(v.value)) };
      if (fn === 'len' && (typeof v.value === 'string' || Array.isArray(v.value))) return { value: v.value.length };
      return unknown();
    }
    default:
      return unknown();
  }
}

function binary(op: string, a: Evaluated, b: Evaluated, source: string): Evaluated {
  if (isUnknown(a)) return a;
  if (isUnknown(b)) return b;
  const x = a.value;
  const y = b.value;
  const unknown = { unknown: source };
  if (typeof x === 'number' && typeof y === 'number') {
    switch (op) {
      case '+': return { value: x + y };
      case '-': return { value: x - y };
      case '*': return { value: x * y };
      case '/': return y === 0 ? unknown : { value: x / y };
      case '//': return y === 0 ? unknown : { value: Math.floor(x / y) };
      case '%': return y === 0 ? unknown : { value: x - y * Math.floor(x / y) };
      case '**': return { value: x ** y };
      default:
    }
  }
  if (op === '+' && typeof x === 'string' && typeof y === 'string') return { value: x + y };
  if (op === '+' && Array.isArray(x) && Array.isArray(y)) return { value: [...x, ...y] };
  if (op === '*' && typeof x === 'string' && typeof y === 'number') return { value: x.repeat(Math.max(0, y)) };
  switch (op) {
    case '==': return { value: same(x, y) };
    case '!=': return { value: !same(x, y) };
    case 'and': return truthy(x) ? b : a;
    case 'or': return truthy(x) ? a : b;
    default:
  }
  if ((typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string')) {
    switch (op) {
      case '<': return { value: x < y };
      case '>': return { value: x > y };
      case '<=': return { value: x <= y };
      case '>=': return { value: x >= y };
      default:
    }
  }
  if (op === 'in' && (Array.isArray(y) || (typeof y === 'string' && typeof x === 'string'))) return { value: typeof y === 'string' ? y.includes(x as string) : (y as readonly PyValue[]).some((e) => same(e, x)) };
  return unknown;
}

/** [expr for name in iterable if cond ...]: one for clause. */
function comprehension(src: string, node: SyntaxNode, env: Env): Evaluated {
  const parts = children(node).filter((c) => c.name !== '[' && c.name !== ']');
  const unknown = { unknown: textOf(src, node) };
  if (parts.length < 4 || parts[1]?.name !== 'for' || parts[2]?.name !== 'VariableName' || parts[3]?.name !== 'in' || !parts[4]) return unknown;
  if (parts.slice(5).some((p) => p.name === 'for')) return unknown;
  const name = textOf(src, parts[2]);
  const iterable = evaluate(src, parts[4], env);
  if (isUnknown(iterable)) return iterable;
  if (!Array.isArray(iterable.value)) return unknown;
  const conditions = parts.slice(5).filter((p) => p.name !== 'if');
  const out: PyValue[] = [];
  for (const item of iterable.value as readonly PyValue[]) {
    const inner: Env = (n) => (n === name ? { value: item } : env(n));
    let keep = true;
    for (const c of conditions) {
      const v = evaluate(src, c, inner);
      if (isUnknown(v)) return v;
      if (!truthy(v.value)) keep = false;
    }
    if (!keep) continue;
    const v = evaluate(src, parts[0]!, inner);
    if (isUnknown(v)) return v;
    out.push(v.value);
  }
  return { value: out };
}

function truthy(v: PyValue): boolean {
  if (Array.isArray(v) || typeof v === 'string') return v.length > 0;
  return Boolean(v);
}

function same(a: PyValue, b: PyValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]!));
  return a === b;
}

/** Python's str() of a value (what an f-string replacement without a spec writes). */
export function pyStr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v).includes('e') ? String(v) : String(v).includes('.') ? String(v) : `${v}.0`;
  if (typeof v === 'string') return v;
  return `[${v.map((x) => (typeof x === 'string' ? `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : pyStr(x))).join(', ')}]`;
}

// ---- Strings ----

const STRING_START = /^([rRbBuUfF]{0,2})('''|"""|'|")/;

function splitString(source: string): { prefix: string; body: string } | null {
  const m = STRING_START.exec(source);
  if (!m) return null;
  const quote = m[2]!;
  if (!source.endsWith(quote) || source.length < m[0].length + quote.length) return null;
  return { prefix: m[1]!.toLowerCase(), body: source.slice(m[0].length, source.length - quote.length) };
}

function stringValue(source: string): Evaluated | null {
  const s = splitString(source);
  if (!s || s.prefix.includes('b')) return null;
  return { value: s.prefix.includes('r') ? s.body : unescape(s.body) };
}

function unescape(body: string): string {
  return body.replace(/\\(\r?\n|[\\'"abfnrtv]|[0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})/g, (_, e: string) => {
    switch (e[0]) {
      case '\n': case '\r': return '';
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'v': return '\v';
      case 'x': case 'u': case 'U': return String.fromCodePoint(parseInt(e.slice(1), 16));
      default: return /[0-7]/.test(e[0]!) ? String.fromCodePoint(parseInt(e, 8)) : e;
    }
  });
}

/** An f-string's pieces: literal text (escapes and {{ }} decoded) and replacement fields. */
function formatPieces(src: string, node: SyntaxNode): ({ text: string } | { field: SyntaxNode })[] | null {
  const source = textOf(src, node);
  const s = splitString(source);
  if (!s) return null;
  const raw = s.prefix.includes('r');
  const bodyStart = node.from + source.indexOf(s.body, s.prefix.length);
  const pieces: ({ text: string } | { field: SyntaxNode })[] = [];
  let at = bodyStart;
  const literal = (to: number) => {
    if (to <= at) return;
    const t = src.slice(at, to).replace(/\{\{/g, '{').replace(/\}\}/g, '}');
    pieces.push({ text: raw ? t : unescape(t) });
  };
  for (const field of node.getChildren('FormatReplacement')) {
    literal(field.from);
    pieces.push({ field });
    at = field.to;
  }
  literal(bodyStart + s.body.length);
  return pieces;
}

function formatValue(src: string, node: SyntaxNode, env: Env): Evaluated {
  const pieces = formatPieces(src, node);
  if (!pieces) return { unknown: textOf(src, node) };
  let out = '';
  for (const p of pieces) {
    if ('text' in p) {
      out += p.text;
      continue;
    }
    const inner = children(p.field).filter((c) => c.name !== '{' && c.name !== '}');
    if (inner.length !== 1) return { unknown: textOf(src, p.field) };
    const v = evaluate(src, inner[0]!, env);
    if (isUnknown(v)) return v;
    out += pyStr(v.value);
  }
  return { value: out };
}

/** A write's argument as a template: f'LEADER => {leader}\n' and "LEADER => " + str(leader)... differ; quotes and prefixes do not. */
function templateOf(src: string, node: SyntaxNode): string {
  if (node.name === 'String') {
    const v = stringValue(textOf(src, node));
    return v && !isUnknown(v) ? String(v.value) : textOf(src, node);
  }
  if (node.name === 'FormatString') {
    const pieces = formatPieces(src, node);
    if (!pieces) return textOf(src, node);
    return pieces.map((p) => ('text' in p ? p.text.replace(/[{}]/g, (b) => b + b) : `{${textOf(src, p.field).slice(1, -1).trim().replace(/\s+/g, ' ')}}`)).join('');
  }
  if (node.name === 'ContinuedString') return children(node).map((c) => templateOf(src, c)).join('');
  return `{${textOf(src, node).replace(/\s+/g, ' ')}}`;
}

// ---- Tree helpers ----

function argumentsOf(src: string, args: SyntaxNode): { positional: SyntaxNode[]; keywords: Map<string, SyntaxNode> } {
  const parts = children(args).filter((c) => c.name !== '(' && c.name !== ')');
  const positional: SyntaxNode[] = [];
  const keywords = new Map<string, SyntaxNode>();
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.name === ',') continue;
    if (p.name === 'VariableName' && parts[i + 1]?.name === 'AssignOp' && parts[i + 2]) {
      keywords.set(textOf(src, p), parts[i + 2]!);
      i += 2;
    } else {
      positional.push(p);
    }
  }
  return { positional, keywords };
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.name !== 'Comment') out.push(c);
  return out;
}

/** Depth-first; `visit` returning false skips the node's children. */
function walk(node: SyntaxNode, visit: (n: SyntaxNode) => boolean | void): void {
  if (visit(node) === false) return;
  for (let c = node.firstChild; c; c = c.nextSibling) walk(c, visit);
}

function textOf(src: string, node: SyntaxNode): string {
  return src.slice(node.from, node.to);
}

function lineOf(src: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src.charCodeAt(i) === 10) line++;
  return line;
}
