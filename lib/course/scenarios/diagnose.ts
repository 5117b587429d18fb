import type { Cluster } from '../../sim/cluster';
import type { ScenarioFailure } from './run';

/**
 * Which rule of Figure 2 a failure points at, in Figure 2's words: from the first broken safety property, the
 * rule a HandlerError names, or the scenario's failing check (with a look at the cluster when it stopped).
 * Never the code of the answer.
 */
export interface Diagnosis {
  /** The rule(s) to look at, most likely first. */
  readonly rule: string;
  /** Why those: what the failure means. */
  readonly why: string;
}

const rules = {
  voteOnce: 'RequestVote receiver rule 2 (grant a vote only if votedFor is null or candidateId: one vote per term)',
  votedForOnNewTerm: 'Rules for All Servers (if a message has term T > currentTerm: set currentTerm = T, votedFor = null, convert to follower)',
  persistVote: 'persistent state (currentTerm, votedFor, log[]) is updated on stable storage before responding to RPCs',
  upToDate: "RequestVote receiver rule 2's up-to-date check (grant only if the candidate's log is at least as up-to-date as the receiver's, §5.4.1)",
  commitRule: 'Rules for Servers, Leaders: commit N only if a majority of matchIndex[i] >= N and log[N].term == currentTerm (Figure 8, §5.4.2)',
  consistency: 'AppendEntries receiver rule 2 (reply false if the log has no entry at prevLogIndex whose term matches prevLogTerm)',
  truncate: 'AppendEntries receiver rule 3 (if an existing entry conflicts with a new one, delete the existing entry and all that follow it)',
  leaderCommit: 'AppendEntries receiver rule 5 (if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry))',
  apply: 'Rules for All Servers (if commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to the state machine)',
  sender: 'Rules for Leaders, AppendEntries sender (entries from nextIndex, prevLogIndex = nextIndex - 1, prevLogTerm = log[prevLogIndex].term)',
  backtrack: 'Rules for Leaders (if AppendEntries fails because of log inconsistency: decrement nextIndex and retry)',
  matchIndex: 'Rules for Leaders (if successful: update nextIndex and matchIndex for the follower)',
  electionTimeout: 'Rules for Followers (if the election timeout elapses without hearing from the current leader or granting a vote: convert to candidate)',
  candidate: 'Rules for Candidates (on conversion: increment currentTerm, vote for self, reset the election timer, send RequestVote to all; votes from a majority: become leader)',
  resetTimer: 'Rules for Followers: only AppendEntries from the current leader, or granting a vote, resets the election timer',
  heartbeat: 'Rules for Leaders (upon election send heartbeats, and repeat them during idle periods to prevent election timeouts)',
  stepDown: 'Rules for All Servers (if a message has term T > currentTerm: set currentTerm = T, convert to follower); Candidates: AppendEntries from a new leader: convert to follower',
  replyTerm: 'Rules for Candidates: count only votes of its current term (a reply of an earlier term is ignored)',
  appendTerm: 'AppendEntries receiver rule 1 (reply false if term < currentTerm)',
} as const;

/**
 * `context.restore`: the run's servers restarted through the student's restore (notebook 03), so a broken
 * property most likely means a server came back with less than it had saved.
 */
export function diagnose(failure: ScenarioFailure, cluster: Cluster | null, context: { readonly restore?: boolean } = {}): Diagnosis {
  if (failure.kind === 'assertion' && failure.what === 'restart') {
    return {
      rule: "Figure 2's persistent state (currentTerm, votedFor, log[]) survives a crash: restore reads back exactly what the server saved (.storage: currentTerm and votedFor; .log: every entry, term and command)",
      why: `a server came back with other persistent state than it saved: ${failure.detail}`,
    };
  }
  const d = diagnoseRun(failure, cluster);
  if (!context.restore || failure.kind === 'handler' || failure.kind === 'error') return d;
  return {
    rule: `restart: a server comes back with exactly the persistent state it saved (currentTerm, votedFor, log[]), read from its .storage and .log; ${d.rule}`,
    why: `every restart went through restore: ${d.why}`,
  };
}

