/**
 * Reading histories from other systems into the checker's operations.
 *
 * Formats (`readHistory` guesses from the first line that is not blank):
 * - 'edn': Jepsen/Knossos histories, one EDN map per line (`{:process 0, :type :invoke, :f :read, :value nil}`)
 *   or one vector of such maps; Porcupine's kv logs are this format with a `:key`. Each :invoke is paired with
 *   the next :ok, :fail or :info of the same :process. :ok returned; :info never returned (unknown outcome);
 *   :fail of a :cas is a compare that did not match, any other :fail did not happen and is dropped. An
 *   invocation with no completion never returned.
 * - 'jepsen-log': Jepsen's console log as in Porcupine's etcd test data
 *   (`INFO  jepsen.util - 3	:ok	:cas	[3 0]`, tab separated: process, type, f, value); other lines are skipped.
 * - 'json': a JSON array of this project's `KvOperation`s ({client, op, key, value, call, return}) or of
 *   `Operation`s ({client, input, output, call, return}).
 *
 * Times: :time when every event has one, otherwise the event's position in the file. The model is guessed from
 * the operations (:put/:get/:append: kv, with absent keys reading as '' as in Porcupine; :read/:write/:cas:
 * register; :add with :read: set). A kv key nobody wrote reads as "" (Porcupine), or as nil if some get returned nil. A malformed line is an error naming the line and the field.
 */
import type { Operation } from './linearizability/model';
import type { ModelSpec } from './models/index';

export type HistoryFormat = 'edn' | 'jepsen-log' | 'json';

export interface ReadHistory {
  readonly format: HistoryFormat;
  readonly history: Operation[];
  /** The model the operations fit. */
  readonly model: ModelSpec;
  /** For each operation, the line its invocation is on (1-based). */
  readonly lines: number[];
}

export class HistoryFormatError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly field: string | null,
    message: string,
  ) {
    super(`${source}:${line}${field ? ` (${field})` : ''}: ${message}`);
    this.name = 'HistoryFormatError';
  }
}

// ---- A small EDN reader: maps, vectors, lists, sets, keywords, strings, numbers, nil, booleans, symbols. ----

export type Edn = null | boolean | number | string | { readonly keyword: string } | { readonly symbol: string } | Edn[] | EdnMap | { readonly set: Edn[] };
export type EdnMap = Map<string, Edn>;

const isKeyword = (v: Edn): v is { keyword: string } => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && 'keyword' in v;
const keywordOf = (v: Edn | undefined): string | null => (v !== undefined && isKeyword(v) ? v.keyword : null);

class EdnReader {
  pos = 0;
  line: number;
  constructor(
    private readonly text: string,
    private readonly source: string,
    firstLine: number,
  ) {
    this.line = firstLine;
  }

  fail(message: string): never {
    throw new HistoryFormatError(this.source, this.line, null, message);
  }

