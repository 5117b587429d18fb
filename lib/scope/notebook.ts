/**
 * Raft Scope in a notebook: `await scope({ seed: 7, nodes: 5 })` shows the explorer as the cell's output;
 * `await scope(cluster)` opens a run the notebook made (its seed, options and actions, replayed in the page).
 */
import { figure2Rules, type RaftRules } from '../raft/rules';
import { Cluster, labNodeIds } from '../sim/cluster';
import { reliableNetwork } from '../sim/network';
import { zooVariants } from '../fuzz/zoo';
import { scopeBundle } from './build';
import { replayTo } from './driver';
import { scopeDocument, scopeIframe } from './html';
import { defaultSpec, encodeLink, maxNodes, minNodes, type RuleSource, type ScopeAction, type ScopeSpec } from './spec';

export interface ScopeOptions {
  readonly seed?: number;
  readonly nodes?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** A bug-zoo variant by name (see zooVariants). */
  readonly zoo?: string | null;
  readonly loss?: number;
  readonly latency?: readonly [number, number];
  readonly electionTimeout?: readonly [number, number];
  readonly heartbeat?: number;
  readonly chaos?: boolean;
  /** Replaced Figure 2 rules: each must be self-contained (it travels to the page as its source text). */
  readonly rules?: Partial<RaftRules>;
  readonly actions?: readonly ScopeAction[];
  /** Virtual ms to open the run at. Default 0 (or, for a cluster, its current time). */
  readonly time?: number;
  readonly autoplay?: boolean;
  /** Virtual ms per wall ms. Default 0.1. */
  readonly speed?: number;
  /** Height of the output frame in pixels. Default 980. */
  readonly height?: number;
}

export class ScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScopeError';
  }
}

function ruleSources(rules: Partial<RaftRules> | undefined): RuleSource[] {
  const out: RuleSource[] = [];
  for (const [name, fn] of Object.entries(rules ?? {})) {
    if (typeof fn !== 'function') continue;
    if (!(name in figure2Rules)) throw new ScopeError(`scope: unknown rule ${JSON.stringify(name)} (Figure 2's rules: ${Object.keys(figure2Rules).join(', ')})`);
    if (fn === (figure2Rules as Record<string, unknown>)[name]) continue;
    const source = Function.prototype.toString.call(fn);
    if (source.includes('[native code]')) throw new ScopeError(`scope: rule ${name} has no source text to send to the page`);
    out.push({ name, source });
  }
  return out;
}

/** The zoo variant whose rules and bugs these are, if any (the page then loads it by name). */
function zooFor(rules: Partial<RaftRules> | undefined, bugs: object | undefined): string | null {
  for (const z of zooVariants) {
    const sameRules = Object.entries(z.rules ?? {}).every(([k, f]) => (rules as Record<string, unknown> | undefined)?.[k] === f);
    const sameBugs = JSON.stringify(z.bugs ?? {}) === JSON.stringify(bugs ?? {});
    if (sameRules && sameBugs && (z.rules || z.bugs)) return z.name;
  }
  return null;
}

export function specFromOptions(options: ScopeOptions = {}): ScopeSpec {
  const nodes = options.nodes ?? defaultSpec.nodes;
  if (!Number.isInteger(nodes) || nodes < minNodes || nodes > maxNodes) throw new ScopeError(`scope: nodes must be ${minNodes} to ${maxNodes}, got ${nodes}`);
  if (options.zoo && !zooVariants.some((z) => z.name === options.zoo)) {
    throw new ScopeError(`scope: no bug-zoo variant ${JSON.stringify(options.zoo)} (known: ${zooVariants.map((z) => z.name).join(', ')})`);
  }
  return {
    ...defaultSpec,
    seed: options.seed ?? defaultSpec.seed,
    nodes,
    preVote: options.preVote ?? false,
    checkQuorum: options.checkQuorum ?? false,
    zoo: options.zoo ?? null,
    loss: options.loss ?? 0,
    latency: options.latency ?? defaultSpec.latency,
    electionTimeout: options.electionTimeout ?? defaultSpec.electionTimeout,
    heartbeat: options.heartbeat ?? defaultSpec.heartbeat,
    chaos: options.chaos ?? false,
    rules: ruleSources(options.rules),
    actions: options.actions ?? [],
  };
}

/**
 * The spec that replays `cluster`'s run so far: its seed and options, and the crashes, restarts, partitions,
 * heals and client requests its trace recorded. What a trace does not record cannot be carried (campaign(),
 * setNetwork(), at()/after() callbacks, duplicate/reorder networks): those runs are refused with a reason.
 */
