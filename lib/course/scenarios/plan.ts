/**
 * A scenario as plain data (JSON-printable): a cluster, a list of timed faults (what the shrinker removes), and
 * timed client operations and checks (what the scenario asserts). Servers are numbered 0..n-1 (n0 =
 * 127.0.0.1:8000), as in 6.5840's config.go.
 *
 * Every check is conditioned on the faults in force when it runs ("no leader" only when no majority is
 * connected, "a leader" only when one is): any subset of a scenario's faults is again a fair scenario, which a
 * correct Raft passes. That is what lets the shrinker cut a failing run down to the faults that matter.
 */

/** Which server: a number; the leader now (+ offset); a server bound earlier by `as` (+ offset); or the first
 * of a list that is none of the servers bound to the names in `except`. */
export type NodeRef =
  | number
  | { readonly leader: number }
  | { readonly ref: string; readonly plus?: number }
  | { readonly first: readonly NodeRef[]; readonly except: readonly string[] };

export type NetworkPreset = 'reliable' | 'unreliable' | 'long-reordering';

/** A fault as a scenario writes it (servers may be named relative to the leader). */
export type PlannedFault =
  | { readonly at: number; readonly kind: 'disconnect' | 'connect' | 'crash'; readonly node: NodeRef; readonly as?: string }
  /** Restart a crashed server from what it persisted; with `ifUpBelow`, only while fewer than that many are up. */
  | { readonly at: number; readonly kind: 'restart'; readonly node: NodeRef; readonly ifUpBelow?: number }
  /** From `at` on, the network loses, duplicates and reorders messages (6.5840's unreliable net), for `forMs`. */
  | { readonly at: number; readonly kind: 'network'; readonly preset: NetworkPreset; readonly forMs?: number };

/** A fault as it happened: the servers resolved to numbers. What a failure report prints and a replay takes. */
export type Fault =
  | { readonly at: number; readonly kind: 'disconnect' | 'connect' | 'crash' | 'restart'; readonly node: number }
  | { readonly at: number; readonly kind: 'network'; readonly preset: NetworkPreset; readonly forMs?: number };

/** What the scenario's clients do and what it checks. Never removed by the shrinker. */
export type Step =
  /** Wait (up to `within` ms) for a leader among the connected live servers; bind it to `as`. Asserted only while a majority is up. */
  | { readonly at: number; readonly kind: 'leader'; readonly as?: string; readonly within?: number; readonly unique?: boolean }
  /** With no majority connected and up, no connected server may believe it leads. */
  | { readonly at: number; readonly kind: 'no-leader' }
  /** Every connected live server is in the same term; bind it (`as`) or compare it with a bound term (`same`). */
  | { readonly at: number; readonly kind: 'terms'; readonly as?: string; readonly same?: string }
  /**
   * 6.5840's one(): a client hands `value` to whichever connected server leads, until it is applied by `servers`
   * servers (default: every connected live one); gives up after 10 s.
   */
  | { readonly at: number; readonly kind: 'one'; readonly value: number; readonly servers?: number; readonly retry?: boolean; readonly index?: number; readonly chain?: number }
  /** rf.Start(value) on one server (or on every live one); `leader` asserts it accepted, `index` where. */
  | { readonly at: number; readonly kind: 'start'; readonly node: NodeRef | 'all'; readonly value: number; readonly leader?: boolean; readonly index?: readonly number[]; readonly as?: string }
  /** The value started under `of` is not applied anywhere, if its leader has been cut off from a majority since. */
  | { readonly at: number; readonly kind: 'not-committed'; readonly of: string }
  /** config.go wait(): `index` applied by every connected live server within `within` ms. */
  | { readonly at: number; readonly kind: 'applied'; readonly index: number; readonly within?: number }
  /** Bind a name to a server. */
  | { readonly at: number; readonly kind: 'name'; readonly as: string; readonly node: NodeRef }
  /** Lift every fault: reliable network, every server restarted and connected. */
  | { readonly at: number; readonly kind: 'recover' };

export interface ScenarioPlan {
  readonly servers: number;
  readonly faults: readonly PlannedFault[];
  readonly steps: readonly Step[];
  /** The scenario ends here, or when its last client gives up, whichever is later. */
  readonly durationMs: number;
  /** Most entries per AppendEntries (default: the core's, 64). */
  readonly maxEntriesPerAppend?: number;
}

/** One line per fault: "  1500.000 ms  disconnect n1". */
export function describeFault(f: Fault): string {
  const what =
    f.kind === 'network'
      ? `network ${f.preset}${f.forMs === undefined ? '' : ` for ${f.forMs} ms`}`
      : `${f.kind} n${f.node}`;
  return `${f.at.toFixed(3).padStart(10)} ms  ${what}`;
}

/** The faults as a TypeScript literal, for the replay line. */
export function faultsLiteral(faults: readonly Fault[]): string {
  const one = (f: Fault): string =>
    f.kind === 'network'
      ? `{ at: ${f.at}, kind: 'network', preset: '${f.preset}'${f.forMs === undefined ? '' : `, forMs: ${f.forMs}`} }`
      : `{ at: ${f.at}, kind: '${f.kind}', node: ${f.node} }`;
  return `[${faults.map(one).join(', ')}]`;
}

/** Validate faults given to a replay (they may come from a pasted line): errors name the fault and field. */
export function validateFaults(faults: unknown, servers: number): Fault[] {
  if (!Array.isArray(faults)) throw new TypeError('faults must be an array of { at, kind, ... }');
  return faults.map((f: unknown, i): Fault => {
    const where = `faults[${i}]`;
    if (typeof f !== 'object' || f === null) throw new TypeError(`${where} must be an object`);
    const o = f as Record<string, unknown>;
    if (typeof o['at'] !== 'number' || !(o['at'] >= 0)) throw new TypeError(`${where}.at must be a time in virtual ms (>= 0)`);
    const at = o['at'];
    const kind = o['kind'];
    if (kind === 'network') {
      const preset = o['preset'];
      if (preset !== 'reliable' && preset !== 'unreliable' && preset !== 'long-reordering') {
        throw new TypeError(`${where}.preset must be 'reliable', 'unreliable' or 'long-reordering'`);
      }
      const forMs = o['forMs'];
      if (forMs !== undefined && !(typeof forMs === 'number' && forMs > 0)) throw new TypeError(`${where}.forMs must be a positive number`);
      return forMs === undefined ? { at, kind, preset } : { at, kind, preset, forMs };
    }
    if (kind !== 'disconnect' && kind !== 'connect' && kind !== 'crash' && kind !== 'restart') {
      throw new TypeError(`${where}.kind must be one of disconnect, connect, crash, restart, network (got ${JSON.stringify(kind)})`);
    }
    const node = o['node'];
    if (!(typeof node === 'number' && Number.isInteger(node) && node >= 0 && node < servers)) {
      throw new TypeError(`${where}.node must be a server number 0..${servers - 1}`);
    }
    return { at, kind, node };
  });
}