  skip(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      if (c === '\n') this.line++;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ',') this.pos++;
      else if (c === ';') while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      else break;
    }
  }

  atEnd(): boolean {
    this.skip();
    return this.pos >= this.text.length;
  }

  read(): Edn {
    this.skip();
    const t = this.text;
    if (this.pos >= t.length) this.fail('unexpected end of input');
    const c = t[this.pos]!;
    if (c === '{') return this.map();
    if (c === '[' || c === '(') return this.seq(c === '[' ? ']' : ')');
    if (c === '#' && t[this.pos + 1] === '{') {
      this.pos++;
      return { set: this.seq('}') };
    }
    if (c === '"') return this.string();
    if (c === ':') {
      this.pos++;
      return { keyword: this.token() };
    }
    const tok = this.token();
    if (tok === '') this.fail(`unexpected ${JSON.stringify(c)}`);
    if (tok === 'nil') return null;
    if (tok === 'true') return true;
    if (tok === 'false') return false;
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?N?M?$/.test(tok)) return Number(tok.replace(/[NM]$/, ''));
    return { symbol: tok };
  }

  private token(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s,{}[\]()"]/.test(this.text[this.pos]!)) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private string(): string {
    this.pos++;
    let out = '';
    const t = this.text;
    while (this.pos < t.length && t[this.pos] !== '"') {
      const c = t[this.pos++]!;
      if (c === '\n') this.line++;
      if (c === '\\') {
        const e = t[this.pos++];
        out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : (e ?? '');
      } else out += c;
    }
    if (this.pos >= t.length) this.fail('unterminated string');
    this.pos++;
    return out;
  }

  private seq(close: string): Edn[] {
    this.pos++;
    const items: Edn[] = [];
    for (;;) {
      this.skip();
      if (this.pos >= this.text.length) this.fail(`missing ${close}`);
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.read());
    }
  }

  private map(): EdnMap {
    const items = this.seq('}');
    if (items.length % 2 !== 0) this.fail('a map needs an even number of forms');
    const m: EdnMap = new Map();
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      const name = isKeyword(k) ? k.keyword : typeof k === 'string' ? k : this.fail('map keys must be keywords or strings');
      m.set(name, items[i + 1]!);
    }
    return m;
  }
}

/** Parses EDN text: every top-level form, with the line it starts on. */
export function parseEdn(text: string, source = 'edn'): { value: Edn; line: number }[] {
  const r = new EdnReader(text, source, 1);
  const forms: { value: Edn; line: number }[] = [];
  while (!r.atEnd()) {
    const line = r.line;
    forms.push({ value: r.read(), line });
  }
  return forms;
}

// ---- Events to operations ----

interface Event {
  readonly process: string | number;
  readonly type: 'invoke' | 'ok' | 'fail' | 'info';
  readonly f: string;
  readonly value: Edn;
  readonly key: string | null;
  readonly time: number | null;
  readonly line: number;
}

/** JSON-able value of an EDN scalar or collection. */
function plain(v: Edn): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  if ('keyword' in v) return `:${v.keyword}`;
  if ('symbol' in v) return v.symbol;
  return v.set.map(plain);
}

