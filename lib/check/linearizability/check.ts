/**
 * Checking a whole history against a model: split it into independent parts (the model's `partition`; the
 * history is linearizable iff every part is), decide each part within its own step budget, stop at the first
 * illegal part, and explain it: the longest linearizable order found, the operation that cannot be placed after
 * it, and a small failing subset (delta debugging over the part's operations).
 *
 * The verdict is 'ok', 'illegal', or 'unknown' only when no part is illegal and some part ran out of its budget
 * (those keys are named). `checkHistory` runs in this thread; `checkHistoryParallel` (parallel.ts) spreads the
 * parts over worker threads.
 */
import { returned, type Model, type Operation, type Part } from './model';
import { decideParts, PartCheck, type DecidedBy, type PartOutcome } from './part';

export interface CheckHistoryOptions {
  /** Search steps allowed per part (key); past it the part is 'unknown' (default 2,000,000). */
  readonly maxSteps?: number;
  /** Steps a part runs before the next part gets its turn (default 20,000). */
  readonly slice?: number;
  /** Explain an illegal part: its longest order and a failing subset (default true). */
  readonly explain?: boolean;
  /** Steps the explanation may use in all (default 2,000,000); past it the subset is smaller but maybe not minimal. */
  readonly explainSteps?: number;
}

/** An operation of the failing part, ready to print or draw. */
export interface OperationView {
  /** Index into the history. */
  readonly index: number;
  readonly client: string | number;
  readonly call: number;
  /** null: never returned. */
  readonly return: number | null;
  readonly description: string;
}

export interface LinearizabilityFailure {
  readonly key: string;
  /** The longest order of operations found that the model accepts (history indices, in that order). */
  readonly longestPrefix: readonly number[];
  /** An operation that cannot take effect after that order, before it returns (history index). */
  readonly stuckAt: number | null;
  /** A failing subset of the part's operations (history indices), or null when not shrunk. */
  readonly minimal: readonly number[] | null;
  /**
   * True when removing any single operation of `minimal` makes it linearizable (1-minimal), except the writes
   * whose values its reads saw (the model's `witness`), which are kept to say where each value came from.
   */
  readonly minimalIsOneMinimal: boolean;
  readonly decidedBy: DecidedBy;
  /** Every operation of the failing part, in call order. */
  readonly operations: readonly OperationView[];
  readonly explanation: string;
}

interface Totals {
  readonly model: string;
  readonly keys: number;
  readonly operations: number;
  /** Search steps over all parts. */
  readonly steps: number;
  readonly parts: readonly PartOutcome[];
}

export type LinearizabilityResult =
  | ({ readonly result: 'ok' } & Totals)
  | ({ readonly result: 'illegal'; readonly failure: LinearizabilityFailure } & Totals)
  | ({ readonly result: 'unknown'; readonly unknownKeys: readonly string[]; readonly reason: string } & Totals);

/** Throws on a malformed operation, naming its index and field. */
export function validateHistory(history: readonly Operation[], model: Model<any, any, any>): void {
  history.forEach((op, i) => {
    const where = `history[${i}]`;
    if (typeof op !== 'object' || op === null) throw new TypeError(`${where} must be an object`);
    if (typeof op.client !== 'string' && typeof op.client !== 'number') throw new TypeError(`${where}.client must be a string or a number`);
    if (!Number.isFinite(op.call)) throw new TypeError(`${where}.call must be a finite number, got ${String(op.call)}`);
    const r = op.return;
    if (r !== undefined && r !== null && (!Number.isFinite(r) || r < op.call)) {
      throw new RangeError(`${where}.return (${String(r)}) must be a finite number not before its call (${op.call})`);
    }
    const problem = model.validate?.(op.input, returned(op) ? op.output : undefined);
    if (problem) throw new TypeError(`${where}.${problem} (model ${model.name})`);
  });
}

export function partsOf<I, O>(history: readonly Operation<I, O>[], model: Model<any, I, O>): Part[] {
  return model.partition ? model.partition(history) : [{ key: '', indices: history.map((_, i) => i) }];
}

