import type { Handlers } from '../raft/context';
import { check, type NotebookCheck } from './autograder';
import { fakeContext } from './fake-context';

/**
 * Unit-level autograder checks of single election handlers on a fakeContext: each calls the student's handler
 * once on a small state and says, in Figure 2's words, what it should have done. For notebook cells:
 *
 *   await autograder('onRequestVote', requestVoteChecks(onRequestVote));
 */

function fail(message: string): never {
  throw new Error(message);
}

export function requestVoteChecks(onRequestVote: Handlers['onRequestVote']): NotebookCheck[] {
  return [
    check(2, 'vote.grant', 'grants a vote to an up-to-date candidate, persists votedFor before replying, resets the timer', () => {
      const ctx = fakeContext({ currentTerm: 3, log: [1, 2] });
      onRequestVote(ctx, 'S2', { type: 'RequestVote', term: 3, candidateId: 'S2', lastLogIndex: 2, lastLogTerm: 2 });
      const replies = ctx.sent('RequestVoteReply');
      if (replies.length !== 1 || replies[0]!.to !== 'S2') fail(`expected one RequestVoteReply to S2, sent ${JSON.stringify(ctx.sent())}`);
      if (!replies[0]!.message.voteGranted) fail('the vote was refused');
      if (ctx.votedFor !== 'S2') fail(`votedFor is ${JSON.stringify(ctx.votedFor)}, not S2`);
      if (ctx.sentBeforePersist().length > 0) fail('the reply went out before votedFor was persisted');
      if (ctx.count('resetElectionTimer') === 0) fail('the election timer was not reset after granting the vote');
    }, 'RequestVote receiver rule 2; persistent state is updated on stable storage before responding to RPCs; Rules for Followers: granting a vote resets the election timer'),
    check(1, 'vote.once', 'refuses a second candidate in the same term', () => {
      const ctx = fakeContext({ currentTerm: 3, votedFor: 'S3', log: [1] });
      onRequestVote(ctx, 'S2', { type: 'RequestVote', term: 3, candidateId: 'S2', lastLogIndex: 1, lastLogTerm: 1 });
      if (ctx.sent('RequestVoteReply')[0]?.message.voteGranted !== false) fail('granted a vote to S2 after voting for S3 in the same term');
      if (ctx.votedFor !== 'S3') fail(`votedFor changed to ${JSON.stringify(ctx.votedFor)}`);
    }, 'RequestVote receiver rule 2 (grant a vote only if votedFor is null or candidateId: one vote per term)'),
    check(1, 'vote.stale-term', 'refuses a candidate of an older term', () => {
      const ctx = fakeContext({ currentTerm: 5, log: [1] });
      onRequestVote(ctx, 'S2', { type: 'RequestVote', term: 4, candidateId: 'S2', lastLogIndex: 9, lastLogTerm: 4 });
      const reply = ctx.sent('RequestVoteReply')[0]?.message;
      if (reply?.voteGranted !== false) fail('granted a vote to a candidate of term 4 in term 5');
      if (reply.term !== 5) fail(`the reply carries term ${reply.term}, not currentTerm 5 (the candidate learns the newer term from it)`);
    }, 'RequestVote receiver rule 1 (reply false if term < currentTerm)'),
    check(1, 'vote.up-to-date', "refuses a candidate whose log is less up to date", () => {
      const ctx = fakeContext({ currentTerm: 3, log: [1, 2] });
      onRequestVote(ctx, 'S2', { type: 'RequestVote', term: 3, candidateId: 'S2', lastLogIndex: 5, lastLogTerm: 1 });
      if (ctx.sent('RequestVoteReply')[0]?.message.voteGranted !== false) fail("granted a vote to a candidate whose last log term (1) is older than ours (2)");
    }, "RequestVote receiver rule 2's up-to-date check (§5.4.1: compare last log terms first, then lengths)"),
  ];
}

export function requestVoteReplyChecks(onRequestVoteReply: Handlers['onRequestVoteReply']): NotebookCheck[] {
  return [
    check(2, 'votes.majority', 'becomes leader with a majority and initialises nextIndex and matchIndex', () => {
      const ctx = fakeContext({ role: 'candidate', currentTerm: 4, votedFor: 'S1', votes: ['S1'], log: [1, 3] }, { others: 'record' });
      onRequestVoteReply(ctx, 'S2', { type: 'RequestVoteReply', term: 4, voteGranted: true });
      if (ctx.role !== 'leader') fail(`with votes from S1 and S2 (2 of 3) the role is ${ctx.role}`);
      for (const peer of ['S2', 'S3']) {
        if (ctx.nextIndex.get(peer) !== 3) fail(`nextIndex[${peer}] is ${ctx.nextIndex.get(peer)}, not lastLogIndex + 1 = 3`);
        if (ctx.matchIndex.get(peer) !== 0) fail(`matchIndex[${peer}] is ${ctx.matchIndex.get(peer)}, not 0`);
      }
    }, 'Rules for Candidates (votes from a majority: become leader); Rules for Leaders (upon election: nextIndex = last log index + 1, matchIndex = 0, send heartbeats)'),
    check(1, 'votes.stale-term', 'does not count a granted vote of an earlier election', () => {
      const ctx = fakeContext({ role: 'candidate', currentTerm: 4, votedFor: 'S1', votes: ['S1'], log: [1] }, { others: 'record' });
      onRequestVoteReply(ctx, 'S2', { type: 'RequestVoteReply', term: 3, voteGranted: true });
      if (ctx.votes.has('S2') || ctx.role === 'leader') fail('a vote granted in term 3 was counted in the election of term 4');
    }, 'Rules for Candidates: count only votes of its current term (a reply of an earlier term is ignored)'),
    check(1, 'votes.refused', 'does not count a refused vote', () => {
      const ctx = fakeContext({ role: 'candidate', currentTerm: 4, votedFor: 'S1', votes: ['S1'], log: [1] }, { others: 'record' });
      onRequestVoteReply(ctx, 'S2', { type: 'RequestVoteReply', term: 4, voteGranted: false });
      if (ctx.votes.has('S2') || ctx.role === 'leader') fail('a refused vote was counted');
    }, 'Rules for Candidates: only granted votes count towards a majority'),
  ];
}
