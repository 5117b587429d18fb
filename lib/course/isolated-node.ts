import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { HandlerError, handlerNames, type HandlerName, type Handlers } from '../raft/context';
import type { CreateNode, MembershipOutcome, ProposeOutcome, RaftCore, RaftOptions, ReadOutcome, TransferOutcome } from '../raft/node';
import type { Configuration } from '../raft/membership';
import type { RaftRules } from '../raft/rules';
import type { Command, LogEntry, Message, NodeId, PersistentState, Ready, Role } from '../raft/types';
import { Isolate, IsolateError, isIsolated, STUDENT_SOURCE } from './isolate';

/**
 * A student's Raft run where it cannot hurt anything: each server is the library's RaftNode (bundled) with the
 * student's handlers and rules, all inside its own Isolate. The host sees it through RaftCore, like any node:
 * a handler that throws, breaks the contract or loops becomes a HandlerError naming the handler, the event and
 * the rule, and a crashed server's isolate is thrown away with whatever globals the student kept.
 */

export type RuleName = keyof RaftRules;
const ruleNames: readonly RuleName[] = ['logIsUpToDate', 'grantVote', 'checkConsistency', 'advanceCommitIndex', 'electionTimeout'];

/** The student's code as scripts to evaluate in a fresh isolate, and which global implements each replaced part. */
export interface StudentCode {
  readonly scripts: readonly { readonly source: string; readonly filename: string }[];
  readonly handlers: Partial<Record<HandlerName, string>>;
  readonly rules: Partial<Record<RuleName, string>>;
}

