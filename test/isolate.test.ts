import assert from 'node:assert/strict';
import { Isolate, IsolateError, isIsolated } from '../lib/course/isolate';
import { isolatedNodeFactory } from '../lib/course/isolated-node';
import { HandlerError, type NodeContext } from '../lib/raft/context';
import type { RequestVote } from '../lib/raft/types';
import { figure2Handlers } from '../lib/raft/handlers';
import { Cluster } from '../lib/sim/cluster';

const kindOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof IsolateError, `expected an IsolateError, got ${String(error)}`);
    return error.kind;
  }
  return 'none';
};

describe('Isolate: untrusted student code', () => {
  it('runs functions with JSON in and out, and lists what the code defined', () => {
    const iso = new Isolate();
    iso.evaluate('function add(a, b) { return a + b }\nexports.pair = (a) => [a, a];', 'cell.js');
    assert.deepEqual(iso.functionNames().sort(), ['add', 'pair']);
    assert.equal(iso.call('add', [2, 3]), 5);
    assert.deepEqual(iso.fn('pair')(7), [7, 7]);
    assert.ok(isIsolated(iso.fn('add')));
  });

  it('stops endless loops and recursion by a step budget, even behind try/catch, and stays usable', () => {
    const iso = new Isolate({ stepBudget: 50_000 });
    iso.evaluate('function spin() { for (;;) { try { while (true); } catch (e) {} } }\nfunction fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }\nconst arrow = () => { do {} while (true) }\nfunction useArrow() { return arrow() }', 'cell.js');
    assert.equal(kindOf(() => iso.call('spin', [])), 'timeout');
    assert.equal(kindOf(() => iso.call('fib', [40])), 'timeout');
    assert.equal(kindOf(() => iso.call('useArrow', [])), 'timeout');
    assert.equal(iso.call('fib', [10]), 55);
  });

  it('a top-level loop is stopped by the evaluation time limit, and a thrown getter never runs on the host', () => {
    const iso = new Isolate({ timeoutMs: 100 });
    assert.equal(kindOf(() => iso.evaluate('while (true) {}', 'loop.js')), 'timeout');
    assert.equal(kindOf(() => iso.evaluate('throw { get stack() { for (;;); }, get message() { for (;;); } }', 'evil.js')), 'timeout');
  });

  it('gives no way out: no require, process, eval or Function, and host prototypes are out of reach', () => {
    const iso = new Isolate({ timeoutMs: 200 });
    iso.evaluate(`
      function tryRequire() { return require('fs') }
      function tryProcess() { return typeof process }
      function tryEval() { return eval('1 + 1') }
      function tryFunction() { return (function () {}).constructor('return process')() }
      function tryGlobalThis() { return Object.getPrototypeOf(globalThis) === null ? 'null' : typeof globalThis.constructor }
      function tryProxy() { return new Proxy({}, { get: () => true }) }
    `, 'attacks.js');
    assert.equal(kindOf(() => iso.call('tryRequire', [])), 'runtime');
    assert.equal(iso.call('tryProcess', []), 'undefined');
    assert.equal(kindOf(() => iso.call('tryEval', [])), 'runtime');
    assert.equal(kindOf(() => iso.call('tryFunction', [])), 'runtime');
    // A Proxy "equal to everything" comes back as plain data: an empty object.
    assert.deepEqual(iso.call('tryProxy', []), {});
  });

  it('reports a syntax error with its file and line', () => {
    const iso = new Isolate();
    assert.throws(() => iso.evaluate('function ok() {}\nfunction broken( {', 'cell-3.js'), (e: unknown) => e instanceof IsolateError && e.kind === 'syntax' && /cell-3\.js/.test(e.message));
  });
});

describe('IsolatedRaftNode: a student Raft run inside isolates', () => {
  it('a student onRequestVote, run isolated on the reference for the rest, elects a leader and commits on every node', () => {
    function onRequestVote(ctx: NodeContext, from: string, request: RequestVote): void {
      const upToDate = ctx.rules.logIsUpToDate(request, { lastLogIndex: ctx.log.lastIndex, lastLogTerm: ctx.log.lastTerm });
      const granted = request.term === ctx.currentTerm && (ctx.votedFor === null || ctx.votedFor === request.candidateId) && upToDate;
      if (granted) {
        ctx.votedFor = request.candidateId;
        ctx.persist();
        ctx.resetElectionTimer();
      }
      ctx.send(from, { type: 'RequestVoteReply', term: ctx.currentTerm, voteGranted: granted });
    }
    const c = new Cluster({ nodes: 3, seed: 2, createNode: isolatedNodeFactory({ handlers: { onRequestVote } }) });
    c.runUntil((x) => x.leader() !== null, { timeout: 5000 });
    c.propose({ data_id: 1 });
    c.runFor(500);
    for (const id of c.ids) assert.deepEqual(c.status(id).log.map((e) => e.command), [{ data_id: 1 }]);
  });

  it('the same seed gives the same run', () => {
    const run = () => {
      const c = new Cluster({ nodes: 3, seed: 9, trace: 'state', createNode: isolatedNodeFactory({}) });
      c.runFor(3000);
      return JSON.stringify(c.trace.toJSON());
    };
    assert.equal(run(), run());
  });

  it('a looping student handler is reported naming the handler and the event', () => {
    const onElectionTimeout = (_ctx: NodeContext) => { for (;;) { /* forgot to stop */ } };
    const c = new Cluster({ nodes: 3, seed: 1, createNode: isolatedNodeFactory({ handlers: { onElectionTimeout } }, { stepBudget: 100_000 }) });
    assert.throws(() => c.runFor(2000), (e: unknown) => e instanceof HandlerError && e.handler === 'onElectionTimeout' && /election timer/.test(e.event) && /every loop ends/.test(e.rule));
  });

  it('library functions that are not self-contained cannot be passed as student code (only their source is used)', () => {
    assert.throws(() => new Cluster({ nodes: 3, seed: 1, createNode: isolatedNodeFactory({ handlers: { ...figure2Handlers } }) }).runFor(2000), (e: unknown) => e instanceof HandlerError && /is not defined/.test(e.detail));
  });

  it('a handler that uses a notebook variable it was not given fails clearly (handlers must be self-contained)', () => {
    const outside = 3;
    const onElectionTimeout = (ctx: NodeContext) => { ctx.currentTerm += outside; };
    const c = new Cluster({ nodes: 3, seed: 1, createNode: isolatedNodeFactory({ handlers: { onElectionTimeout } }) });
    assert.throws(() => c.runFor(2000), (e: unknown) => e instanceof HandlerError && /outside is not defined/.test(e.detail));
  });
});