function eventsToOperations(events: readonly Event[], source: string, forced: ModelSpec['name'] | null): ReadHistory & { format: never } {
  const fs = new Set(events.map((e) => e.f));
  const name: ModelSpec['name'] =
    forced ?? (fs.has('put') || fs.has('get') || fs.has('append') ? 'kv' : fs.has('add') ? 'set' : 'register');
  const useTime = events.length > 0 && events.every((e) => e.time !== null);
  const open = new Map<string | number, { event: Event; at: number }>();
  const built: { op: Operation; line: number; at: number }[] = [];
  const fail = (e: Event, field: string, message: string): never => {
    throw new HistoryFormatError(source, e.line, field, message);
  };
  const scalar = (e: Event, v: Edn, field: string): string | number | null => {
    if (v === null || typeof v === 'string' || typeof v === 'number') return v;
    return fail(e, field, `expected a string, a number or nil, got ${JSON.stringify(plain(v))}`);
  };
  const inputOf = (e: Event): unknown => {
    const key = e.key === null ? {} : { key: e.key };
    switch (name) {
      case 'kv':
        if (e.f === 'get') return { f: 'get', key: e.key ?? '' };
        if (e.f !== 'put' && e.f !== 'append') fail(e, ':f', `the kv model has put, get and append, got :${e.f}`);
        if (typeof e.value !== 'string') fail(e, ':value', `a ${e.f} needs a string value, got ${JSON.stringify(plain(e.value))}`);
        return { f: e.f, key: e.key ?? '', value: e.value };
      case 'register':
        if (e.f === 'read') return { f: 'read', ...key };
        if (e.f === 'write') return { f: 'write', ...key, value: scalar(e, e.value, ':value') };
        if (e.f === 'cas') {
          if (!Array.isArray(e.value) || e.value.length !== 2) fail(e, ':value', `a cas needs [from to], got ${JSON.stringify(plain(e.value))}`);
          const [from, to] = e.value as Edn[];
          return { f: 'cas', ...key, from: scalar(e, from!, ':value'), to: scalar(e, to!, ':value') };
        }
        return fail(e, ':f', `the register model has read, write and cas, got :${e.f}`);
      case 'set':
        if (e.f === 'read') return { f: 'read', ...key };
        if (e.f === 'add') return { f: 'add', ...key, value: scalar(e, e.value, ':value') };
        return fail(e, ':f', `the set model has add and read, got :${e.f}`);
    }
  };
  const outputOf = (e: Event, input: { f: string }): unknown => {
    if (input.f === 'get') {
      if (e.value !== null && typeof e.value !== 'string') fail(e, ':value', `a get returns a string or nil, got ${JSON.stringify(plain(e.value))}`);
      return { value: e.value };
    }
    if (input.f === 'cas') return { ok: e.type === 'ok' };
    if (input.f === 'read' && name === 'set') {
      const v = e.value;
      const items: Edn[] = Array.isArray(v) ? v : v !== null && typeof v === 'object' && !(v instanceof Map) && 'set' in v ? v.set : fail(e, ':value', `a set read returns a collection, got ${JSON.stringify(plain(v))}`);
      return { value: items.map((x) => scalar(e, x, ':value')) };
    }
    if (input.f === 'read') return { value: scalar(e, e.value, ':value') };
    return {};
  };
  events.forEach((e, at) => {
    if (e.type === 'invoke') {
      if (open.has(e.process)) fail(e, ':process', `process ${e.process} invokes again before its last operation completed (line ${open.get(e.process)!.event.line})`);
      inputOf(e); // validates now, naming this line
      open.set(e.process, { event: e, at });
      return;
    }
    const started = open.get(e.process);
    if (!started) fail(e, ':process', `a completion (:${e.type}) of process ${e.process} with no invocation before it`);
    open.delete(e.process);
    if (started!.event.f !== e.f) fail(e, ':f', `completes :${started!.event.f} (line ${started!.event.line}) with :${e.f}`);
    const input = inputOf(started!.event) as { f: string };
    const call = useTime ? (started!.event.time as number) : started!.at;
    const ret = useTime ? (e.time as number) : at;
    if (e.type === 'fail' && input.f !== 'cas') return; // did not happen
    if (e.type === 'info') {
      built.push({ op: { client: e.process, input, call, return: null }, line: started!.event.line, at: started!.at });
      return;
    }
    // A Jepsen invocation of a read carries nil; its completion carries what was read.
    built.push({ op: { client: e.process, input, output: outputOf(e, input), call, return: ret }, line: started!.event.line, at: started!.at });
  });
  for (const { event, at } of open.values()) {
    built.push({ op: { client: event.process, input: inputOf(event), call: useTime ? (event.time as number) : at, return: null }, line: event.line, at });
  }
  built.sort((a, b) => a.at - b.at);
  // Porcupine's and Jepsen's kv stores read an absent key as ""; a history that reads nil has absent keys.
  const readsNil = built.some((b) => (b.op.input as { f: string }).f === 'get' && b.op.return !== null && (b.op.output as { value: unknown }).value === null);
  const model: ModelSpec = name === 'kv' ? { name, initial: readsNil ? null : '' } : { name };
  return { format: undefined as never, history: built.map((b) => b.op), lines: built.map((b) => b.line), model };
}

