import { advanceCommitIndex, type RaftRules } from '../raft/rules';
import type { ClusterBugs } from '../sim/cluster';

/**
 * The bug zoo: known-broken variants of Figure 2, each a small change plugged into the core (a replaced rule)
 * or switched on as a documented bug of the core or the driver. The fuzzer must catch every one; the notebooks'
 * bug zoo uses the same variants.
 */
export interface ZooVariant {
  readonly name: string;
  readonly description: string;
  readonly rules?: Partial<RaftRules>;
  readonly bugs?: ClusterBugs;
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
    bugs: { keepVoteOnNewTerm: true },
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
    bugs: { keepConflictingSuffix: true },
  },
]);

export function zooVariant(name: string): ZooVariant {
  const v = zooVariants.find((z) => z.name === name);
  if (!v) throw new RangeError(`no bug-zoo variant ${JSON.stringify(name)} (known: ${zooVariants.map((z) => z.name).join(', ')})`);
  return v;
}