export const DEFAULTS = { maxSteps: 2_000_000, slice: 20_000, explainSteps: 2_000_000 } as const;

export function checkHistory<S, I, O>(history: readonly Operation<I, O>[], model: Model<S, I, O>, options: CheckHistoryOptions = {}): LinearizabilityResult {
  validateHistory(history, model);
  return checkValidHistory(history, model, options);
}

/** `checkHistory` for a history its caller has validated already (the KvOperation API does its own). */
export function checkValidHistory<S, I, O>(history: readonly Operation<I, O>[], model: Model<S, I, O>, options: CheckHistoryOptions = {}): LinearizabilityResult {
  const maxSteps = options.maxSteps ?? DEFAULTS.maxSteps;
  const parts = partsOf(history, model).map((p) => new PartCheck(model, p.key, history, p.indices, maxSteps));
  const outcomes = decideParts(parts, options.slice ?? DEFAULTS.slice);
  return conclude(history, model, parts.length, outcomes, options);
}

/** Builds the result from the decided parts (shared with the parallel checker). */
export function conclude<S, I, O>(
  history: readonly Operation<I, O>[],
  model: Model<S, I, O>,
  keys: number,
  outcomes: readonly PartOutcome[],
  options: CheckHistoryOptions,
): LinearizabilityResult {
  const steps = outcomes.reduce((sum, o) => sum + o.steps, 0);
  const totals: Totals = { model: model.name, keys, operations: history.length, steps, parts: outcomes };
  const illegal = outcomes.find((o) => o.status === 'illegal');
  if (illegal) return { result: 'illegal', ...totals, failure: explainFailure(history, model, illegal, options) };
  const unknown = outcomes.filter((o) => o.status === 'unknown').map((o) => o.key);
  if (unknown.length > 0) {
    const budget = options.maxSteps ?? DEFAULTS.maxSteps;
    const names = unknown.map((k) => JSON.stringify(k)).join(', ');
    return { result: 'unknown', ...totals, unknownKeys: unknown, reason: `no key is illegal, but the search of ${unknown.length === 1 ? 'key' : 'keys'} ${names} exceeded ${budget} steps` };
  }
  return { result: 'ok', ...totals };
}

function explainFailure<S, I, O>(history: readonly Operation<I, O>[], model: Model<S, I, O>, outcome: PartOutcome, options: CheckHistoryOptions): LinearizabilityFailure {
  const part = partsOf(history, model).find((p) => p.key === outcome.key)!;
  const describe = (i: number): string => {
    const op = history[i]!;
    return model.describeOperation(op.input, returned(op) ? op.output : undefined);
  };
  const operations: OperationView[] = [...part.indices]
    .sort((a, b) => history[a]!.call - history[b]!.call || a - b)
    .map((i) => ({ index: i, client: history[i]!.client, call: history[i]!.call, return: returned(history[i]!) ? (history[i]!.return as number) : null, description: describe(i) }));
  let longestPrefix = outcome.longestPrefix;
  let stuckAt = outcome.stuckAt;
  let minimal: number[] | null = null;
  let oneMinimal = false;
  if (options.explain !== false) {
    const budget = { left: options.explainSteps ?? DEFAULTS.explainSteps };
    if (outcome.decidedBy === 'impossible') {
      // Decided without a search: search now, for the longest order to draw.
      const p = new PartCheck(model, outcome.key, history, part.indices, budget.left, false);
      while (p.advance(budget.left) === 'running');
      budget.left -= p.steps;
      if (p.status === 'illegal') {
        longestPrefix = p.longestPrefix;
        stuckAt = p.stuckAt ?? stuckAt;
      }
    }
    const shrunk = shrink(history, model, outcome.key, part.indices, budget);
    minimal = shrunk.subset;
    oneMinimal = shrunk.oneMinimal;
  }
  const client = (i: number) => `client ${history[i]!.client}`;
  const when = (i: number) => {
    const op = history[i]!;
    return `called ${fmt(op.call)}, ${returned(op) ? `returned ${fmt(op.return as number)}` : 'no return (unknown outcome)'}`;
  };
  const line = (i: number) => `#${i} ${client(i)}: ${describe(i)}, ${when(i)}`;
  const lines = [`key ${JSON.stringify(outcome.key)} is not linearizable (model ${model.name}; decided by ${DECIDED[outcome.decidedBy]}).`];
  if (minimal) {
    lines.push(`These ${minimal.length} operations alone cannot be put in any order consistent with their times${oneMinimal ? '' : ' (a reduced subset; the explanation budget ran out before it was minimal)'}:`);
    for (const i of minimal) lines.push(`  ${line(i)}`);
  }
  lines.push(`The longest linearizable order found has ${longestPrefix.length} operations${longestPrefix.length > 0 ? `, ending with ${line(longestPrefix[longestPrefix.length - 1]!)}` : ''}.`);
  if (stuckAt !== null) lines.push(`After it, ${line(stuckAt)} cannot take effect before it returns.`);
  return { key: outcome.key, longestPrefix, stuckAt, minimal, minimalIsOneMinimal: oneMinimal, decidedBy: outcome.decidedBy, operations, explanation: lines.join('\n') };
}