export interface StudentImpl {
  readonly handlers?: Partial<Handlers>;
  readonly rules?: Partial<RaftRules>;
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/**
 * Turn functions (from notebook cells: their source is all that is used, so each must be self-contained, using
 * only its arguments and the other functions given) or isolated functions (the grader's, already evaluated from
 * the submission's exercise cells) into StudentCode.
 */
export function studentCode(impl: StudentImpl): StudentCode {
  const scripts: { source: string; filename: string }[] = [];
  const handlers: Partial<Record<HandlerName, string>> = {};
  const rules: Partial<Record<RuleName, string>> = {};
  const seenIsolates = new Set<Isolate>();
  const seenNames = new Set<string>();
  const add = (kind: 'handler' | 'rule', key: string, fn: unknown): string => {
    if (typeof fn !== 'function') throw new TypeError(`${kind} ${key} must be a function, got ${typeof fn}`);
    if (isIsolated(fn)) {
      const { isolate, name } = fn[STUDENT_SOURCE];
      if (!seenIsolates.has(isolate)) {
        seenIsolates.add(isolate);
        scripts.push(...isolate.scripts);
      }
      return name;
    }
    const own = fn.name && identifier.test(fn.name) && fn.name !== 'anonymous' ? fn.name : `__student_${key}`;
    const name = seenNames.has(own) ? `__student_${key}` : own;
    seenNames.add(name);
    // Both names: tslab compiles a call to a function of an earlier cell as `exports.name(...)`.
    scripts.push({ source: `var ${name} = (${functionSource(fn as (...a: unknown[]) => unknown, key)});\nexports.${name} = ${name};`, filename: `${key}.js` });
    return name;
  };
  for (const [key, fn] of Object.entries(impl.handlers ?? {})) {
    if (!(handlerNames as readonly string[]).includes(key)) throw new RangeError(`no handler called ${key} (handlers: ${handlerNames.join(', ')})`);
    handlers[key as HandlerName] = add('handler', key, fn);
  }
  for (const [key, fn] of Object.entries(impl.rules ?? {})) {
    if (!(ruleNames as readonly string[]).includes(key)) throw new RangeError(`no rule called ${key} (rules: ${ruleNames.join(', ')})`);
    rules[key as RuleName] = add('rule', key, fn);
  }
  return { scripts, handlers, rules };
}

export function functionSource(fn: (...a: unknown[]) => unknown, key: string): string {
  const text = Function.prototype.toString.call(fn);
  if (/\[native code\]\s*}$/.test(text)) throw new TypeError(`${key}: a built-in or bound function cannot be run in isolation; pass the function itself`);
  if (/^async\b/.test(text)) throw new TypeError(`${key} is async: Figure 2's handlers return their answer directly`);
  // A method written in shorthand (`onRequestVote(ctx) {...}`) is not an expression on its own.
  if (!/^(function\b|class\b|\(|[A-Za-z_$][\w$]*\s*=>)/.test(text)) return `function ${text}`;
  return text;
}

let coreBundle: string | undefined;

/** The library's core (lib/raft) as one script for an isolate, built once per process. */
export function raftCoreBundle(): string {
  if (coreBundle) return coreBundle;
  const result = buildSync({
    stdin: {
      contents: "export { RaftNode } from './node'; export { HandlerError } from './context';",
      resolveDir: path.join(__dirname, '..', 'raft'),
      loader: 'ts',
      sourcefile: 'raftlab-core.ts',
    },
    bundle: true,
    format: 'iife',
    globalName: '__raftlab_core',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  coreBundle = result.outputFiles[0]!.text;
  return coreBundle;
}

// Runs inside the isolate: one RaftNode with the student's parts, events in, Ready and status out as data.
const driver = `
var __raftlab_node = null, __raftlab_logVersion = -1, __raftlab_handler = null;
function __raftlab_sfc32(seed) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => { const t = (((a + b) | 0) + d) | 0; d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); c = (c + t) | 0; return (t >>> 0) / 4294967296; };
  for (let i = 0; i < 12; i++) next();
  return next;
}
function __raftlab_make(spec) {
  const handlers = {}, rules = {};
  for (const k of Object.keys(spec.handlers)) { const f = globalThis[spec.handlers[k]] ?? exports[spec.handlers[k]]; if (typeof f !== 'function') throw new Error('handler ' + k + ': ' + spec.handlers[k] + ' is not defined (did its cell run without errors?)'); handlers[k] = f; }
  for (const k of Object.keys(spec.rules)) { const f = globalThis[spec.rules[k]] ?? exports[spec.rules[k]]; if (typeof f !== 'function') throw new Error('rule ' + k + ': ' + spec.rules[k] + ' is not defined (did its cell run without errors?)'); rules[k] = f; }
  const options = Object.assign({}, spec.options, { random: __raftlab_sfc32(spec.seed), handlers, rules });
  __raftlab_node = new __raftlab_core.RaftNode(options, spec.persisted, spec.now);
  __raftlab_logVersion = -1;
  return __raftlab_status();
}
function __raftlab_status() {
  const n = __raftlab_node, ctx = n.ctx;
  const s = { role: n.role, currentTerm: n.currentTerm, votedFor: n.votedFor, leaderId: n.leaderId, commitIndex: n.commitIndex,
    lastApplied: n.lastApplied, lastIndex: n.lastIndex, snapshotIndex: n.snapshotIndex, configuration: n.configuration, nextDeadline: n.nextDeadline(), next: [], match: [], votes: [...n.votesReceived] };
  if (n.role === 'leader') for (const p of n.peers) { s.next.push([p, n.nextIndexOf(p) ?? null]); s.match.push([p, n.matchIndexOf(p) ?? null]); }
  if (ctx.log.version !== __raftlab_logVersion) { s.log = n.log.map((e) => ({ term: e.term, command: e.command })); __raftlab_logVersion = ctx.log.version; }
  if (s.nextDeadline === Infinity) s.nextDeadline = null;
  return s;
}
function __raftlab_event(kind, a, b, c) {
  const n = __raftlab_node;
  try {
    let ready, extra = {};
    if (kind === 'tick') ready = n.tick(a);
    else if (kind === 'step') ready = n.step(a, b, c);
    else if (kind === 'campaign') ready = n.campaign(a);
    else if (kind === 'snapshot') ready = n.snapshot(a, b, c);
    else if (kind === 'add-server' || kind === 'remove-server') { const o = kind === 'add-server' ? n.addServer(a, b) : n.removeServer(a, b); ready = o.ready; extra = o.accepted ? { accepted: true, index: o.index } : { accepted: false, reason: o.reason }; }
    else if (kind === 'read') { const o = n.readIndex(a, b); ready = o.ready; extra = o.accepted ? { accepted: true } : { accepted: false, leaderId: o.leaderId }; }
    else if (kind === 'transfer') { const o = n.transferLeadership(a, b); ready = o.ready; extra = o.accepted ? { accepted: true } : { accepted: false, reason: o.reason }; }
    else { const o = n.propose(a, b); ready = o.ready; extra = o.accepted ? { accepted: true, index: o.index, term: o.term } : { accepted: false, leaderId: o.leaderId }; }
    return { ready, extra, status: __raftlab_status() };
  } catch (e) {
    if (e instanceof __raftlab_core.HandlerError) return { handlerError: { handler: e.handler, event: e.event, rule: e.rule, detail: e.detail } };
    throw e;
  }
}
function __raftlab_current() { const n = __raftlab_node; return n && n.ctx ? { handler: n.ctx.handler, event: n.ctx.event } : { handler: null, event: '' }; }
`;

interface Status {
  role: Role; currentTerm: number; votedFor: NodeId | null; leaderId: NodeId | null; commitIndex: number; lastApplied: number;
  lastIndex: number; snapshotIndex: number; configuration: Configuration; nextDeadline: number | null; votes: NodeId[]; next: [NodeId, number | null][]; match: [NodeId, number | null][]; log?: LogEntry[];
}

interface EventReply {
  ready?: Ready;
  extra?: { accepted?: boolean; index?: number; term?: number; leaderId?: NodeId | null; reason?: string };
  status?: Status;
  handlerError?: { handler: string; event: string; rule: string; detail: string };
}

export interface IsolatedNodeOptions {
  /** Steps one event may take (see Isolate). */
  readonly stepBudget?: number;
}

/** A RaftCore whose handlers run inside an Isolate. */
export class IsolatedRaftNode implements RaftCore {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  private readonly isolate: Isolate;
  private status!: Status;
  private entries: readonly LogEntry[] = [];

  constructor(code: StudentCode, options: RaftOptions, persisted: PersistentState, now: number, isolateOptions: IsolatedNodeOptions = {}) {
    this.id = options.id;
    this.peers = options.peers.filter((p) => p !== options.id);
    this.isolate = new Isolate({ timeoutMs: 5000, ...(isolateOptions.stepBudget ? { stepBudget: isolateOptions.stepBudget } : {}) });
    this.isolate.evaluate(raftCoreBundle(), 'raftlab-core.js', { trusted: true });
    this.isolate.evaluate(driver, 'raftlab-driver.js', { trusted: true });
    for (const s of code.scripts) {
      try {
        this.isolate.evaluate(s.source, s.filename);
      } catch (error) {
        throw new HandlerError(s.filename.replace(/\.js$/, ''), 'loading the code', 'the code runs without errors when its cell runs', describe(error), this.id);
      }
    }
    // Without logDurable() here, the inner node must count its whole log (its driver writes before it sends).
    const { random: _random, handlers: _h, rules: _r, leaderWritesInParallel: _parallel, ...plain } = options;
    const spec = {
      options: plain,
      persisted,
      now,
      seed: Math.floor(options.random() * 4294967296),
      handlers: code.handlers,
      rules: code.rules,
    };
    try {
      this.update(this.isolate.call('__raftlab_make', [spec]) as Status);
    } catch (error) {
      throw new HandlerError('the node', 'starting', 'every replaced handler and rule is defined', describe(error), this.id);
    }
  }

  get role(): Role { return this.status.role; }
  get currentTerm(): number { return this.status.currentTerm; }
  get votedFor(): NodeId | null { return this.status.votedFor; }
  get leaderId(): NodeId | null { return this.status.leaderId; }
  get commitIndex(): number { return this.status.commitIndex; }
  get lastApplied(): number { return this.status.lastApplied; }
  get lastIndex(): number { return this.status.lastIndex; }
  get snapshotIndex(): number { return this.status.snapshotIndex; }
  get configuration(): Configuration { return this.status.configuration; }
  get log(): readonly LogEntry[] { return this.entries; }
  get votesReceived(): ReadonlySet<NodeId> { return new Set(this.status.votes); }
  nextIndexOf(peer: NodeId): number | undefined { return this.status.next.find(([p]) => p === peer)?.[1] ?? undefined; }
  matchIndexOf(peer: NodeId): number | undefined { return this.status.match.find(([p]) => p === peer)?.[1] ?? undefined; }
  nextDeadline(): number { return this.status.nextDeadline ?? Infinity; }

  tick(now: number): Ready {
    return this.event('the timers', ['tick', now]).ready!;
  }

  step(from: NodeId, message: Message, now: number): Ready {
    return this.event(`${message.type} from ${from} (term ${message.term})`, ['step', from, message, now]).ready!;
  }

  campaign(now: number): Ready {
    return this.event('a campaign request', ['campaign', now]).ready!;
  }

  propose(command: Command, now: number): ProposeOutcome {
    const reply = this.event('a client proposal', ['propose', command, now]);
    const x = reply.extra ?? {};
    if (x.accepted) return { accepted: true, index: Number(x.index), term: Number(x.term), ready: reply.ready! };
    return { accepted: false, leaderId: typeof x.leaderId === 'string' ? x.leaderId : null, ready: reply.ready! };
  }

  addServer(id: NodeId, now: number): MembershipOutcome {
    return this.membership('adding a server', 'add-server', id, now);
  }

  removeServer(id: NodeId, now: number): MembershipOutcome {
    return this.membership('removing a server', 'remove-server', id, now);
  }

  private membership(what: string, kind: string, id: NodeId, now: number): MembershipOutcome {
    const reply = this.event(what, [kind, id, now]);
    const x = reply.extra ?? {};
    if (x.accepted) return { accepted: true, index: Number(x.index), ready: reply.ready! };
    return { accepted: false, reason: String(x.reason), ready: reply.ready! };
  }

  snapshot(index: number, state: string, now: number): Ready {
    return this.event('a snapshot', ['snapshot', index, state, now]).ready!;
  }

  readIndex(id: number, now: number): ReadOutcome {
    const reply = this.event('a read', ['read', id, now]);
    const x = reply.extra ?? {};
    if (x.accepted) return { accepted: true, ready: reply.ready! };
    return { accepted: false, leaderId: typeof x.leaderId === 'string' ? x.leaderId : null, ready: reply.ready! };
  }

  transferLeadership(to: NodeId, now: number): TransferOutcome {
    const reply = this.event('a leadership transfer', ['transfer', to, now]);
    const x = reply.extra ?? {};
    if (x.accepted) return { accepted: true, ready: reply.ready! };
    return { accepted: false, reason: String(x.reason), ready: reply.ready! };
  }

  /** What the student's code printed (console.log) since the last call. */
  takeLog(): { lines: string[]; dropped: number } {
    return this.isolate.takeLog();
  }

  private event(what: string, args: unknown[]): EventReply {
    let reply: EventReply;
    try {
      reply = this.isolate.call('__raftlab_event', args) as EventReply;
    } catch (error) {
      const where = this.currentHandler();
      if (error instanceof IsolateError && error.kind === 'timeout') {
        const stopped = (error.partial as EventReply | undefined)?.handlerError;
        throw new HandlerError(stopped?.handler ?? where.handler ?? 'a handler', stopped?.event ?? (where.event || what), 'a handler returns promptly: every loop ends', `ran past its step budget of ${this.isolate.stepBudget} steps (an endless loop or recursion?)`, this.id);
      }
      throw new HandlerError(where.handler ?? 'a handler', where.event || what, 'a handler returns normally: it must not throw', describe(error), this.id);
    }
    if (reply.handlerError) {
      const e = reply.handlerError;
      throw new HandlerError(String(e.handler), String(e.event), String(e.rule), String(e.detail), this.id);
    }
    if (!reply.ready || !reply.status) throw new HandlerError('the node', what, 'the node answers every event with a Ready', 'the isolate answered something else', this.id);
    this.update(reply.status);
    return reply;
  }

  private update(status: Status): void {
    this.status = status;
    if (status.log) this.entries = status.log;
  }

  private currentHandler(): { handler: string | null; event: string } {
    try {
      return this.isolate.call('__raftlab_current', []) as { handler: string | null; event: string };
    } catch {
      return { handler: null, event: '' };
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n').slice(0, 3).join(' / ') : String(error);
}

/** A Cluster/RealNode factory running the student's code isolated, one isolate per server (and per restart). */
export function isolatedNodeFactory(impl: StudentImpl, options: IsolatedNodeOptions = {}): CreateNode {
  const code = studentCode(impl);
  return (raftOptions, persisted, now) => new IsolatedRaftNode(code, raftOptions, persisted, now, options);
}
