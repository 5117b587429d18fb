/**
 * A register with read, write and compare-and-set, like etcd's and Jepsen's cas-register (Porcupine's etcd
 * model). Values are strings, numbers or null (null: never written). A cas either matched (`{ok: true}`, the
 * register now holds `to`) or did not (`{ok: false}`: a failed compare is an observation that the register did
 * not hold `from`). Operations may name a `key`: registers with different keys are independent.
 */
import { overwrittenReads } from './overwritten';
import { hashString, ILLEGAL as ILLEGAL_EXPORT, partitionBy, returned as returnedExport, type Illegal, type Model, type Operation } from '../linearizability/model';
const ILLEGAL: typeof ILLEGAL_EXPORT = ILLEGAL_EXPORT; // a local binding: an imported one is a getter call in the hot loop
const returned = returnedExport;

export type RegisterValue = string | number | null;
export type RegisterInput =
  | { readonly f: 'read'; readonly key?: string }
  | { readonly f: 'write'; readonly key?: string; readonly value: RegisterValue }
  | { readonly f: 'cas'; readonly key?: string; readonly from: RegisterValue; readonly to: RegisterValue };
/** read: `{value}`; cas: `{ok}`; write: nothing. */
export interface RegisterOutput {
  readonly value?: RegisterValue;
  readonly ok?: boolean;
}
export type RegisterOp = Operation<RegisterInput, RegisterOutput>;

const hashValue = (v: RegisterValue): number => (v === null ? 0x27d4eb2f : typeof v === 'number' ? Math.imul(v | 0, 0x85ebca6b) ^ hashString(String(v)) : hashString(`s${v}`));
const show = (v: RegisterValue | undefined) => (v === undefined ? '?' : JSON.stringify(v));

export function registerModel(): Model<RegisterValue, RegisterInput, RegisterOutput> {
  return {
    name: 'register',
    spec: { name: 'register' },
    init: () => null,
    step(state: RegisterValue, input: RegisterInput, output: RegisterOutput | undefined): RegisterValue | Illegal {
      switch (input.f) {
        case 'write':
          return input.value;
        case 'read':
          return output === undefined || (output.value ?? null) === state ? state : ILLEGAL;
        case 'cas': {
          const matches = state === input.from;
          if (output === undefined) return matches ? input.to : state;
          if (output.ok === true) return matches ? input.to : ILLEGAL;
          return matches ? ILLEGAL : state;
        }
      }
    },
    equal: (a, b) => a === b,
    hash: hashValue,
    describeOperation(input, output) {
      switch (input.f) {
        case 'read':
          return `read(${input.key ?? ''}) -> ${output === undefined ? '?' : show(output.value ?? null)}`;
        case 'write':
          return `write(${input.key === undefined ? '' : `${input.key}, `}${show(input.value)})`;
        case 'cas':
          return `cas(${input.key === undefined ? '' : `${input.key}, `}${show(input.from)}, ${show(input.to)}) -> ${output === undefined ? 'unknown' : output.ok ? 'ok' : 'fail'}`;
      }
    },
    partition: (history) => partitionBy(history, (op) => op.input.key ?? ''),
    simplify(ops) {
      // A read that never returned says nothing. A write that never returned can be left out when nothing could
      // have observed it: no returned read of its value, no cas from its value, and no failed cas at all (a
      // failed cas observes that the register held something else, which the write could explain).
      const read = new Set<RegisterValue>();
      const casFrom = new Set<RegisterValue>();
      let failedCas = false;
      for (const op of ops) {
        if (op.input.f === 'read' && returned(op)) read.add(op.output?.value ?? null);
        if (op.input.f === 'cas') {
          casFrom.add(op.input.from);
          if (returned(op) && op.output?.ok !== true) failedCas = true;
        }
      }
      return ops.filter((op) => {
        if (returned(op)) return true;
        if (op.input.f === 'read') return false;
        if (op.input.f === 'write') return failedCas || read.has(op.input.value) || casFrom.has(op.input.value);
        return true;
      });
    },
    impossible(ops) {
      // A read of a non-null value, or a successful cas from one, before any write or cas that could have put
      // that value there was called.
      const firstPut = new Map<RegisterValue, number>();
      const note = (v: RegisterValue, t: number) => firstPut.set(v, Math.min(firstPut.get(v) ?? Infinity, t));
      for (const op of ops) {
        if (op.input.f === 'write') note(op.input.value, op.call);
        if (op.input.f === 'cas') note(op.input.to, op.call);
      }
      // Values only one operation can produce, and the completed operations that set the register.
      const producers = new Map<RegisterValue, number>();
      for (const op of ops) {
        const v = op.input.f === 'write' ? op.input.value : op.input.f === 'cas' ? op.input.to : undefined;
        if (v !== undefined) producers.set(v, (producers.get(v) ?? 0) + 1);
      }
      const sets = ops.filter((op) => returned(op) && (op.input.f === 'write' || (op.input.f === 'cas' && op.output?.ok === true)));
      const overwritten = overwrittenReads(
        sets.map((op) => ({ value: op.input.f === 'write' ? op.input.value : (op.input as { to: RegisterValue }).to, call: op.call, return: op.return as number })),
        (v) => v !== null && producers.get(v) === 1,
      );
      return ops.findIndex((op) => {
        if (!returned(op)) return false;
        if (op.input.f === 'read' && overwritten(op.output?.value ?? null, op.call)) return true;
        let v: RegisterValue;
        if (op.input.f === 'read') v = op.output?.value ?? null;
        else if (op.input.f === 'cas' && op.output?.ok === true) v = op.input.from;
        else return false;
        return v !== null && (op.return as number) < (firstPut.get(v) ?? Infinity);
      });
    },
    witness(read, write) {
      const seen = read.input.f === 'read' ? (read.output?.value ?? null) : read.input.f === 'cas' ? read.input.from : undefined;
      if (seen === undefined || seen === null) return false;
      return (write.input.f === 'write' && write.input.value === seen) || (write.input.f === 'cas' && write.input.to === seen);
    },
    validate(input, output) {
      const i = input as Partial<Record<string, unknown>> | null;
      const scalar = (v: unknown) => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
      if (typeof i !== 'object' || i === null) return 'input must be an object';
      if (i['key'] !== undefined && typeof i['key'] !== 'string') return 'input.key must be a string';
      const o = (output ?? {}) as Partial<Record<string, unknown>>;
      switch (i['f']) {
        case 'read':
          return output === undefined || scalar(o['value'] ?? null) ? null : 'output.value must be a string, a number or null';
        case 'write':
          return scalar(i['value']) ? null : 'input.value must be a string, a number or null';
        case 'cas':
          if (!scalar(i['from']) || !scalar(i['to'])) return 'input.from and input.to must be strings, numbers or null';
          return output === undefined || typeof o['ok'] === 'boolean' ? null : 'output.ok must be true or false for a cas';
        default:
          return `input.f must be read, write or cas, got ${JSON.stringify(i['f'])}`;
      }
    },
  };
}
