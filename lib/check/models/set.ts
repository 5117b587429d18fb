/**
 * A set with add(value) and read() -> all values (Jepsen's set workload). The read's output lists the values in
 * any order; duplicates count once.
 */
import { hashString, ILLEGAL as ILLEGAL_EXPORT, partitionBy, returned as returnedExport, type Illegal, type Model, type Operation } from '../linearizability/model';
const ILLEGAL: typeof ILLEGAL_EXPORT = ILLEGAL_EXPORT; // a local binding: an imported one is a getter call in the hot loop
const returned = returnedExport;

export type SetValue = string | number;
export type SetInput = { readonly f: 'add'; readonly key?: string; readonly value: SetValue } | { readonly f: 'read'; readonly key?: string };
export interface SetOutput {
  readonly value?: readonly SetValue[];
}
/** The canonical form: the sorted JSON of each member, joined by newlines. */
export interface SetState {
  readonly members: readonly string[];
  readonly canonical: string;
}
export type SetOp = Operation<SetInput, SetOutput>;

const canonical = (values: readonly SetValue[]): SetState => {
  const members = [...new Set(values.map((v) => JSON.stringify(v)))].sort();
  return { members, canonical: members.join('\n') };
};

export function setModel(): Model<SetState, SetInput, SetOutput> {
  const empty = canonical([]);
  const readCache = new WeakMap<readonly SetValue[], string>();
  const canonicalRead = (v: readonly SetValue[]) => {
    let c = readCache.get(v);
    if (c === undefined) readCache.set(v, (c = canonical(v).canonical));
    return c;
  };
  return {
    name: 'set',
    spec: { name: 'set' },
    init: () => empty,
    step(state: SetState, input: SetInput, output: SetOutput | undefined): SetState | Illegal {
      if (input.f === 'add') {
        const m = JSON.stringify(input.value);
        if (state.members.includes(m)) return state;
        const members = [...state.members, m].sort();
        return { members, canonical: members.join('\n') };
      }
      if (output === undefined) return state;
      return canonicalRead(output.value ?? []) === state.canonical ? state : ILLEGAL;
    },
    equal: (a, b) => a.canonical === b.canonical,
    hash: (s) => hashString(s.canonical),
    describeOperation(input, output) {
      if (input.f === 'add') return `add(${input.key === undefined ? '' : `${input.key}, `}${JSON.stringify(input.value)})`;
      return `read(${input.key ?? ''}) -> ${output === undefined ? '?' : `{${(output.value ?? []).map((v) => JSON.stringify(v)).join(', ')}}`}`;
    },
    partition: (history) => partitionBy(history, (op) => op.input.key ?? ''),
    simplify(ops) {
      // Reads that never returned say nothing; an add that never returned and whose value no read saw neither.
      const seen = new Set<string>();
      for (const op of ops) if (op.input.f === 'read' && returned(op)) for (const v of op.output?.value ?? []) seen.add(JSON.stringify(v));
      return ops.filter((op) => returned(op) || (op.input.f === 'add' && seen.has(JSON.stringify(op.input.value))));
    },
    impossible(ops) {
      // A read that saw a value before any add of it was called.
      const firstAdd = new Map<string, number>();
      for (const op of ops) if (op.input.f === 'add') {
        const m = JSON.stringify(op.input.value);
        firstAdd.set(m, Math.min(firstAdd.get(m) ?? Infinity, op.call));
      }
      return ops.findIndex((op) => op.input.f === 'read' && returned(op) && (op.output?.value ?? []).some((v) => (op.return as number) < (firstAdd.get(JSON.stringify(v)) ?? Infinity)));
    },
    witness(read, write) {
      return read.input.f === 'read' && write.input.f === 'add' && (read.output?.value ?? []).includes(write.input.value);
    },
    validate(input, output) {
      const i = input as Partial<Record<string, unknown>> | null;
      if (typeof i !== 'object' || i === null) return 'input must be an object';
      if (i['key'] !== undefined && typeof i['key'] !== 'string') return 'input.key must be a string';
      if (i['f'] === 'add') return typeof i['value'] === 'string' || typeof i['value'] === 'number' ? null : 'input.value must be a string or a number';
      if (i['f'] !== 'read') return `input.f must be add or read, got ${JSON.stringify(i['f'])}`;
      if (output === undefined) return null;
      const v = (output as Partial<Record<string, unknown>> | null)?.['value'];
      return Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number') ? null : 'output.value must be a list of strings or numbers';
    },
  };
}
