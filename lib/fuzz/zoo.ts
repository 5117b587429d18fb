import type { Handlers, NodeContext } from '../raft/context';
import { figure2Handlers } from '../raft/handlers';
import { advanceCommitIndex, type RaftRules } from '../raft/rules';
import type { AppendEntries, Message, NodeId } from '../raft/types';
import type { ClusterBugs } from '../sim/cluster';

/**
 * The bug zoo: known-broken variants of Figure 2, each a small replacement plugged into the core from outside
 * (a rule or a handler, exactly as a student's code is) or a documented bug of the simulator's driver. The
 * fuzzer must catch every one; the notebooks' bug zoo and the explorer use the same variants.
 */
export interface ZooVariant {
  readonly name: string;
  readonly description: string;
  readonly rules?: Partial<RaftRules>;
  readonly handlers?: Partial<Handlers>;
  readonly bugs?: ClusterBugs;
}

/** onHigherTerm without `votedFor = null`: the vote of the old term is carried into the new one. */
function keepVoteOnHigherTerm(ctx: NodeContext, term: number, from: NodeId, _message: Message): void {
  ctx.currentTerm = term;
  ctx.persist();
  ctx.leaderId = null;
  if (ctx.role !== 'follower') ctx.becomeFollower(`saw term ${term} from ${from}`);
}

/**
 * onAppendEntries with receiver rule 3 broken: a conflicting entry is overwritten in place and the entries after
 * it are kept, instead of deleting the existing entry and all that follow it.
 */
function keepConflictingSuffix(ctx: NodeContext, from: NodeId, request: AppendEntries): void {
  const accepted = request.term >= ctx.currentTerm && ctx.rules.checkConsistency(ctx.log, request.prevLogIndex, request.prevLogTerm).ok;
  if (!accepted || request.entries.length === 0) return figure2Handlers.onAppendEntries(ctx, from, request);
  const log = ctx.log;
  request.entries.forEach((entry, i) => {
    const index = request.prevLogIndex + 1 + i;
    const existing = log.termAt(index);
    if (existing === undefined) {
      log.append(entry);
    } else if (existing !== entry.term) {
      const suffix = log.entriesFrom(index + 1); // the bug: these should be deleted
      log.truncateFrom(index);
      log.append(entry);
      for (const e of suffix) log.append(e);
    }
  });
  // The rest (timer, commit index, reply) is the reference handler's, for an AppendEntries now already in the log.
  const last = request.prevLogIndex + request.entries.length;
  figure2Handlers.onAppendEntries(ctx, from, { ...request, prevLogIndex: last, prevLogTerm: request.entries[request.entries.length - 1]!.term, entries: [] });
}

export const zooVariants: readonly ZooVariant[] = Object.freeze([
  {
    name: 'commit-earlier-term',
    description: "a leader commits an earlier term's entry by counting replicas (the paper's Figure 8)",
    rules: {
      // Figure 2's rule with the log[N].term == currentTerm condition taken out.
      advanceCommitIndex: (ctx) =>
        advanceCommitIndex({ ...ctx, log: { lastIndex: ctx.log.lastIndex, termAt: () => ctx.currentTerm } }),
    },
  },
  {
    name: 'keep-vote-on-new-term',
    description: 'votedFor is not cleared when a node adopts a higher term',
    handlers: { onHigherTerm: keepVoteOnHigherTerm },
  },
  {
    name: 'vote-twice',
    description: "a node grants a vote to any candidate of its term, whoever it voted for already (raftos's bug)",
    rules: { grantVote: (ctx) => ctx.request.term >= ctx.currentTerm && ctx.candidateLogUpToDate },
  },
  {
    name: 'answer-before-persisting',
    description: 'votes and acknowledgements go out before term, vote and log reach storage (a 20 ms write a crash can cut short)',
    bugs: { answerBeforePersistingMs: 20 },
  },
  {
    name: 'no-up-to-date-check',
    description: "votes are granted without checking that the candidate's log is at least as up to date (§5.4.1)",
    rules: { logIsUpToDate: () => true },
  },
  {
    name: 'keep-conflicting-suffix',
    description: 'a follower overwrites a conflicting entry but keeps the entries after it instead of deleting them',
    handlers: { onAppendEntries: keepConflictingSuffix },
  },
] satisfies ZooVariant[]);

export function zooVariant(name: string): ZooVariant {
  const v = zooVariants.find((z) => z.name === name);
  if (!v) throw new RangeError(`no bug-zoo variant ${JSON.stringify(name)} (known: ${zooVariants.map((z) => z.name).join(', ')})`);
  return v;
}