function eventFromMap(m: EdnMap, line: number, source: string): Event {
  const fail = (field: string, message: string): never => {
    throw new HistoryFormatError(source, line, field, message);
  };
  const process = m.get('process');
  if (typeof process !== 'number' && typeof process !== 'string') {
    // Jepsen's nemesis events (:process :nemesis) are not operations of a client.
    if (keywordOf(process) === 'nemesis') return { process: 'nemesis', type: 'info', f: 'nemesis', value: null, key: null, time: null, line };
    fail(':process', `expected a number, got ${JSON.stringify(plain(process ?? null))}`);
  }
  const type = keywordOf(m.get('type'));
  if (type !== 'invoke' && type !== 'ok' && type !== 'fail' && type !== 'info') fail(':type', `expected :invoke, :ok, :fail or :info, got ${JSON.stringify(plain(m.get('type') ?? null))}`);
  const f = keywordOf(m.get('f')) ?? (typeof m.get('f') === 'string' ? (m.get('f') as string) : null);
  if (f === null) fail(':f', `expected a keyword, got ${JSON.stringify(plain(m.get('f') ?? null))}`);
  const rawKey = m.get('key');
  const key = rawKey === undefined || rawKey === null ? null : typeof rawKey === 'string' || typeof rawKey === 'number' ? String(rawKey) : fail(':key', 'expected a string or a number');
  const time = m.get('time');
  return { process: process as string | number, type: type as Event['type'], f: f!, value: m.get('value') ?? null, key, time: typeof time === 'number' ? time : null, line };
}

export function readEdnHistory(text: string, source = 'history.edn', model: ModelSpec['name'] | null = null): ReadHistory {
  const events: Event[] = [];
  for (const form of parseEdn(text, source)) {
    const items = Array.isArray(form.value) ? form.value : [form.value];
    for (const item of items) {
      if (!(item instanceof Map)) throw new HistoryFormatError(source, form.line, null, `expected a map like {:process 0, :type :invoke, :f :read, :value nil}, got ${JSON.stringify(plain(item)).slice(0, 80)}`);
      const e = eventFromMap(item, form.line, source);
      if (e.process !== 'nemesis') events.push(e);
    }
  }
  return { ...eventsToOperations(events, source, model), format: 'edn' };
}

export function readJepsenLog(text: string, source = 'jepsen.log', model: ModelSpec['name'] | null = null): ReadHistory {
  const events: Event[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (!raw.includes('jepsen.util')) return;
    const fields = raw.replace(/\r$/, '').split('\t');
    const fail = (field: string, message: string): never => {
      throw new HistoryFormatError(source, line, field, message);
    };
    if (fields.length < 4) fail('fields', `expected 4 tab-separated fields (process, type, f, value), got ${fields.length}`);
    const proc = /(\d+|:nemesis)\s*$/.exec(fields[0]!);
    if (!proc) fail('process', `expected a process number at the end of ${JSON.stringify(fields[0])}`);
    if (proc![1] === ':nemesis') return;
    const type = fields[1]!.trim().replace(/^:/, '');
    if (type !== 'invoke' && type !== 'ok' && type !== 'fail' && type !== 'info') fail('type', `expected :invoke, :ok, :fail or :info, got ${JSON.stringify(fields[1])}`);
    const f = fields[2]!.trim();
    if (!/^:[\w-]+$/.test(f)) fail('f', `expected a keyword like :read, got ${JSON.stringify(fields[2])}`);
    let value: Edn;
    try {
      const forms = parseEdn(fields.slice(3).join('\t'), source);
      value = forms.length === 0 ? null : forms[0]!.value;
    } catch (err) {
      return fail('value', err instanceof Error ? err.message : String(err));
    }
    // :info values are reasons (:timed-out), not results.
    events.push({ process: Number(proc![1]), type: type as Event['type'], f: f.slice(1), value: type === 'info' ? null : value, key: null, time: null, line });
  });
  return { ...eventsToOperations(events, source, model), format: 'jepsen-log' };
}