export function specFromCluster(cluster: Cluster): ScopeSpec {
  const config = cluster.config;
  const n = cluster.ids.length;
  const refuse = (why: string): never => {
    throw new ScopeError(`scope(cluster): this run cannot be replayed in the page: ${why}`);
  };
  if (n < minNodes || n > maxNodes) refuse(`it has ${n} nodes (the explorer shows ${minNodes} to ${maxNodes})`);
  if (cluster.ids.join() !== labNodeIds(n).join()) refuse('its nodes are not the lab\'s 127.0.0.1:8000, :8001, ...');
  if (cluster.trace.level !== 'all') refuse(`its trace level is '${cluster.trace.level}' (make it with trace: 'all')`);
  if (config.leaderNoop || config.maxEntriesPerAppend || config.initialState) refuse('it uses leaderNoop, maxEntriesPerAppend or initialState');
  const net = { ...reliableNetwork, ...config.network };
  if (net.duplicate || net.reorder || net.longDelay.probability || net.latencyByType) refuse('its network duplicates, reorders or delays by message type');
  let latency: [number, number];
  if (net.latency.kind === 'uniform') latency = [net.latency.min, net.latency.max];
  else if (net.latency.kind === 'fixed') latency = [net.latency.ms, net.latency.ms];
  else return refuse(`its latency is '${net.latency.kind}' (the explorer draws uniform latencies)`);
  const zoo = zooFor(config.rules, config.bugs);
  if (!zoo && config.bugs && Object.keys(config.bugs).length > 0) refuse('it switches on core bugs that are not one bug-zoo variant');
  const index = (id: string): number => cluster.ids.indexOf(id);
  const actions: ScopeAction[] = [];
  for (const e of cluster.trace.events) {
    const point = { after: e.seq, at: e.t };
    switch (e.kind) {
      case 'crash': actions.push({ ...point, op: 'crash', node: index(e.node) }); break;
      case 'restart': actions.push({ ...point, op: 'restart', node: index(e.node) }); break;
      case 'partition':
      case 'heal': {
        const cut = e.cut.map((s) => s.split(' -> ').map(index) as [number, number]);
        actions.push({ ...point, op: 'links', cut });
        break;
      }
      case 'propose': actions.push({ ...point, op: 'request', node: index(e.node), command: e.command }); break;
      default: break;
    }
  }
  const t = config.timings;
  return {
    ...defaultSpec,
    seed: cluster.seed,
    nodes: n,
    preVote: config.preVote ?? false,
    checkQuorum: config.checkQuorum ?? false,
    zoo,
    loss: net.loss,
    latency,
    electionTimeout: [t?.electionTimeout?.min ?? 150, t?.electionTimeout?.max ?? 300],
    heartbeat: t?.heartbeatInterval ?? 50,
    chaos: false,
    rules: zoo ? [] : ruleSources(config.rules),
    actions,
  };
}

/** Check that the page will see what the notebook saw: replay the spec and compare every node. */
function checkReplay(spec: ScopeSpec, cluster: Cluster): void {
  const run = replayTo(spec, cluster.now);
  const a = JSON.stringify(run.cluster.statuses());
  const b = JSON.stringify(cluster.statuses());
  if (a !== b || run.cluster.trace.count !== cluster.trace.count) {
    throw new ScopeError(
      'scope(cluster): replaying this run from its seed and trace does not give the same cluster (it used something ' +
        'the trace does not record: campaign(), setNetwork(), at()/after() callbacks, or a rule that depends on the ' +
        'notebook). Open it with scope({ seed, ... }) and redo the actions in the page instead.',
    );
  }
}

/** The explorer as a self-contained HTML fragment (an iframe with the bundled script inlined). */
export async function scopeHtml(input: ScopeOptions | Cluster = {}, view: ScopeOptions = {}): Promise<string> {
  const options: ScopeOptions = input instanceof Cluster ? view : { ...input, ...view };
  let spec: ScopeSpec;
  let time = options.time ?? 0;
  if (input instanceof Cluster) {
    spec = specFromCluster(input);
    checkReplay(spec, input);
    time = input.now;
  } else {
    spec = specFromOptions(options);
  }
  const script = await scopeBundle();
  const document = scopeDocument(script, {
    link: encodeLink(spec, time),
    useHash: false,
    autoplay: options.autoplay ?? false,
    speed: options.speed ?? 0.1,
  });
  return scopeIframe(document, options.height ?? 980);
}

interface TslabDisplay {
  html(s: string): void;
}

/** Show the explorer as this cell's output (inside the Raft Lab kernel); elsewhere returns the HTML. */
export async function scope(input: ScopeOptions | Cluster = {}, view: ScopeOptions = {}): Promise<string | undefined> {
  const html = await scopeHtml(input, view);
  let tslab: { display: TslabDisplay } | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tslab = require('tslab') as { display: TslabDisplay };
  } catch {
    tslab = null;
  }
  try {
    if (tslab) {
      tslab.display.html(html);
      return undefined;
    }
  } catch {
    // Not inside a running cell: hand the HTML back.
  }
  return html;
}
