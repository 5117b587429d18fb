/**
 * A Raft Scope run as plain data: the cluster's settings plus the list of actions taken, each at an exact
 * point of the run. The same spec always replays to the same state; it round-trips through the page's URL hash.
 */

export const minNodes = 3;
export const maxNodes = 7;

/** Where in the run an action happened: after `after` trace events, at virtual time `at` (ms). */
export interface ActionPoint {
  readonly after: number;
  readonly at: number;
}

export type ActionBody =
  | { readonly op: 'crash'; readonly node: number }
  | { readonly op: 'restart'; readonly node: number }
  /** Start an election now (RaftScope's "timeout"). */
  | { readonly op: 'timeout'; readonly node: number }
  /** A client request to the leader (or to `node`); the command is {x: how many requests came before + 1} unless given. */
  | { readonly op: 'request'; readonly node?: number; readonly command?: Record<string, unknown> | null }
  /** Cut the link between two nodes, both directions. */
  | { readonly op: 'cut'; readonly a: number; readonly b: number }
  /** Split the cluster: every link between different groups is cut. */
  | { readonly op: 'split'; readonly groups: readonly (readonly number[])[] }
  | { readonly op: 'heal' }
  /** Exactly these one-way links are cut from now on (a notebook's partition, replayed). */
  | { readonly op: 'links'; readonly cut: readonly (readonly [number, number])[] }
  | { readonly op: 'drop'; readonly message: number }
  | { readonly op: 'delay'; readonly message: number; readonly ms: number }
  /** The network from now on: loss probability and uniform latency min-max (ms). */
  | { readonly op: 'net'; readonly loss: number; readonly min: number; readonly max: number };

export type ScopeAction = ActionPoint & ActionBody;

/** A replaced Figure 2 rule, carried as its source text (a notebook's own rule). */
export interface RuleSource {
  readonly name: string;
  readonly source: string;
}

export interface ScopeSpec {
  readonly seed: number;
  readonly nodes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** A bug-zoo variant by name (lib/fuzz/zoo.ts), or null for the reference Raft. */
  readonly zoo: string | null;
  /** The network at the start; 'net' actions change it. */
  readonly loss: number;
  readonly latency: readonly [number, number];
  readonly electionTimeout: readonly [number, number];
  readonly heartbeat: number;
  /** Random client requests and faults drawn from the seed (crashes, restarts, isolations, heals). */
  readonly chaos: boolean;
  readonly rules: readonly RuleSource[];
  readonly actions: readonly ScopeAction[];
}

export const defaultSpec: ScopeSpec = Object.freeze({
  seed: 1,
  nodes: 5,
  preVote: false,
  checkQuorum: false,
  zoo: null,
  loss: 0,
  latency: [8, 14] as const,
  electionTimeout: [150, 300] as const,
  heartbeat: 50,
  chaos: false,
  rules: [],
  actions: [],
});

export class SpecError extends Error {
  constructor(field: string, detail: string) {
    super(`bad Raft Scope link: ${field}: ${detail}`);
    this.name = 'SpecError';
  }
}

// ---- The URL hash: seed=7&n=5&pv=1&cq=0&zoo=vote-twice&loss=0&lat=8-14&a=<actions> ----

function encodeBody(a: ActionBody): string {
  switch (a.op) {
    case 'crash': return `c${a.node}`;
    case 'restart': return `r${a.node}`;
    case 'timeout': return `t${a.node}`;
    case 'request': return `q${a.node ?? ''}${a.command !== undefined ? `~${toBase64Url(JSON.stringify(a.command))}` : ''}`;
    case 'cut': return `k${a.a}-${a.b}`;
    case 'split': return `s${a.groups.map((g) => g.join('.')).join('|')}`;
    case 'heal': return 'h';
    case 'links': return `l${a.cut.map(([x, y]) => `${x}>${y}`).join('.')}`;
    case 'drop': return `d${a.message}`;
    case 'delay': return `w${a.message}+${a.ms}`;
    case 'net': return `n${a.loss}/${a.min}-${a.max}`;
  }
}

