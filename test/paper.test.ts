/**
 * One test per claim of the Raft paper (Figure 2 and §5.1-5.4, plus the dissertation's PreVote and
 * CheckQuorum), driving a RaftNode by hand like etcd's raft_paper_test.go: build a node with a seeded
 * random function, feed it messages with step(), fire its timers with tick(now), and read the Ready.
 */
import { strict as assert } from 'node:assert';
import type { RaftNode } from '../lib/raft/node';
import type { LogView } from '../lib/raft/rules';
import { MemoryStorage } from '../lib/raft/storage';
import type { LogEntry, Message, Ready, Role } from '../lib/raft/types';
import {
  appendEntries,
  appendReply,
  candidate,
  destinations,
  entries,
  leader,
  makeNode,
  n1,
  n2,
  n3,
  n4,
  n5,
  nodeIds,
  onlyMessage,
  persistAndCheck,
  persisted,
  requestVote,
  sent,
  voteReply,
  Wire,
} from './helpers/core';

const five = { size: 5 };
const appliedIndexes = (ready: Ready) => ready.apply.map((a) => a.index);
const entry = (term: number, command: LogEntry['command']): LogEntry => ({ term, command });

/** A node of a 3-node cluster in `role`, at term 2, and the time it got there. */
function inRole(role: Role): { node: RaftNode; now: number } {
  switch (role) {
    case 'follower':
      return { node: makeNode(n1, { persisted: persisted(2) }), now: 0 };
    case 'precandidate': {
      const node = makeNode(n1, { persisted: persisted(2), preVote: true });
      const now = node.nextDeadline();
      node.tick(now);
      return { node, now };
    }
    case 'candidate':
      return { node: candidate(n1, { persisted: persisted(1) }).node, now: 0 };
    case 'leader':
      return { node: leader(n1, { persisted: persisted(1) }).node, now: 0 };
  }
}

