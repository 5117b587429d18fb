import { strict as assert } from 'node:assert';
import { coalesceMessages, emptyBatch, mergeReady } from '../lib/net/real-node';
import { RaftNode } from '../lib/raft/node';
import { MemoryStorage, persistReady } from '../lib/raft/storage';
import type { LogEntry, Message, NodeId, Outbound, Ready } from '../lib/raft/types';
import { Rng } from '../lib/sim/rng';

const ready = (log?: { from: number; entries: LogEntry[] }): Ready => ({ messages: [], apply: [], notes: [], ...(log ? { log } : {}) });

describe('real node: group commit and datagram coalescing', () => {
  it('merging a turn of Readys writes the same log as writing them one by one', () => {
    const rng = new Rng(17);
    for (let run = 0; run < 300; run++) {
      const oneByOne = new MemoryStorage();
      const merged = new MemoryStorage();
      let length = 0;
      for (let turn = 0; turn < 10; turn++) {
        const batch = emptyBatch();
        for (let k = rng.int(1, 5); k > 0; k--) {
          const from = rng.int(1, length + 1);
          const entries = Array.from({ length: rng.int(0, 4) }, () => ({ term: rng.int(1, 9), command: { v: rng.int(0, 99) } }));
          const r = ready({ from, entries });
          persistReady(oneByOne, r);
          mergeReady(batch, r);
          length = from - 1 + entries.length;
        }
        persistReady(merged, { ...batch, log: batch.log });
        assert.deepEqual(merged.log, oneByOne.log, `run ${run}, turn ${turn}`);
      }
    }
  });

  it('a leader\'s AppendEntries of one turn travel as one datagram per peer, and followers end up the same', () => {
    const peers: NodeId[] = ['b', 'c'];
    const leader = new RaftNode({ id: 'a', peers, random: () => 0.5 });
    leader.campaign(0);
    for (const p of peers) leader.step(p, { type: 'RequestVoteReply', term: 1, voteGranted: true }, 1);
    assert.equal(leader.role, 'leader');
    const turn: Outbound[] = [];
    for (let i = 0; i < 30; i++) turn.push(...leader.propose({ k: i }, 2).ready?.messages ?? []);
    const toB = (list: readonly Outbound[]) => list.filter((o) => o.to === 'b').map((o) => o.message);
    const coalesced = coalesceMessages(turn, 64);
    assert.equal(toB(coalesced).length, 1);
    assert.ok(toB(turn).length >= 30);
    const follow = (messages: Message[]) => {
      const f = new RaftNode({ id: 'b', peers: ['a', 'c'], random: () => 0.5 });
      let last: Message | undefined;
      for (const m of messages) last = f.step('a', m, 3).messages.at(-1)?.message;
      return { log: f.log, reply: last };
    };
    const separately = follow(toB(turn));
    const together = follow(toB(coalesced));
    assert.deepEqual(together.log, separately.log);
    assert.equal(together.log.length, 30);
    assert.deepEqual(together.reply, separately.reply);
  });

  it('respects the batch limit and never merges across terms or gaps', () => {
    const ae = (term: number, prevLogIndex: number, n: number): Outbound => ({
      to: 'b',
      message: {
        type: 'AppendEntries', term, leaderId: 'a', prevLogIndex, prevLogTerm: prevLogIndex === 0 ? 0 : term,
        entries: Array.from({ length: n }, () => ({ term, command: null })), leaderCommit: 0,
      },
    });
    assert.equal(coalesceMessages([ae(1, 0, 40), ae(1, 40, 40)], 64).length, 2, 'over the batch limit');
    assert.equal(coalesceMessages([ae(1, 0, 2), ae(1, 5, 2)], 64).length, 2, 'a gap');
    assert.equal(coalesceMessages([ae(1, 0, 2), ae(2, 2, 2)], 64).length, 2, 'another term');
    assert.equal(coalesceMessages([ae(1, 0, 2), ae(1, 2, 2)], 64).length, 1);
  });
});