const DECIDED: Record<DecidedBy, string> = {
  empty: 'no returned operation',
  impossible: 'a linear pass: an operation no order can explain',
  sequential: 'a linear pass: no two operations overlap, so there is one order only',
  search: 'the search',
};

function fmt(t: number): string {
  return Number.isInteger(t) ? `${t}` : t.toFixed(3);
}

/**
 * Delta debugging (ddmin-like): remove chunks of operations, halving the chunk size down to one, keeping a
 * removal whenever the rest is still illegal. Each trial is one bounded check; a trial that cannot be decided
 * keeps the operations. Returns the history indices left, and whether the last pass (chunks of one) completed
 * without hitting the budget (then the subset is 1-minimal).
 */
function shrink<S, I, O>(
  history: readonly Operation<I, O>[],
  model: Model<S, I, O>,
  key: string,
  indices: readonly number[],
  budget: { left: number },
): { subset: number[]; oneMinimal: boolean } {
  const isIllegal = (subset: readonly number[]): boolean | null => {
    if (budget.left <= 0) return null;
    const p = new PartCheck(model, key, history, subset, budget.left);
    while (p.advance(budget.left) === 'running');
    budget.left -= p.steps;
    return p.status === 'illegal' ? true : p.status === 'ok' ? false : null;
  };
  let keep = [...indices].sort((a, b) => history[a]!.call - history[b]!.call || a - b);
  // The part was simplified before its search: start from what the search saw.
  const simplified = new PartCheck(model, key, history, keep, 0).indices;
  if (isIllegal(simplified) === true) keep = simplified;
  let chunk = Math.max(1, Math.floor(keep.length / 2));
  let exhausted = false;
  for (;;) {
    for (let start = keep.length - chunk; start > -chunk && !exhausted; start -= chunk) {
      const from = Math.max(0, start);
      const rest = [...keep.slice(0, from), ...keep.slice(start + chunk)];
      // Writes a remaining read saw stay, so the subset shows where each value came from.
      const witnesses = model.witness ? keep.slice(from, start + chunk).filter((w) => rest.some((r) => model.witness!(history[r]!, history[w]!))) : [];
      if (witnesses.length === chunk || rest.length === 0) continue;
      const candidate = witnesses.length === 0 ? rest : [...rest, ...witnesses].sort((a, b) => history[a]!.call - history[b]!.call || a - b);
      const verdict = isIllegal(candidate);
      if (verdict === null && budget.left <= 0) exhausted = true;
      if (verdict === true) keep = candidate;
    }
    if (chunk === 1 || exhausted) break;
    chunk = Math.max(1, Math.floor(chunk / 2));
  }
  return { subset: keep, oneMinimal: !exhausted && chunk === 1 };
}