describe('Raft paper claims, one per test (RaftNode driven by hand)', () => {
  describe('§5.1 terms: a node adopts any higher term and rejects stale ones', () => {
    const roles: Role[] = ['follower', 'precandidate', 'candidate', 'leader'];
    const higher: Message[] = [
      appendEntries({ term: 5, leaderId: n2 }),
      requestVote(5, n2),
      appendReply(5, false, 0),
      voteReply(5, false),
    ];
    for (const role of roles) {
      it(`a ${role} that sees a higher term in any message adopts it, clears its vote and becomes follower`, () => {
        for (const message of higher) {
          const { node, now } = inRole(role);
          assert.equal(node.role, role);
          assert.equal(node.currentTerm, 2);
          const ready = node.step(n2, message, now);
          const what = `${role} stepping ${message.type}`;
          assert.equal(node.currentTerm, 5, what);
          assert.equal(node.role, 'follower', what);
          // A RequestVote of the new term is then judged afresh (and granted: both logs are empty).
          const vote = message.type === 'RequestVote' ? n2 : null;
          assert.equal(node.votedFor, vote, what);
          assert.deepEqual(ready.hardState, { currentTerm: 5, votedFor: vote }, what);
          assert.equal(node.leaderId, message.type === 'AppendEntries' ? n2 : null, what);
        }
      });
    }

    it('rejects a RequestVote of a stale term, answering with its own term, and keeps its vote and timer', () => {
      const node = makeNode(n1, { persisted: persisted(3) });
      const deadline = node.nextDeadline();
      const ready = node.step(n2, requestVote(2, n2, 10, 2), 5);
      assert.deepEqual(onlyMessage(ready, 'RequestVoteReply'), voteReply(3, false));
      assert.equal(node.votedFor, null);
      assert.equal(ready.hardState, undefined);
      assert.equal(node.nextDeadline(), deadline);
    });

    it('rejects an AppendEntries of a stale term without touching its log, its leader or its timer', () => {
      for (const role of ['follower', 'candidate', 'leader'] as const) {
        const node =
          role === 'follower'
            ? makeNode(n1, { persisted: persisted(3, [1]) })
            : role === 'candidate'
              ? candidate(n1, { persisted: persisted(2, [1]) }).node
              : leader(n1, { persisted: persisted(2, [1]) }).node;
        assert.equal(node.currentTerm, 3);
        const deadline = node.nextDeadline();
        const stale = appendEntries({ term: 2, leaderId: n2, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, { y: 1 })], leaderCommit: 2 });
        const ready = node.step(n2, stale, 5);
        const reply = onlyMessage(ready, 'AppendEntriesReply');
        assert.equal(reply.term, 3, role);
        assert.equal(reply.success, false, role);
        assert.deepEqual(node.log, entries(1), `${role}: a stale leader must not change the log`);
        assert.equal(ready.log, undefined, role);
        assert.equal(node.role, role);
        assert.equal(node.commitIndex, 0, role);
        assert.equal(node.nextDeadline(), deadline, `${role}: a stale leader must not reset the timer`);
        if (role !== 'leader') assert.equal(node.leaderId, null);
      }
    });
  });

  describe('§5.2 leader election', () => {
    it('a follower keeps quiet until its election timeout, then becomes candidate: term+1, votes for itself, persists both in the Ready that carries its RequestVotes', () => {
      const node = makeNode(n1, { persisted: persisted(1, [1, 1]) });
      const deadline = node.nextDeadline();
      const early = node.tick(deadline - 1);
      assert.equal(early.messages.length, 0);
      assert.equal(node.role, 'follower');

      const ready = node.tick(deadline);
      assert.equal(node.role, 'candidate');
      assert.equal(node.currentTerm, 2);
      assert.equal(node.votedFor, n1);
      assert.deepEqual(ready.hardState, { currentTerm: 2, votedFor: n1 });
      assert.deepEqual(destinations(ready), [n2, n3]);
      for (const { message } of sent(ready, 'RequestVote')) {
        assert.deepEqual(message, requestVote(2, n1, 2, 1));
      }
      assert.deepEqual([...node.votesReceived], [n1]);
      // Converting to candidate resets the election timer.
      assert.ok(node.nextDeadline() >= deadline + 150 && node.nextDeadline() <= deadline + 300);
    });

    it('an AppendEntries from the current leader resets the election timer', () => {
      const node = makeNode(n1);
      const deadline = node.nextDeadline();
      const heardAt = deadline - 1;
      node.step(n2, appendEntries({ term: 1, leaderId: n2 }), heardAt);
      assert.equal(node.tick(deadline).messages.length, 0);
      assert.equal(node.role, 'follower');
      assert.ok(node.nextDeadline() >= heardAt + 150 && node.nextDeadline() <= heardAt + 300);
      assert.equal(node.leaderId, n2);
    });

    it('a candidate wins with votes from a majority (each voter counted once, refusals ignored) and sends heartbeats at once', () => {
      const { node } = candidate(n1, five);
      assert.equal(node.step(n2, voteReply(1, true), 1).messages.length, 0);
      node.step(n2, voteReply(1, true), 2); // the same voter again: still 2 of 5
      node.step(n3, voteReply(1, false), 3);
      assert.equal(node.role, 'candidate');
      const ready = node.step(n4, voteReply(1, true), 4);
      assert.equal(node.role, 'leader');
      assert.equal(node.leaderId, n1);
      assert.deepEqual(destinations(ready), [n2, n3, n4, n5]);
      for (const { message } of sent(ready, 'AppendEntries')) {
        assert.deepEqual(message, appendEntries({ term: 1, leaderId: n1 }));
      }
    });

    it('votes granted in an earlier election do not count in a later one', () => {
      const { node } = candidate(n1, five);
      node.tick(node.nextDeadline()); // split vote: a second election, term 2
      assert.equal(node.currentTerm, 2);
      node.step(n2, voteReply(1, true), 1000);
      node.step(n3, voteReply(1, true), 1000);
      assert.equal(node.role, 'candidate');
    });

    for (const role of ['candidate', 'precandidate'] as const) {
      it(`a ${role} that receives AppendEntries from a leader of its term steps down and follows it`, () => {
        const node = role === 'candidate' ? candidate(n1).node : makeNode(n1, { preVote: true });
        const now = role === 'candidate' ? 1 : node.nextDeadline();
        if (role === 'precandidate') node.tick(now);
        assert.equal(node.role, role);
        const term = node.currentTerm;
        const ready = node.step(n2, appendEntries({ term, leaderId: n2, entries: entries(term) }), now);
        assert.equal(node.role, 'follower');
        assert.equal(node.currentTerm, term);
        assert.equal(node.leaderId, n2);
        if (role === 'candidate') assert.equal(node.votedFor, n1, 'the vote of this term stays cast');
        assert.deepEqual(onlyMessage(ready, 'AppendEntriesReply'), appendReply(term, true, 1));
      });
    }

    it('a candidate that neither wins nor loses (split vote) times out and starts a new election in a new term', () => {
      const { node } = candidate(n1, five);
      node.step(n2, voteReply(1, true), 1);
      node.step(n3, voteReply(1, false), 1);
      node.step(n4, voteReply(1, false), 1);
      const deadline = node.nextDeadline();
      assert.equal(node.tick(deadline - 1).messages.length, 0);
      const ready = node.tick(deadline);
      assert.equal(node.role, 'candidate');
      assert.equal(node.currentTerm, 2);
      assert.deepEqual(ready.hardState, { currentTerm: 2, votedFor: n1 });
      assert.deepEqual(destinations(ready), [n2, n3, n4, n5]);
      assert.deepEqual([...node.votesReceived], [n1], 'the old votes are forgotten');
      node.step(n2, voteReply(2, true), deadline);
      node.step(n3, voteReply(2, true), deadline);
      assert.equal(node.role, 'leader');
    });

    it('election timeouts are drawn at random within [min, max], differ between nodes, and are redrawn on every reset', () => {
      for (const range of [{ min: 150, max: 300 }, { min: 10, max: 20 }]) {
        const first = Array.from({ length: 20 }, (_, seed) =>
          makeNode(n1, { seed, ...(range.min === 150 ? {} : { electionTimeout: range }) }).nextDeadline(),
        );
        for (const t of first) assert.ok(t >= range.min && t <= range.max, `${t} outside ${JSON.stringify(range)}`);
        assert.ok(new Set(first).size >= 18, `nodes with different seeds should draw different timeouts: ${first}`);
        assert.ok(Math.max(...first) - Math.min(...first) > (range.max - range.min) / 2, 'they spread over the range');
      }
      const node = makeNode(n1, five);
      const draws: number[] = [];
      let now = 0;
      for (let i = 0; i < 10; i++) {
        const at = node.nextDeadline();
        draws.push(at - now);
        node.tick((now = at)); // each timeout starts a new election and a new timer
      }
      assert.equal(node.currentTerm, 10);
      assert.ok(new Set(draws).size >= 9, `a node should redraw its timeout: ${draws}`);
    });

    it('a node votes at most once per term: a second candidate is refused, the same candidate is granted again', () => {
      const node = makeNode(n1, { persisted: persisted(1) });
      const first = node.step(n2, requestVote(1, n2), 1);
      assert.deepEqual(onlyMessage(first, 'RequestVoteReply'), voteReply(1, true));
      assert.deepEqual(first.hardState, { currentTerm: 1, votedFor: n2 });

      const other = node.step(n3, requestVote(1, n3), 2);
      assert.deepEqual(onlyMessage(other, 'RequestVoteReply'), voteReply(1, false));
      assert.equal(node.votedFor, n2);

      const retry = node.step(n2, requestVote(1, n2), 3); // n2 lost our reply and asks again
      assert.deepEqual(onlyMessage(retry, 'RequestVoteReply'), voteReply(1, true));

      const { node: rival } = candidate(n3);
      const refused = rival.step(n2, requestVote(1, n2), 3);
      assert.deepEqual(onlyMessage(refused, 'RequestVoteReply'), voteReply(1, false), 'a candidate has voted for itself');

      const nextTerm = node.step(n3, requestVote(2, n3), 4);
      assert.deepEqual(onlyMessage(nextTerm, 'RequestVoteReply'), voteReply(2, true), 'a new term, a new vote');
      assert.equal(node.votedFor, n3);
    });

    it("a vote is refused when the candidate's log is less up to date (last term first, then length)", () => {
      // The voter's log: terms [1, 2, 2], so last term 2 and last index 3.
      const cases = [
        { lastLogIndex: 5, lastLogTerm: 1, granted: false, why: 'longer but older last term' },
        { lastLogIndex: 2, lastLogTerm: 2, granted: false, why: 'same last term but shorter' },
        { lastLogIndex: 0, lastLogTerm: 0, granted: false, why: 'empty log' },
        { lastLogIndex: 3, lastLogTerm: 2, granted: true, why: 'identical' },
        { lastLogIndex: 4, lastLogTerm: 2, granted: true, why: 'same last term, longer' },
        { lastLogIndex: 1, lastLogTerm: 3, granted: true, why: 'newer last term, shorter' },
      ];
      for (const c of cases) {
        const node = makeNode(n1, { persisted: persisted(2, [1, 2, 2]) });
        const ready = node.step(n2, requestVote(4, n2, c.lastLogIndex, c.lastLogTerm), 1);
        assert.equal(onlyMessage(ready, 'RequestVoteReply').voteGranted, c.granted, c.why);
        assert.equal(node.votedFor, c.granted ? n2 : null, c.why);
        assert.equal(node.currentTerm, 4, 'the term is adopted whatever the vote');
      }
    });

    it('granting a vote resets the election timer, refusing one does not', () => {
      const node = makeNode(n1, { persisted: persisted(1, [1]) });
      const deadline = node.nextDeadline();
      const now = deadline - 10;
      node.step(n2, requestVote(2, n2, 0, 0), now); // refused: n2's log is behind
      assert.equal(node.nextDeadline(), deadline);
      node.step(n3, requestVote(2, n3, 1, 1), now); // granted
      assert.ok(node.nextDeadline() >= now + 150 && node.nextDeadline() <= now + 300);
      assert.equal(node.tick(deadline).messages.length, 0);
      assert.equal(node.role, 'follower');
    });

    it('a leader sends heartbeats every heartbeatInterval and never starts an election itself', () => {
      for (const heartbeatInterval of [50, 20]) {
        const { node } = leader(n1, heartbeatInterval === 50 ? {} : { heartbeatInterval });
        for (let k = 1; k <= 5; k++) {
          assert.equal(node.tick(k * heartbeatInterval - 1).messages.length, 0);
          const beat = node.tick(k * heartbeatInterval);
          assert.deepEqual(destinations(beat), [n2, n3]);
          for (const { message } of sent(beat, 'AppendEntries')) assert.deepEqual(message.entries, []);
        }
        node.tick(10_000);
        assert.equal(node.role, 'leader');
        assert.equal(node.currentTerm, 1);
      }
    });
  });

  describe('§5.3 log replication', () => {
    it("a new leader's nextIndex starts past its last entry and matchIndex at 0", () => {
      const { node, ready } = leader(n1, { persisted: persisted(1, [1, 1]) });
      assert.equal(node.nextIndexOf(n2), 3);
      assert.equal(node.matchIndexOf(n2), 0);
      for (const { message } of sent(ready, 'AppendEntries')) {
        assert.equal(message.prevLogIndex, 2);
        assert.equal(message.prevLogTerm, 1);
      }
    });

    it('a leader appends a proposal to its log (persisted in the same Ready) and sends it to every follower', () => {
      const { node } = leader(n1);
      const outcome = node.propose({ x: 1 }, 5);
      assert.ok(outcome.accepted);
      assert.equal(outcome.index, 1);
      assert.equal(outcome.term, 1);
      assert.deepEqual(node.log, [entry(1, { x: 1 })]);
      assert.deepEqual(outcome.ready.log, { from: 1, entries: [entry(1, { x: 1 })] });
      assert.deepEqual(destinations(outcome.ready), [n2, n3]);
      for (const { message } of sent(outcome.ready, 'AppendEntries')) {
        assert.deepEqual(message, appendEntries({ term: 1, leaderId: n1, entries: [entry(1, { x: 1 })] }));
      }
      assert.equal(node.commitIndex, 0, 'not committed before a majority has it');
    });

    it('a follower refuses a proposal and names the leader it knows', () => {
      const node = makeNode(n1);
      node.step(n2, appendEntries({ term: 1, leaderId: n2 }), 1);
      const outcome = node.propose({ x: 1 }, 2);
      assert.equal(outcome.accepted, false);
      assert.equal(!outcome.accepted && outcome.leaderId, n2);
      assert.equal(outcome.ready.messages.length, 0);
      assert.deepEqual(node.log, []);
    });

    it('on success the leader advances matchIndex and nextIndex for that follower', () => {
      const { node } = leader(n1);
      node.propose({ x: 1 }, 1);
      node.propose({ x: 2 }, 1);
      node.step(n2, appendReply(1, true, 2), 2);
      assert.equal(node.matchIndexOf(n2), 2);
      assert.equal(node.nextIndexOf(n2), 3);
      assert.equal(node.matchIndexOf(n3), 0);
    });

    it('the consistency check refuses an AppendEntries whose prevLogIndex is past the end of the log, hinting conflictIndex = lastIndex + 1', () => {
      const node = makeNode(n1, { persisted: persisted(1, [1, 1]) });
      const ready = node.step(n2, appendEntries({ term: 1, leaderId: n2, prevLogIndex: 5, prevLogTerm: 1, entries: entries(1) }), 1);
      const reply = onlyMessage(ready, 'AppendEntriesReply');
      assert.equal(reply.success, false);
      assert.equal(reply.conflictIndex, 3);
      assert.equal(reply.conflictTerm, undefined);
      assert.deepEqual(node.log, entries(1, 1));
      assert.equal(ready.log, undefined);
      assert.equal(node.leaderId, n2, 'it is still the legitimate leader');
    });

    it('the consistency check refuses a wrong prevLogTerm, hinting the conflicting term and the first index holding it', () => {
      const node = makeNode(n1, { persisted: persisted(3, [1, 2, 2, 2]) });
      const ready = node.step(n2, appendEntries({ term: 3, leaderId: n2, prevLogIndex: 4, prevLogTerm: 3, entries: [entry(3, { y: 1 })] }), 1);
      const reply = onlyMessage(ready, 'AppendEntriesReply');
      assert.equal(reply.success, false);
      assert.equal(reply.conflictTerm, 2);
      assert.equal(reply.conflictIndex, 2);
      assert.deepEqual(node.log, entries(1, 2, 2, 2));
    });

    it('a follower deletes a conflicting entry and all that follow it, then appends the new entries', () => {
      const node = makeNode(n1, { persisted: persisted(3, [1, 2, 2, 2]) });
      const fresh = [entry(3, { y: 1 }), entry(3, { y: 2 })];
      const ready = node.step(n2, appendEntries({ term: 3, leaderId: n2, prevLogIndex: 1, prevLogTerm: 1, entries: fresh }), 1);
      assert.deepEqual(node.log, [...entries(1), ...fresh]);
      assert.deepEqual(ready.log, { from: 2, entries: fresh });
      assert.deepEqual(onlyMessage(ready, 'AppendEntriesReply'), appendReply(3, true, 3));
    });

    it('a follower does not truncate on a stale or duplicate AppendEntries whose entries already match (receiver rule 3 only on a conflict)', () => {
      const node = makeNode(n1, { persisted: persisted(1, [1, 1, 1]) });
      const log = entries(1, 1, 1);
      // A delayed copy of an old AppendEntries carrying only entry 1.
      const stale = node.step(n2, appendEntries({ term: 1, leaderId: n2, entries: log.slice(0, 1) }), 1);
      assert.deepEqual(node.log, log, 'entries 2 and 3 must survive');
      assert.equal(stale.log, undefined);
      assert.deepEqual(onlyMessage(stale, 'AppendEntriesReply'), appendReply(1, true, 1));
      // A duplicate of entries 2..3.
      const dup = node.step(n2, appendEntries({ term: 1, leaderId: n2, prevLogIndex: 1, prevLogTerm: 1, entries: log.slice(1) }), 2);
      assert.equal(dup.log, undefined);
      assert.deepEqual(onlyMessage(dup, 'AppendEntriesReply'), appendReply(1, true, 3));
      // Overlapping: 2..3 already there, 4 new. Only entry 4 is written.
      const more = [...log.slice(1), entry(1, { x: 4 })];
      const overlap = node.step(n2, appendEntries({ term: 1, leaderId: n2, prevLogIndex: 1, prevLogTerm: 1, entries: more }), 3);
      assert.deepEqual(overlap.log, { from: 4, entries: [entry(1, { x: 4 })] });
      assert.equal(node.lastIndex, 4);
    });

    it("a follower sets commitIndex = min(leaderCommit, index of last new entry), never lowers it, and applies in order", () => {
      const node = makeNode(n1, { persisted: persisted(1, [1, 1, 1, 1, 1]) });
      const log = entries(1, 1, 1, 1, 1);
      // The leader has committed 5, but this message only vouches for the follower's log up to index 2.
      const a = node.step(n2, appendEntries({ term: 1, leaderId: n2, prevLogIndex: 1, prevLogTerm: 1, entries: log.slice(1, 2), leaderCommit: 5 }), 1);
      assert.equal(node.commitIndex, 2);
      assert.deepEqual(a.apply, [{ index: 1, entry: log[0] }, { index: 2, entry: log[1] }]);
      const b = node.step(n2, appendEntries({ term: 1, leaderId: n2, prevLogIndex: 5, prevLogTerm: 1, leaderCommit: 4 }), 2);
      assert.equal(node.commitIndex, 4);
      assert.deepEqual(appliedIndexes(b), [3, 4]);
      const c = node.step(n2, appendEntries({ term: 1, leaderId: n2, prevLogIndex: 5, prevLogTerm: 1, leaderCommit: 3 }), 3);
      assert.equal(node.commitIndex, 4, 'commitIndex never goes back');
      assert.deepEqual(c.apply, []);
      assert.equal(node.lastApplied, 4);
    });

    it('a leader commits an entry once a majority stores it, applies committed entries in index order, and tells the followers', () => {
      const { node } = leader(n1, five);
      node.propose({ x: 1 }, 1);
      node.propose({ x: 2 }, 1);
      const one = node.step(n2, appendReply(1, true, 2), 2);
      assert.equal(node.commitIndex, 0, '2 of 5 is not a majority');
      assert.deepEqual(one.apply, []);
      const two = node.step(n3, appendReply(1, true, 2), 3);
      assert.equal(node.commitIndex, 2);
      assert.deepEqual(two.apply, [
        { index: 1, entry: entry(1, { x: 1 }) },
        { index: 2, entry: entry(1, { x: 2 }) },
      ]);
      assert.ok(two.notes.some((n) => n.kind === 'commit' && n.commitIndex === 2));
      assert.equal(node.lastApplied, 2);
      const beat = node.tick(50);
      for (const { message } of sent(beat, 'AppendEntries')) assert.equal(message.leaderCommit, 2);
    });

    it('a leader does not commit an entry of an earlier term by counting replicas (Figure 8), but commits it with the first entry of its own term', () => {
      // n1 led term 2 and wrote entry 2 of term 2; it restarts and wins term 3.
      const { node } = leader(n1, { ...five, persisted: persisted(2, [1, 2]) });
      assert.equal(node.currentTerm, 3);
      for (const peer of [n2, n3, n4]) node.step(peer, appendReply(3, true, 2), 1);
      assert.equal(node.commitIndex, 0, 'entries 1-2 are on 4 of 5 servers but not of term 3');
      node.propose({ y: 1 }, 2);
      node.step(n2, appendReply(3, true, 3), 3);
      assert.equal(node.commitIndex, 0);
      const ready = node.step(n3, appendReply(3, true, 3), 4);
      assert.equal(node.commitIndex, 3);
      assert.deepEqual(appliedIndexes(ready), [1, 2, 3]);
    });

    it('on a refusal without a hint the leader decrements nextIndex and retries at once', () => {
      const { node } = leader(n1, { persisted: persisted(1, [1, 1, 1]) });
      assert.equal(node.nextIndexOf(n2), 4);
      const ready = node.step(n2, appendReply(2, false, 0), 1);
      const retry = onlyMessage(ready, 'AppendEntries'); // from nextIndex 3 (pipelining then moves it past what was sent)
      assert.equal(retry.prevLogIndex, 2);
      assert.deepEqual(retry.entries, entries(1, 1, 1).slice(2));
    });

    /** The consistency check with the hint taken away: conflictIndex = prevLogIndex, one step back per round trip. */
    const noHint = (log: LogView, prevLogIndex: number, prevLogTerm: number) =>
      log.termAt(prevLogIndex) === prevLogTerm ? ({ ok: true } as const) : ({ ok: false, conflictIndex: prevLogIndex } as const);

    /** Elect n1 over a follower n2 whose log diverges, then count the AppendEntries n2 receives until it matches. */
    function catchUp(n2Log: number[], hintless = false): number {
      const leaderLog = [1, ...Array<number>(50).fill(3)];
      const wire = new Wire(
        [n1, n2, n3],
        hintless ? { rules: { checkConsistency: noHint } } : {},
        { [n1]: persisted(3, leaderLog), [n2]: persisted(2, n2Log), [n3]: persisted(3, leaderLog) },
      );
      wire.campaign(n1);
      wire.settle();
      assert.deepEqual(wire.leaders(), [n1]);
      assert.deepEqual(wire.node(n2).log, wire.node(n1).log);
      return wire.delivered.filter((m) => m.to === n2 && m.message.type === 'AppendEntries').length;
    }

    it('fast backtracking: a follower lagging or diverging by 50 entries of an old term catches up in two round trips', () => {
      const behind = catchUp([1]);
      const diverged = catchUp([1, ...Array<number>(50).fill(2)]);
      assert.ok(behind <= 2, `lagging follower needed ${behind} AppendEntries`);
      assert.ok(diverged <= 2, `diverging follower needed ${diverged} AppendEntries`);
      const oneByOne = catchUp([1, ...Array<number>(50).fill(2)], true);
      assert.ok(oneByOne >= 50, `without the hint it takes one round trip per entry (${oneByOne})`);
    });

    it('a leader that receives a reply with a higher term steps down and adopts the term', () => {
      const { node } = leader(n1);
      node.propose({ x: 1 }, 1);
      const ready = node.step(n2, appendReply(4, false, 0), 2);
      assert.equal(node.role, 'follower');
      assert.equal(node.currentTerm, 4);
      assert.deepEqual(ready.hardState, { currentTerm: 4, votedFor: null });
      assert.equal(node.leaderId, null);
      assert.equal(node.nextIndexOf(n2), undefined);
      assert.deepEqual(node.log, [entry(1, { x: 1 })], 'stepping down keeps the log');
    });
  });

  describe('§5.4 safety and persistence', () => {
    it('the persistence contract: every Ready whose messages depend on a new term, vote or log entry carries that change', () => {
      // Wire persists every Ready and checks it (see persistAndCheck) on each of these scenarios.
      const start = persisted(1);
      const wire = new Wire(nodeIds(5), {}, { [n1]: start, [n2]: start, [n3]: start, [n4]: start, [n5]: persisted(1, [1, 1, 1]) });
      const vote = wire.campaign(n1);
      assert.deepEqual(vote.hardState, { currentTerm: 2, votedFor: n1 });
      wire.settle(); // n5 has the longer log and refuses: n1 still wins with n2, n3, n4
      assert.deepEqual(wire.leaders(), [n1]);
      wire.propose(n1, { a: 1 });
      wire.propose(n1, { a: 2 });
      wire.settle(); // n5's conflicting entries are cut and replaced
      assert.deepEqual(wire.node(n5).log, wire.node(n1).log);
      wire.tickAll(wire.node(n1).nextDeadline());
      wire.settle();
      assert.equal(wire.node(n5).commitIndex, 2);
      // n3 restarts and a new election happens in term 2 with n3 as candidate.
      wire.restart(n3);
      const again = wire.campaign(n3);
      assert.deepEqual(again.hardState, { currentTerm: 3, votedFor: n3 });
      wire.settle();
      assert.deepEqual(wire.leaders(), [n3]);
      wire.propose(n3, { a: 3 });
      wire.settle();
      assert.ok(wire.ids.every((id) => wire.node(id).lastIndex === 3));

      // And the check itself bites: the same vote without its hardState is caught.
      // A vote granted within the current term (no new term to persist) must still be persisted.
      const voter = makeNode(n2, { persisted: persisted(1) });
      const granted = voter.step(n1, requestVote(1, n1), 0);
      assert.deepEqual(granted.hardState, { currentTerm: 1, votedFor: n1 });
      persistAndCheck(voter, new MemoryStorage(persisted(1)), granted);
      const { hardState: _dropped, ...forgetful } = granted;
      assert.throws(() => persistAndCheck(voter, new MemoryStorage(persisted(1)), forgetful), /hard state/);
    });

    it('a restarted node keeps its term, vote and log; its commitIndex and lastApplied start again at 0', () => {
      const wire = new Wire([n1, n2, n3]);
      wire.campaign(n1);
      wire.settle();
      wire.propose(n1, { a: 1 });
      wire.propose(n1, { a: 2 });
      wire.settle();
      wire.tickAll(wire.node(n1).nextDeadline());
      wire.settle();
      const before = wire.node(n2);
      assert.equal(before.commitIndex, 2);
      const restarted = wire.restart(n2);
      assert.equal(restarted.currentTerm, 1);
      assert.equal(restarted.votedFor, n1);
      assert.deepEqual(restarted.log, before.log);
      assert.equal(restarted.commitIndex, 0);
      assert.equal(restarted.lastApplied, 0);
      assert.equal(restarted.role, 'follower');
      // It remembers its vote: another candidate of term 1 is refused.
      assert.equal(onlyMessage(restarted.step(n3, requestVote(1, n3, 2, 1), wire.now), 'RequestVoteReply').voteGranted, false);
      // The next heartbeat tells it the commit index again, and it re-applies from the start.
      wire.tickAll(wire.node(n1).nextDeadline());
      wire.settle();
      assert.equal(restarted.commitIndex, 2);
      assert.deepEqual(wire.applied.get(n2)!.map((a) => a.index), [1, 2, 1, 2]);
    });

    it('a single-node cluster elects itself at its first timeout and commits alone', () => {
      const node = makeNode(n1, { peers: [n1] });
      const ready = node.tick(node.nextDeadline());
      assert.equal(node.role, 'leader');
      assert.equal(node.currentTerm, 1);
      assert.deepEqual(ready.hardState, { currentTerm: 1, votedFor: n1 });
      assert.equal(ready.messages.length, 0);
      const outcome = node.propose({ x: 1 }, 1000);
      assert.equal(node.commitIndex, 1);
      assert.deepEqual(outcome.ready.apply, [{ index: 1, entry: entry(1, { x: 1 }) }]);
      assert.ok(outcome.ready.log, 'persisted in the Ready that applies it');
    });

    it('leaderNoop: a new leader appends an empty entry of its term, which commits the earlier-term entries below it', () => {
      const { node, ready } = leader(n1, { persisted: persisted(1, [1]), leaderNoop: true });
      assert.deepEqual(node.log, [entries(1)[0], entry(2, null)]);
      assert.deepEqual(ready.log, { from: 2, entries: [entry(2, null)] });
      for (const { message } of sent(ready, 'AppendEntries')) {
        assert.equal(message.prevLogIndex, 1);
        assert.deepEqual(message.entries, [entry(2, null)]);
      }
      const acked = node.step(n2, appendReply(2, true, 2), 1);
      assert.equal(node.commitIndex, 2);
      assert.deepEqual(appliedIndexes(acked), [1, 2]);
      const plain = leader(n1, { persisted: persisted(1, [1]) }).node;
      assert.equal(plain.lastIndex, 1, 'without the option no entry is added');
    });
  });

  describe('PreVote (dissertation §9.6)', () => {
    it('a precandidate does not increment its term or vote; it asks for pre-votes for term+1', () => {
      const node = makeNode(n1, { persisted: persisted(1, [1]), preVote: true });
      const ready = node.tick(node.nextDeadline());
      assert.equal(node.role, 'precandidate');
      assert.equal(node.currentTerm, 1);
      assert.equal(node.votedFor, null);
      assert.equal(ready.hardState, undefined);
      for (const { message } of sent(ready, 'RequestVote')) assert.deepEqual(message, requestVote(2, n1, 1, 1, true));
      assert.deepEqual(destinations(ready), [n2, n3]);
    });

    it('the term is incremented only once a majority granted pre-votes, and the real election starts in the same Ready', () => {
      const node = makeNode(n1, { ...five, preVote: true });
      const now = node.nextDeadline();
      node.tick(now);
      node.step(n2, voteReply(1, true, true), now);
      assert.equal(node.role, 'precandidate');
      assert.equal(node.currentTerm, 0);
      const ready = node.step(n3, voteReply(1, true, true), now);
      assert.equal(node.role, 'candidate');
      assert.equal(node.currentTerm, 1);
      assert.deepEqual(ready.hardState, { currentTerm: 1, votedFor: n1 });
      for (const { message } of sent(ready, 'RequestVote')) assert.deepEqual(message, requestVote(1, n1));
    });

    it('a precandidate that gets no majority times out and asks again, still without growing its term', () => {
      const node = makeNode(n1, { preVote: true });
      for (let i = 0; i < 5; i++) node.tick(node.nextDeadline());
      assert.equal(node.role, 'precandidate');
      assert.equal(node.currentTerm, 0);
    });

    it("granting a pre-vote changes nothing on the voter: no term, no vote, no timer reset", () => {
      const node = makeNode(n2, { persisted: persisted(1), preVote: true });
      const deadline = node.nextDeadline();
      const ready = node.step(n1, requestVote(2, n1, 0, 0, true), 1);
      assert.deepEqual(onlyMessage(ready, 'RequestVoteReply'), voteReply(2, true, true));
      assert.equal(node.currentTerm, 1);
      assert.equal(node.votedFor, null);
      assert.equal(ready.hardState, undefined);
      assert.equal(node.nextDeadline(), deadline);
    });

    it('a pre-vote is refused while the voter has heard from a leader within the minimum election timeout', () => {
      const node = makeNode(n2, { persisted: persisted(1), preVote: true });
      node.step(n1, appendEntries({ term: 1, leaderId: n1 }), 100);
      const during = node.step(n3, requestVote(2, n3, 0, 0, true), 249);
      assert.deepEqual(onlyMessage(during, 'RequestVoteReply'), voteReply(1, false, true));
      const after = node.step(n3, requestVote(2, n3, 0, 0, true), 250);
      assert.deepEqual(onlyMessage(after, 'RequestVoteReply'), voteReply(2, true, true));
      // A leader never grants a pre-vote.
      const { node: boss } = leader(n1, { persisted: persisted(1), preVote: true });
      const refused = boss.step(n3, requestVote(3, n3, 0, 0, true), 10_000);
      assert.equal(onlyMessage(refused, 'RequestVoteReply').voteGranted, false);
      assert.equal(boss.role, 'leader');
    });

    /** n1 leads, n3 is cut off for 3 s then comes back; returns the wire after another second. */
    function partitionedNodeRejoins(preVote: boolean): Wire {
      const wire = new Wire([n1, n2, n3], { preVote });
      wire.campaign(n1);
      wire.settle();
      wire.isolated.add(n3);
      for (let t = 10; t <= 3000; t += 10) {
        wire.tickAll(t);
        wire.settle();
      }
      wire.isolated.delete(n3);
      for (let t = 3010; t <= 4000; t += 10) {
        wire.tickAll(t);
        wire.settle();
      }
      return wire;
    }

    it('with PreVote a partitioned node does not grow its term, and rejoining does not disrupt the leader', () => {
      const wire = partitionedNodeRejoins(true);
      assert.deepEqual(wire.leaders(), [n1]);
      for (const id of wire.ids) assert.equal(wire.node(id).currentTerm, 1, id);
      assert.equal(wire.node(n3).role, 'follower');
      assert.equal(wire.node(n3).leaderId, n1);
    });

    it('without PreVote the same partitioned node inflates its term and deposes the leader when it rejoins', () => {
      const wire = partitionedNodeRejoins(false);
      assert.ok(wire.node(n3).currentTerm > 5);
      assert.ok(wire.node(n1).currentTerm > 5, 'the leader of term 1 was forced out');
    });
  });

  describe('CheckQuorum (dissertation §6.2)', () => {
    it('a leader that hears from no majority for an election timeout steps down; one that does stays', () => {
      const { node: alone } = leader(n1, { checkQuorum: true });
      for (let t = 50; t < 300; t += 50) alone.tick(t);
      alone.tick(299);
      assert.equal(alone.role, 'leader');
      alone.tick(300);
      assert.equal(alone.role, 'follower');
      assert.equal(alone.currentTerm, 1);
      assert.equal(alone.leaderId, null);

      const { node: backed } = leader(n1, { checkQuorum: true });
      for (let t = 50; t <= 1000; t += 50) {
        backed.tick(t);
        backed.step(n2, appendReply(1, true, 0), t);
      }
      assert.equal(backed.role, 'leader');
    });

    it('vote requests with a higher term are ignored during a leader lease, and honoured after it', () => {
      const node = makeNode(n2, { persisted: persisted(1), checkQuorum: true });
      node.step(n1, appendEntries({ term: 1, leaderId: n1 }), 100);
      const during = node.step(n3, requestVote(2, n3), 200);
      assert.equal(during.messages.length, 0);
      assert.equal(node.currentTerm, 1);
      assert.equal(node.leaderId, n1);
      const after = node.step(n3, requestVote(2, n3), 250);
      assert.deepEqual(onlyMessage(after, 'RequestVoteReply'), voteReply(2, true));
      assert.equal(node.currentTerm, 2);

      const { node: boss } = leader(n1, { checkQuorum: true });
      assert.equal(boss.step(n3, requestVote(9, n3), 5000).messages.length, 0);
      assert.equal(boss.role, 'leader');
      assert.equal(boss.currentTerm, 1);

      const plain = makeNode(n2, { persisted: persisted(1) });
      plain.step(n1, appendEntries({ term: 1, leaderId: n1 }), 100);
      plain.step(n3, requestVote(2, n3), 200);
      assert.equal(plain.currentTerm, 2, 'without checkQuorum there is no lease');
    });
  });
});