function diagnoseRun(failure: ScenarioFailure, cluster: Cluster | null): Diagnosis {
  switch (failure.kind) {
    case 'handler': {
      if (failure.what === 'restore') {
        return { rule: failure.rule ?? 'restore', why: 'a server could not restart: restore threw, or returned something that is not { currentTerm, votedFor, log }' };
      }
      const rule = failure.rule ?? 'the handler contract';
      // The core names the contract; say which of Figure 2's rules keeps it.
      const also =
        failure.what === 'onAppendEntries' && /commitIndex/.test(rule) ? `; ${rules.leaderCommit}`
        : failure.what === 'applyCommitted' ? `; ${rules.apply}`
        : '';
      return { rule: rule + also, why: `the core stopped ${failure.what}: it broke the rule above` };
    }
    case 'safety':
      return diagnoseSafety(failure, cluster);
    case 'assertion':
      return diagnoseAssertion(failure, cluster);
    case 'error':
      return { rule: 'the handler contract', why: `the run stopped with ${failure.detail}` };
  }
}

function diagnoseSafety(failure: ScenarioFailure, cluster: Cluster | null): Diagnosis {
  const d = failure.detail;
  const twin = twoLeadersOfOneTerm(cluster);
  if (twin && failure.what !== 'Election Safety') {
    return {
      rule: `${rules.stepDown}; ${rules.voteOnce}`,
      why: `${twin} lead the same term at once: a leader that learnt of a higher term kept leading in it`,
    };
  }
  switch (failure.what) {
    case 'Election Safety':
      return {
        rule: `${rules.voteOnce}; ${rules.votedForOnNewTerm}; ${rules.persistVote}; ${rules.replyTerm}`,
        why: 'two leaders in one term: some server voted twice in a term (or forgot its vote across a crash), or a candidate counted votes it did not get',
      };
    case 'Log Matching':
      return {
        rule: `${rules.truncate}; ${rules.consistency}; ${rules.sender}; ${rules.appendTerm}`,
        why: 'two logs hold the same index and term with different entries or different prefixes: a follower kept entries it should have deleted, or accepted entries that do not follow its log',
      };
    case 'Leader Completeness': {
      const earlier = committedEarlierTerm(d, cluster);
      const order = earlier
        ? [rules.commitRule, rules.upToDate, rules.persistVote, rules.appendTerm]
        : [rules.upToDate, rules.commitRule, rules.persistVote, rules.appendTerm];
      return {
        rule: order.join('; '),
        why: earlier
          ? "a committed entry was lost by a later leader: it was an entry of an earlier term counted as committed by replicas (Figure 8)"
          : 'a server became leader without an entry already committed: a vote went to a candidate with a less up-to-date log, an acknowledged entry was not on stable storage, or a stale leader overwrote a log',
      };
    }
    case 'State Machine Safety':
      if (/beyond its last log index/.test(d)) return { rule: rules.leaderCommit, why: 'a server set commitIndex past the end of its log' };
      if (/applied index \d+ that is not in its log|applied .* but .* applied a different entry/.test(d)) {
        return { rule: `${rules.apply}; ${rules.leaderCommit}; ${rules.truncate}`, why: 'two servers applied different commands at the same index' };
      }
      return {
        rule: `${rules.leaderCommit}; ${rules.truncate}; ${rules.commitRule}; ${rules.appendTerm}`,
        why: 'a server committed an index where its log differs from what was committed there: its commitIndex covered entries the leader never sent it',
      };
    case 'Leader Append-Only':
      return {
        rule: `a leader never overwrites or deletes entries in its log (Figure 3, Leader Append-Only); ${rules.stepDown}`,
        why: 'a leader changed its own log: a leader appends new entries only; it takes AppendEntries only after stepping down',
      };
    default:
      return { rule: 'Figure 3', why: d };
  }
}

/** Two live servers that both lead one term (the monitor checks elections; this catches one that never stepped down). */
function twoLeadersOfOneTerm(cluster: Cluster | null): string | null {
  if (!cluster) return null;
  const byTerm = new Map<number, string[]>();
  for (const s of cluster.statuses()) if (s.role === 'leader') byTerm.set(s.term, [...(byTerm.get(s.term) ?? []), s.id]);
  for (const ids of byTerm.values()) if (ids.length > 1) return ids.join(' and ');
  return null;
}

/** "committed up to index K (committed by X in term T)": was log[K] of an earlier term than T? */
function committedEarlierTerm(detail: string, cluster: Cluster | null): boolean {
  const m = /committed up to index (\d+) \(committed by (\S+) in term (\d+)\)/.exec(detail);
  if (!m || !cluster) return false;
  const index = Number(m[1]);
  const term = Number(m[3]);
  for (const s of cluster.statuses()) {
    if (s.id !== m[2]) continue;
    const entry = s.log[index - 1];
    return entry !== undefined && entry.term < term;
  }
  return false;
}

