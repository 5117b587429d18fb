/**
 * The key/value store: put(key, value), get(key) -> value, append(key, value), one string register per key
 * (Porcupine's kv model). A key nobody wrote reads as `initial`: null by default (this project's store), ''
 * for Porcupine's and Jepsen's kv histories.
 */
import { overwrittenReads } from './overwritten';
import { hashString, ILLEGAL as ILLEGAL_EXPORT, partitionBy, returned as returnedExport, type Illegal, type Model, type Operation } from '../linearizability/model';
const ILLEGAL: typeof ILLEGAL_EXPORT = ILLEGAL_EXPORT; // a local binding: an imported one is a getter call in the hot loop
const returned = returnedExport;

export type KvInput =
  | { readonly f: 'put'; readonly key: string; readonly value: string }
  | { readonly f: 'append'; readonly key: string; readonly value: string }
  | { readonly f: 'get'; readonly key: string };
/** A get's output: the value read (null: absent). Puts and appends have no output. */
export interface KvOutput {
  readonly value?: string | null;
}
export type KvState = string | null;
export type KvOp = Operation<KvInput, KvOutput>;

const NULL_HASH = 0x5bd1e995;

export function kvModel(options: { readonly initial?: string | null } = {}): Model<KvState, KvInput, KvOutput> {
  const initial = options.initial === undefined ? null : options.initial;
  return {
    name: 'kv',
    spec: { name: 'kv', initial },
    init: () => initial,
    step(state: KvState, input: KvInput, output: KvOutput | undefined): KvState | Illegal {
      switch (input.f) {
        case 'put':
          return input.value;
        case 'append':
          return (state ?? '') + input.value;
        case 'get':
          if (output === undefined) return state;
          return output.value === state || (output.value === undefined && state === null) ? state : ILLEGAL;
      }
    },
    equal: (a, b) => a === b,
    hash: (s) => (s === null ? NULL_HASH : hashString(s)),
    describeOperation(input, output) {
      if (input.f === 'get') return `get(${input.key}) -> ${output === undefined ? '?' : JSON.stringify(output.value ?? null)}`;
      return `${input.f}(${input.key}, ${JSON.stringify(input.value)})`;
    },
    partition: (history) => partitionBy(history, (op) => op.input.key),
    simplify(ops) {
      // A get that never returned says nothing. A put or append that never returned and whose value no returned
      // get contains can be left out: had it taken effect, every later read until the next put would contain it.
      const reads: string[] = [];
      for (const op of ops) if (op.input.f === 'get' && returned(op) && typeof op.output?.value === 'string') reads.push(op.output.value);
      return ops.filter((op) => {
        if (returned(op)) return true;
        if (op.input.f === 'get') return false;
        const v = op.input.value;
        return op.input.f === 'put' ? reads.some((r) => r.startsWith(v)) : reads.some((r) => r.includes(v));
      });
    },
    impossible(ops) {
      // A get that read a value (other than the initial one) before any put or append on the key was called.
      let firstWrite = Infinity;
      for (const op of ops) if (op.input.f !== 'get' && op.call < firstWrite) firstWrite = op.call;
      const hasAppend = ops.some((op) => op.input.f === 'append');
      const written = new Set<string>();
      for (const op of ops) if (op.input.f === 'put') written.add(op.input.value);
      const putCount = new Map<string, number>();
      for (const op of ops) if (op.input.f === 'put') putCount.set(op.input.value, (putCount.get(op.input.value) ?? 0) + 1);
      const writeValues = ops.filter((op) => op.input.f !== 'get').map((op) => (op.input as { value: string }).value);
      // State v arises only right after the one put of v when no other put value and no append value is a
      // prefix of v (appends only ever extend the state).
      const memo = new Map<string, boolean>();
      const unique = (v: string) => {
        let u = memo.get(v);
        if (u === undefined) memo.set(v, (u = isUnique(v)));
        return u;
      };
      const writeSet = new Set(writeValues);
      const startsWithWrite = (v: string) => {
        if (writeSet.has(v) || writeSet.has('')) return true;
        for (let k = 1; k <= v.length; k++) if (writeSet.has(v.slice(0, k))) return true;
        return false;
      };
      const isUnique = (v: string) => {
        if (v === initial || putCount.get(v) !== 1 || writeSet.has('')) return false;
        for (let k = 1; k < v.length; k++) if (writeSet.has(v.slice(0, k))) return false;
        return !ops.some((op) => op.input.f === 'append' && op.input.value === v);
      };
      const overwritten = overwrittenReads(
        ops.filter((op) => op.input.f !== 'get' && returned(op)).map((op) => ({ value: op.input.f === 'put' ? op.input.value : '\u0000append', call: op.call, return: op.return as number })),
        unique,
      );
      return ops.findIndex((op) => {
        if (op.input.f !== 'get' || !returned(op)) return false;
        const v = op.output?.value ?? null;
        if (v === initial) return false;
        if ((op.return as number) < firstWrite) return true;
        // Every value read starts with the value of some write (a put, or the first append to an empty key),
        // unless the key starts with a non-empty initial value.
        if (v === null || ((initial === null || initial === '') && !startsWithWrite(v))) return true;
        // Without appends, every value read is a value some put wrote.
        if (!hasAppend && !written.has(v)) return true;
        return overwritten(v, op.call);
      });
    },
    witness(read, write) {
      if (read.input.f !== 'get' || write.input.f === 'get') return false;
      const v = read.output?.value;
      return typeof v === 'string' && (write.input.f === 'put' ? v.startsWith(write.input.value) : v.includes(write.input.value));
    },
    validate(input, output) {
      const i = input as Partial<Record<string, unknown>> | null;
      if (typeof i !== 'object' || i === null) return 'input must be an object';
      if (i['f'] !== 'put' && i['f'] !== 'get' && i['f'] !== 'append') return `input.f must be put, get or append, got ${JSON.stringify(i['f'])}`;
      if (typeof i['key'] !== 'string') return 'input.key must be a string';
      if (i['f'] !== 'get' && typeof i['value'] !== 'string') return `input.value must be a string for ${i['f']}`;
      if (i['f'] === 'get' && output !== undefined) {
        const o = output as Partial<Record<string, unknown>> | null;
        if (typeof o !== 'object' || o === null || (o['value'] !== null && o['value'] !== undefined && typeof o['value'] !== 'string')) return 'output.value must be a string or null';
      }
      return null;
    },
  };
}