export function encodeAction(a: ScopeAction): string {
  return `${a.after}@${a.at}:${encodeBody(a)}`;
}

function int(text: string | undefined, field: string): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isInteger(n) || n < 0) throw new SpecError(field, `expected a whole number, got ${JSON.stringify(text)}`);
  return n;
}

function num(text: string | undefined, field: string): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(n) || n < 0) throw new SpecError(field, `expected a number >= 0, got ${JSON.stringify(text)}`);
  return n;
}

export function decodeAction(text: string, position = 0): ScopeAction {
  const field = `action ${position + 1} (${JSON.stringify(text)})`;
  const m = /^(\d+)@([0-9.e+-]+):([a-z])(.*)$/.exec(text);
  if (!m) throw new SpecError(field, 'expected AFTER@TIME:OP');
  const point = { after: int(m[1], field), at: num(m[2], field) };
  const rest = m[4]!;
  switch (m[3]) {
    case 'c': return { ...point, op: 'crash', node: int(rest, field) };
    case 'r': return { ...point, op: 'restart', node: int(rest, field) };
    case 't': return { ...point, op: 'timeout', node: int(rest, field) };
    case 'q': {
      const [node, command] = rest.split('~');
      let parsed: Record<string, unknown> | null | undefined;
      if (command !== undefined) {
        try {
          parsed = JSON.parse(fromBase64Url(command)) as Record<string, unknown> | null;
        } catch {
          throw new SpecError(field, 'the command is not base64url-encoded JSON');
        }
      }
      return {
        ...point,
        op: 'request',
        ...(node ? { node: int(node, field) } : {}),
        ...(parsed !== undefined ? { command: parsed } : {}),
      };
    }
    case 'k': {
      const [a, b] = rest.split('-');
      return { ...point, op: 'cut', a: int(a, field), b: int(b, field) };
    }
    case 's': return { ...point, op: 'split', groups: rest.split('|').map((g) => g.split('.').map((x) => int(x, field))) };
    case 'h': return { ...point, op: 'heal' };
    case 'l':
      return {
        ...point,
        op: 'links',
        cut: rest === '' ? [] : rest.split('.').map((pair) => {
          const [x, y] = pair.split('>');
          return [int(x, field), int(y, field)] as const;
        }),
      };
    case 'd': return { ...point, op: 'drop', message: int(rest, field) };
    case 'w': {
      const [id, ms] = rest.split('+');
      return { ...point, op: 'delay', message: int(id, field), ms: num(ms, field) };
    }
    case 'n': {
      const mm = /^([0-9.e-]+)\/([0-9.e-]+)-([0-9.e-]+)$/.exec(rest);
      if (!mm) throw new SpecError(field, 'expected nLOSS/MIN-MAX');
      return { ...point, op: 'net', loss: num(mm[1], field), min: num(mm[2], field), max: num(mm[3], field) };
    }
    default:
      throw new SpecError(field, `unknown action ${JSON.stringify(m[3])}`);
  }
}

function pair(text: string, field: string): [number, number] {
  const [a, b] = text.split('-');
  const x = num(a, field);
  const y = num(b, field);
  if (y < x) throw new SpecError(field, `min must be <= max, got ${text}`);
  return [x, y];
}