function diagnoseAssertion(failure: ScenarioFailure, cluster: Cluster | null): Diagnosis {
  switch (failure.what) {
    case 'no-leader':
      return {
        rule: `${rules.electionTimeout}; ${rules.candidate}; ${rules.voteOnce}; ${rules.votedForOnNewTerm}; ${rules.heartbeat}`,
        why: 'no leader was elected with a majority of servers up: candidates do not start elections, do not get votes, or do not turn their votes into leadership',
      };
    case 'two-leaders':
      return { rule: `${rules.voteOnce}; ${rules.votedForOnNewTerm}`, why: 'two servers lead the same term' };
    case 'unexpected-leader':
      return {
        rule: `${rules.stepDown}; ${rules.candidate}`,
        why: 'a server leads when it should not: an old leader that did not step down on a higher term, or a leader elected without a majority of votes',
      };
    case 'terms':
      return {
        rule: `${rules.resetTimer}; ${rules.heartbeat}`,
        why: 'terms keep changing with no failures: followers time out although a leader is sending heartbeats',
      };
    case 'committed-without-majority':
      return {
        rule: `${rules.commitRule}; ${rules.matchIndex}`,
        why: 'an entry was committed although its leader could reach no majority: count matchIndex from successful replies only, the leader once',
      };
    case 'storm':
      return {
        rule: `${rules.heartbeat}; ${rules.backtrack}`,
        why: 'the servers send far too many messages: RPCs go out on a timeout, to answer a request, or to retry after a refusal, never in answer to a reply that succeeded',
      };
    case 'no-agreement':
      return diagnoseNoAgreement(cluster);
    default:
      return { rule: 'onPropose: a leader appends the command to its log at lastIndex + 1 and returns that index', why: failure.detail };
  }
}

/** A client's command did not commit everywhere: look at the cluster to say which step of replication stalled. */
function diagnoseNoAgreement(cluster: Cluster | null): Diagnosis {
  const generic: Diagnosis = {
    rule: `${rules.sender}; ${rules.consistency}; ${rules.backtrack}; ${rules.commitRule}; ${rules.leaderCommit}; ${rules.apply}`,
    why: "a client's command was not agreed on",
  };
  if (!cluster) return generic;
  const statuses = cluster.statuses().filter((s) => s.alive);
  const leaderId = cluster.leader();
  const leader = statuses.find((s) => s.id === leaderId);
  if (!leader) {
    return {
      rule: `${rules.electionTimeout}; ${rules.candidate}; ${rules.votedForOnNewTerm}; ${rules.stepDown}`,
      why: 'no leader to take the command: elections do not succeed',
    };
  }
  const core = cluster.raft(leader.id);
  const behind = statuses.filter((s) => s.id !== leader.id && s.term === leader.term && s.lastIndex < leader.lastIndex);
  if (leader.commitIndex > leader.lastApplied || statuses.some((s) => s.commitIndex > s.lastApplied)) {
    return { rule: rules.apply, why: 'entries are committed but not applied' };
  }
  if (behind.length > 0 && core) {
    const stuck = behind.find((s) => {
      const next = core.nextIndexOf(s.id);
      return next !== undefined && next > s.lastIndex + 1;
    });
    if (stuck) {
      return {
        rule: `${rules.backtrack}; ${rules.consistency}; ${rules.sender}`,
        why: `${stuck.id} is missing entries (log ends at ${stuck.lastIndex}) but the leader's nextIndex for it is ${core.nextIndexOf(stuck.id)}: the leader does not back up`,
      };
    }
    return { rule: `${rules.sender}; ${rules.consistency}; ${rules.truncate}`, why: `followers' logs stay behind the leader's (${behind.map((s) => `${s.id} at ${s.lastIndex}`).join(', ')} of ${leader.lastIndex})` };
  }
  const followers = statuses.filter((s) => s.id !== leader.id);
  if (followers.length > 0 && followers.every((s) => s.lastIndex >= leader.lastIndex) && leader.commitIndex < leader.lastIndex) {
    return {
      rule: `${rules.matchIndex}; ${rules.commitRule}`,
      why: `the followers hold the leader's entries but the leader's commitIndex stays at ${leader.commitIndex} of ${leader.lastIndex}`,
    };
  }
  if (followers.some((s) => s.commitIndex < leader.commitIndex && s.lastIndex >= leader.commitIndex)) {
    return { rule: rules.leaderCommit, why: `the leader committed ${leader.commitIndex} but followers do not advance their commitIndex` };
  }
  return generic;
}
