import assert from 'node:assert/strict';
import { HandlerError, type Handlers, type NodeContext } from '../lib/raft/context';
import { figure2Handlers } from '../lib/raft/handlers';
import { RaftNode } from '../lib/raft/node';
import type { AppendEntries, PersistentState, RequestVote } from '../lib/raft/types';
import { Cluster } from '../lib/sim/cluster';

const request: RequestVote = { type: 'RequestVote', term: 1, candidateId: 'b', lastLogIndex: 0, lastLogTerm: 0 };
const node = (handlers: Partial<Handlers>, persisted: PersistentState = { currentTerm: 0, votedFor: null, log: [] }) =>
  new RaftNode({ id: 'a', peers: ['b', 'c'], random: () => 0.5, handlers }, persisted);

function throwsHandlerError(run: () => unknown, expect: { handler: string; rule: RegExp; detail?: RegExp; event?: RegExp }): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof HandlerError, `expected a HandlerError, got ${String(error)}`);
    assert.equal(error.handler, expect.handler);
    assert.match(error.rule, expect.rule);
    if (expect.detail) assert.match(error.detail, expect.detail);
    if (expect.event) assert.match(error.event, expect.event);
    assert.ok(!/\n\s+at /.test(error.stack ?? ''), 'no stack trace from inside the library');
    return true;
  });
}

describe('RaftNode: Figure 2 as handlers, and the contract it checks', () => {
  it('the reference handlers are used for every handler not replaced (a student with only onRequestVote runs on the reference replication)', () => {
    const votes: string[] = [];
    const onRequestVote: Handlers['onRequestVote'] = (ctx, from, req) => {
      votes.push(from);
      figure2Handlers.onRequestVote(ctx, from, req);
    };
    const c = new Cluster({ nodes: 3, seed: 3, handlers: { onRequestVote } });
    c.runUntil((x) => x.leader() !== null, { timeout: 5000 });
    c.propose({ x: 1 });
    c.runFor(500);
    assert.ok(votes.length > 0);
    for (const id of c.ids) assert.equal(c.status(id).commitIndex, 1);
  });

  it('a handler that throws is reported naming the handler, the event and the rule', () => {
    const n = node({ onRequestVote: () => { throw new TypeError('oops'); } });
    throwsHandlerError(() => n.step('b', request, 1), { handler: 'onRequestVote', rule: /must not throw/, detail: /TypeError: oops/, event: /RequestVote from b \(term 1\)/ });
  });

  it('sending a reply before persisting what it depends on is caught (even inside a try/catch of the handler)', () => {
    const n = node({
      onRequestVote: (ctx, from, req) => {
        ctx.votedFor = req.candidateId;
        try {
          ctx.send(from, { type: 'RequestVoteReply', term: ctx.currentTerm, voteGranted: true });
        } catch {
          // a student's catch-all cannot hide the broken rule
        }
      },
    });
    throwsHandlerError(() => n.step('b', request, 1), { handler: 'onRequestVote', rule: /stable storage before responding/, detail: /before persisting currentTerm\/votedFor/ });
  });

  it('sending to a node that is not a member is caught', () => {
    const n = node({ onRequestVote: (ctx) => ctx.send('z', { type: 'RequestVoteReply', term: ctx.currentTerm, voteGranted: false }) });
    throwsHandlerError(() => n.step('b', request, 1), { handler: 'onRequestVote', rule: /members of the cluster/, detail: /"z"/ });
  });

  it('changing state a handler was not given is caught (onRequestVote bumping currentTerm; a received message is frozen)', () => {
    const n = node({ onRequestVote: (ctx) => { ctx.currentTerm += 5; ctx.persist(); } });
    throwsHandlerError(() => n.step('b', request, 1), { handler: 'onRequestVote', rule: /changes currentTerm/ });
    const m = node({ onAppendEntries: (_ctx, _from, req) => { (req.entries as unknown as unknown[]).push({ term: 9, command: null }); } });
    const ae: AppendEntries = { type: 'AppendEntries', term: 1, leaderId: 'b', prevLogIndex: 0, prevLogTerm: 0, entries: Object.freeze([]) as never, leaderCommit: 0 };
    throwsHandlerError(() => m.step('b', ae, 1), { handler: 'onAppendEntries', rule: /must not throw/, detail: /TypeError/ });
  });

  it('commitIndex must never decrease nor pass the end of the log; entries apply in order', () => {
    const past = node({ onAppendEntries: (ctx) => { ctx.commitIndex = 3; } });
    const ae: AppendEntries = { type: 'AppendEntries', term: 1, leaderId: 'b', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 3 };
    throwsHandlerError(() => past.step('b', ae, 1), { handler: 'onAppendEntries', rule: /commits only entries it has/ });
    const log = [{ term: 1, command: { x: 1 } }, { term: 1, command: { x: 2 } }];
    const outOfOrder = node({ applyCommitted: (ctx: NodeContext) => { ctx.lastApplied = ctx.commitIndex; ctx.apply(ctx.commitIndex); } }, { currentTerm: 1, votedFor: null, log });
    const commit2: AppendEntries = { ...ae, entries: [], prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2 };
    throwsHandlerError(() => outOfOrder.step('b', commit2, 1), { handler: 'applyCommitted', rule: /applied in log order/ });
  });

  it('a node becomes leader only as a candidate holding a majority of votes', () => {
    const n = node({ onElectionTimeout: (ctx) => { ctx.currentTerm += 1; ctx.votedFor = ctx.id; ctx.persist(); ctx.becomeCandidate(); ctx.becomeLeader(); } });
    throwsHandlerError(() => n.tick(1000), { handler: 'onElectionTimeout', rule: /majority of servers/ });
  });

  it('a handler that forgets persist() loses its state on a crash: the write never reaches the Ready', () => {
    const n = node({ onRequestVote: (ctx, _from, req) => { ctx.votedFor = req.candidateId; } });
    const ready = n.step('b', { ...request, term: 0 }, 1);
    assert.equal(ready.hardState, undefined);
    assert.equal(n.votedFor, 'b');
  });
});