/** The spec as a URL hash (without the '#'). Rules travel base64url-encoded. */
export function encodeSpec(spec: ScopeSpec): string {
  const parts = [
    `seed=${spec.seed}`,
    `n=${spec.nodes}`,
    `pv=${spec.preVote ? 1 : 0}`,
    `cq=${spec.checkQuorum ? 1 : 0}`,
  ];
  if (spec.zoo) parts.push(`zoo=${encodeURIComponent(spec.zoo)}`);
  if (spec.chaos) parts.push('chaos=1');
  parts.push(`loss=${spec.loss}`, `lat=${spec.latency[0]}-${spec.latency[1]}`);
  if (spec.electionTimeout[0] !== defaultSpec.electionTimeout[0] || spec.electionTimeout[1] !== defaultSpec.electionTimeout[1]) {
    parts.push(`et=${spec.electionTimeout[0]}-${spec.electionTimeout[1]}`);
  }
  if (spec.heartbeat !== defaultSpec.heartbeat) parts.push(`hb=${spec.heartbeat}`);
  for (const r of spec.rules) parts.push(`rule.${encodeURIComponent(r.name)}=${toBase64Url(r.source)}`);
  if (spec.actions.length > 0) parts.push(`a=${spec.actions.map(encodeAction).join(',')}`);
  return parts.join('&');
}

/** A link: the spec plus the virtual time being looked at. */
export function encodeLink(spec: ScopeSpec, time: number): string {
  return `${encodeSpec(spec)}&t=${Math.round(time * 1000) / 1000}`;
}

export function decodeLink(hash: string): { spec: ScopeSpec; time: number } {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const parts = text.split('&');
  const t = parts.find((p) => p.startsWith('t='));
  const time = t === undefined ? 0 : num(t.slice(2), 't (time)');
  return { spec: decodeSpec(parts.filter((p) => !p.startsWith('t=')).join('&')), time };
}

export function decodeSpec(hash: string): ScopeSpec {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  let spec: { -readonly [K in keyof ScopeSpec]: ScopeSpec[K] } = { ...defaultSpec };
  const rules: RuleSource[] = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    switch (key) {
      case 'seed': spec.seed = int(value, 'seed'); break;
      case 'n': {
        const n = int(value, 'n (nodes)');
        if (n < minNodes || n > maxNodes) throw new SpecError('n (nodes)', `expected ${minNodes} to ${maxNodes}, got ${n}`);
        spec.nodes = n;
        break;
      }
      case 'pv': spec.preVote = value === '1'; break;
      case 'cq': spec.checkQuorum = value === '1'; break;
      case 'zoo': spec.zoo = decodeURIComponent(value) || null; break;
      case 'chaos': spec.chaos = value === '1'; break;
      case 'loss': {
        const loss = num(value, 'loss');
        if (loss > 1) throw new SpecError('loss', `expected a probability in [0, 1], got ${loss}`);
        spec.loss = loss;
        break;
      }
      case 'lat': spec.latency = pair(value, 'lat (latency)'); break;
      case 'et': spec.electionTimeout = pair(value, 'et (election timeout)'); break;
      case 'hb': spec.heartbeat = num(value, 'hb (heartbeat)'); break;
      case 'a': spec.actions = value === '' ? [] : value.split(',').map((a, i) => decodeAction(decodeURIComponent(a), i)); break;
      default:
        if (key.startsWith('rule.')) rules.push({ name: decodeURIComponent(key.slice(5)), source: fromBase64Url(value) });
        else throw new SpecError(key, 'unknown field');
    }
  }
  if (rules.length > 0) spec = { ...spec, rules };
  for (const a of spec.actions) checkNodes(a, spec.nodes);
  return spec;
}

function checkNodes(a: ScopeAction, nodes: number): void {
  const used: number[] = [];
  switch (a.op) {
    case 'crash': case 'restart': case 'timeout': used.push(a.node); break;
    case 'request': if (a.node !== undefined) used.push(a.node); break;
    case 'cut': used.push(a.a, a.b); break;
    case 'split': for (const g of a.groups) used.push(...g); break;
    case 'links': for (const [x, y] of a.cut) used.push(x, y); break;
    default: break;
  }
  const bad = used.find((n) => n >= nodes);
  if (bad !== undefined) throw new SpecError(`action ${encodeAction(a)}`, `no node ${bad} in a ${nodes}-node cluster`);
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