export function readJsonHistory(text: string, source = 'history.json', model: ModelSpec['name'] | null = null): ReadHistory {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec(err instanceof Error ? err.message : '');
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : 1;
    throw new HistoryFormatError(source, line, null, `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(data)) throw new HistoryFormatError(source, 1, null, 'expected a JSON array of operations');
  const history: Operation[] = data.map((item: Record<string, unknown>, i) => {
    const where = (field: string, message: string) => new HistoryFormatError(source, 1, `[${i}].${field}`, message);
    if (typeof item !== 'object' || item === null) throw where('', 'expected an object');
    const ret = item['return'] === undefined ? null : (item['return'] as number | null);
    if (typeof item['call'] !== 'number') throw where('call', 'expected a number');
    if ('input' in item) return { client: item['client'] as string | number, input: item['input'], ...(item['output'] !== undefined ? { output: item['output'] } : {}), call: item['call'], return: ret };
    const op = item['op'];
    if (op !== 'put' && op !== 'get' && op !== 'append') throw where('op', `expected put, get or append (or an {input, output} operation), got ${JSON.stringify(op)}`);
    if (op === 'get') return { client: item['client'] as string | number, input: { f: 'get', key: item['key'] }, output: { value: item['value'] }, call: item['call'], return: ret };
    return { client: item['client'] as string | number, input: { f: op, key: item['key'], value: item['value'] }, call: item['call'], return: ret };
  });
  const fs = new Set(history.map((o) => (o.input as { f?: unknown } | null)?.f));
  const name = model ?? (fs.has('put') || fs.has('get') || fs.has('append') ? 'kv' : fs.has('add') ? 'set' : 'register');
  return { format: 'json', history, model: { name }, lines: history.map(() => 1) };
}

export function detectFormat(text: string): HistoryFormat {
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith(';')) ?? '';
  if (/jepsen\.util - /.test(text.slice(0, 20_000))) return 'jepsen-log';
  const t = first.trim();
  if (t.startsWith('{"') || (t.startsWith('[') && (t.startsWith('[{"') || t === '[' || t.startsWith('[ {"') || /^\[\s*$/.test(t)))) return 'json';
  return 'edn';
}

export function readHistory(text: string, options: { readonly source?: string; readonly format?: HistoryFormat; readonly model?: ModelSpec['name'] } = {}): ReadHistory {
  const format = options.format ?? detectFormat(text);
  const model = options.model ?? null;
  switch (format) {
    case 'edn':
      return readEdnHistory(text, options.source ?? 'history.edn', model);
    case 'jepsen-log':
      return readJepsenLog(text, options.source ?? 'jepsen.log', model);
    case 'json':
      return readJsonHistory(text, options.source ?? 'history.json', model);
  }
}

// ---- Writing ----

const ednValue = (v: unknown): string => {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(ednValue).join(' ')}]`;
  throw new TypeError(`cannot write ${JSON.stringify(v)} as EDN`);
};

/**
 * Writes operations of the built-in models as a Jepsen/Knossos EDN history, one map per line, in event order
 * (a call before a return at the same time). An operation that never returned gets an :info at the end.
 */
export function writeEdnHistory(history: readonly Operation[]): string {
  const events: { t: number; ret: boolean; i: number; text: string }[] = [];
  history.forEach((op, i) => {
    const input = op.input as { f: string; key?: string; value?: unknown; from?: unknown; to?: unknown };
    const output = (op.output ?? {}) as { value?: unknown; ok?: boolean };
    const key = input.key === undefined ? '' : `, :key ${JSON.stringify(input.key)}`;
    const arg = input.f === 'cas' ? ednValue([input.from, input.to]) : input.f === 'get' || input.f === 'read' ? 'nil' : ednValue(input.value);
    const map = (type: string, value: string) => `{:process ${typeof op.client === 'number' ? op.client : JSON.stringify(op.client)}, :type :${type}, :f :${input.f}${key}, :value ${value}}`;
    events.push({ t: op.call, ret: false, i, text: map('invoke', arg) });
    if (op.return === undefined || op.return === null) {
      events.push({ t: Infinity, ret: true, i, text: map('info', arg) });
      return;
    }
    const type = input.f === 'cas' && output.ok !== true ? 'fail' : 'ok';
    const value = input.f === 'get' || input.f === 'read' ? ednValue(output.value) : arg;
    events.push({ t: op.return, ret: true, i, text: map(type, value) });
  });
  events.sort((a, b) => a.t - b.t || Number(a.ret) - Number(b.ret) || a.i - b.i);
  return `${events.map((e) => e.text).join('\n')}\n`;
}
