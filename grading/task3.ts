import { parseLogText, parseSnapshotText, parseStateMachineText, parseStorageText, RaftFileError } from '../lib/net/raftos-files';
import { SafetyMonitor, SafetyViolation } from '../lib/raft/safety';
import { KeyValueStateMachine } from '../lib/raft/state-machine';
import type { HardState, LogEntry, Snapshot } from '../lib/raft/types';
import { fail, partial, pass, taskResult, type Check, type TaskResult } from './checks';
import { configOf } from '../lib/raft/membership';
import { baseName, inferCluster, nodeNumbers, nodeOf, NODE_NUMBERS, show, splitLines, textOf, type Cluster, type SubmissionFiles } from './lab-files';

/**
 * Task 3 (replication) as the manual evaluates it, reasoned with Raft: the three nodes' raftos files are
 * checked against the paper's Figure 3 with the same SafetyMonitor the simulator runs, and the writes the
 * task files claim are looked for in the logs.
 */

export interface Task3Options {
  /** Port of node 1 (default: from the raftos files' names, else 8000). */
  readonly basePort?: number;
}

type Task3Line =
  | { readonly kind: 'leader'; readonly leader: string | null; readonly line: number }
  | { readonly kind: 'write'; readonly node: number; readonly line: number }
  | { readonly kind: 'done-id' | 'done'; readonly line: number };

interface Claim {
  readonly node: number;
  /** Line of "done writing data_id". */
  readonly line: number;
}

interface NodeState {
  readonly node: number;
  readonly address: string;
  log: readonly LogEntry[] | null;
  storage: HardState | null;
  stateMachine: Record<string, unknown> | null;
}

const KINDS = [
  ['log', 'log'],
  ['storage', 'storage'],
  ['stateMachine', 'state_machine'],
] as const;

export function checkTask3(files: SubmissionFiles, options: Task3Options = {}): TaskResult {
  const cluster = inferCluster(files, options.basePort);
  const read = readSubmission(files, cluster);
  const checks: Check[] = [filesCheck(read), parseCheck(read)];
  if (read.present === 0) {
    for (const [id, pts] of [['t3.log-matching', 2], ['t3.state-machine', 1], ['t3.storage', 1], ['t3.writes', 2], ['t3.two-leaders', 1], ['t3.story', 1]] as const) {
      checks.push(fail(id, pts, 'cannot check: none of the Task 3 files is in the submission'));
    }
    return taskResult(checks);
  }
  const ev = evidence(cluster, read.nodes);
  checks.push(logMatchingCheck(ev));
  checks.push(stateMachineCheck(ev));
  checks.push(storageCheck(ev));
  const leaders = leadersAndCommits(ev);
  checks.push(writesCheck(ev, read.claims, leaders));
  checks.push(twoLeadersCheck(ev, leaders));
  checks.push(storyCheck(ev, read));
  return taskResult(checks);
}

/** What was read from the submission's twelve files, and what went wrong reading them. */
interface ReadFiles {
  readonly nodes: readonly NodeState[];
  readonly taskLines: ReadonlyMap<number, readonly Task3Line[]>;
  /** Finished writes the task files claim. */
  readonly claims: readonly Claim[];
  /** Problems of the task files on their own (t3.story). */
  readonly story: readonly string[];
  readonly missing: readonly string[];
  readonly broken: readonly string[];
  readonly present: number;
  readonly parsedOk: number;
  /** Four files per node: twelve for the lab's three nodes. */
  readonly expected: number;
}

function readSubmission(files: SubmissionFiles, cluster: Cluster): ReadFiles {
  const nodes: NodeState[] = handedIn(files, cluster).map((node) => ({ node, address: cluster.addresses[node - 1]!, log: null, storage: null, stateMachine: null }));
  /** Nodes whose .log starts after a snapshot (log compaction): their log is completed below. */
  const compacted = new Map<NodeState, { index: number; term: number }>();
  const missing: string[] = [];
  const broken: string[] = [];
  let present = 0;
  let parsedOk = 0;
  for (const n of nodes) {
    for (const [field, ext] of KINDS) {
      const name = `${baseName(n.address)}.${ext}`;
      const text = textOf(files, name);
      if (text === null) {
        missing.push(name);
        continue;
      }
      present++;
      if (!text.ok) {
        broken.push(`${name}${text.line === null ? '' : ` line ${text.line}`} ${text.problem}`);
        continue;
      }
      try {
        if (field === 'log') {
          const parsed = parseLogText(text.text, name);
          n.log = parsed.entries;
          if (parsed.snapshot) compacted.set(n, parsed.snapshot);
        }
        else if (field === 'storage') n.storage = parseStorageText(text.text, name);
        else n.stateMachine = parseStateMachineText(text.text, name);
        parsedOk++;
      } catch (error) {
        if (!(error instanceof RaftFileError)) throw error;
        broken.push(`${error.message}: submit the file exactly as raftos wrote it`);
      }
    }
  }
  for (const [n, cut] of compacted) {
    const hasSnapshot = textOf(files, `${baseName(n.address)}.snapshot`) !== null;
    if (hasSnapshot) present++;
    const problem = completeCompactedLog(files, n, cut, nodes.filter((o) => !compacted.has(o)));
    if (problem === null) {
      parsedOk++;
    } else {
      // The log cannot be read whole: it and its snapshot count as unread.
      n.log = null;
      if (!hasSnapshot) parsedOk--;
      broken.push(problem);
    }
  }
  const claims: Claim[] = [];
  const taskLines = new Map<number, Task3Line[]>();
  const story: string[] = [];
  for (const { node } of nodes) {
    const name = `task3_node${node}.txt`;
    const text = textOf(files, name);
    if (text === null) {
      missing.push(name);
      continue;
    }
    present++;
    if (!text.ok) {
      broken.push(`${name}${text.line === null ? '' : ` line ${text.line}`} ${text.problem}`);
      continue;
    }
    const parsed = parseTask3File(splitLines(text.text), name);
    if (typeof parsed === 'string') {
      broken.push(parsed);
      continue;
    }
    parsedOk++;
    taskLines.set(node, parsed);
    story.push(...taskFileProblems(cluster, node, name, parsed, claims));
  }
  return { nodes, taskLines, claims, story, missing, broken, present, parsedOk, expected: 4 * nodes.length };
}

/** Nodes 1-3, and those added to the cluster later (npm run member -- add) whose files are in the submission. */
function handedIn(files: SubmissionFiles, cluster: Cluster): number[] {
  return nodeNumbers(cluster).filter((n) => n <= NODE_NUMBERS.length
    || [...KINDS.map(([, ext]) => `${baseName(cluster.addresses[n - 1]!)}.${ext}`), `task3_node${n}.txt`].some((name) => files.has(name)));
}

/** What one task file gets wrong on its own; its finished writes are added to `claims`. */
function taskFileProblems(cluster: Cluster, node: number, name: string, parsed: readonly Task3Line[], claims: Claim[]): string[] {
  const story: string[] = [];
  for (let i = 0; i < parsed.length; i++) {
    const l = parsed[i]!;
    if (l.kind === 'write' && l.node !== node) {
      story.push(`${name} line ${l.line} says "LEADER -> ${l.node}", but node ${node}'s program writes its own NODE_ID ${node}: check NODE_ID in ${node}.py`);
    }
    if (l.kind === 'leader' && l.leader !== null && nodeOf(cluster, l.leader) === null) {
      story.push(`${name} line ${l.line}: ${l.leader} is not a node of the cluster ${cluster.addresses.join(', ')}`);
    }
    if (l.kind === 'done-id') {
      const prev = parsed[i - 1];
      if (prev?.kind !== 'write') story.push(`${name} line ${l.line}: "done writing data_id" must follow "LEADER -> ${node}" (the program writes them around data_id.set())`);
      else claims.push({ node, line: l.line });
    }
    if (l.kind === 'done' && parsed[i - 1]?.kind !== 'done-id') story.push(`${name} line ${l.line}: "done writing data" must follow "done writing data_id"`);
  }
  return story;
}

// ---- t3.files and t3.parse ----

function filesCheck(read: ReadFiles): Check {
  const numbers = read.nodes.map((n) => n.node);
  return partial('t3.files', 1, Math.min(read.present, read.expected), read.expected, read.missing.length === 0
    ? `all ${read.expected === 12 ? 'twelve' : read.expected} files are present: each node's .log, .storage and .state_machine, and task3_node${numbers[0]}-${numbers.at(-1)}.txt`
    : `missing: ${read.missing.join(', ')}. Submit every file the lab produced (raftos writes .state_machine once a node applies an entry; remove old 127.0.0.1_* files before running Task 3, then keep the new ones)`);
}

function parseCheck(read: ReadFiles): Check {
  return partial('t3.parse', 1, read.parsedOk, read.present, read.broken.length === 0
    ? (read.present === 0 ? 'no file to read' : 'every file present parses')
    : read.broken.join('\n'));
}

/**
 * What the checks after t3.parse share. The SafetyMonitor is fed in the checks' order (logs, then applies,
 * then leaders and commits), as the simulator feeds it, so each check sees what the earlier ones stored.
 */
interface Evidence {
  readonly cluster: Cluster;
  readonly nodes: readonly NodeState[];
  readonly withLog: readonly (NodeState & { log: readonly LogEntry[] })[];
  /** The voters of the configuration in effect at `index` (nodes 1-3 until a configuration entry changes them). */
  votersAt(index: number): readonly string[];
  /** True when `addresses` hold a majority of the voters at `index`, or of a configuration after it (single-server changes). */
  isMajority(addresses: readonly string[], index: number): boolean;
  /** Held by a majority: committed. */
  committed(index: number, term: number): boolean;
  readonly monitor: SafetyMonitor;
  /** Nodes whose log the monitor could not take whole (it stopped at a violation). */
  readonly untracked: Set<number>;
  /** Node -> the prefix of its log its .state_machine is. */
  readonly appliedUpTo: ReadonlyMap<number, number>;
  /** The writes the logs hold, by their author (data_id = NODE_ID), in term order. */
  readonly authored: readonly Authored[];
  /** How many logs hold exactly this entry (same index and term). */
  holders(index: number, term: number): number;
  describe(n: number): string;
}

interface Authored {
  readonly node: number;
  readonly term: number;
  readonly index: number;
}

function evidence(cluster: Cluster, nodes: readonly NodeState[]): Evidence {
  const withLog = nodes.filter((n): n is NodeState & { log: readonly LogEntry[] } => n.log !== null);
  const appliedUpTo = new Map<number, number>();
  for (const n of nodes) {
    if (n.log === null || n.stateMachine === null) continue;
    const k = matchingPrefix(n.log, n.stateMachine);
    if (k !== null) appliedUpTo.set(n.node, k);
  }
  const configs = configurations(cluster, withLog);
  const votersAt = (index: number) => [...configs].reverse().find((c) => c.index <= index)!.voters;
  const isMajority = (addresses: readonly string[], index: number) =>
    [votersAt(index), ...configs.filter((c) => c.index > index).map((c) => c.voters)]
      .some((voters) => addresses.filter((a) => voters.includes(a)).length >= Math.floor(voters.length / 2) + 1);
  const holding = (index: number, term: number) => withLog.filter((n) => n.log[index - 1]?.term === term).map((n) => n.address);
  return {
    cluster,
    nodes,
    withLog,
    votersAt,
    isMajority,
    committed: (index, term) => isMajority(holding(index, term), index),
    monitor: new SafetyMonitor(),
    untracked: new Set<number>(),
    appliedUpTo,
    authored: authoredWrites(withLog),
    holders: (index, term) => withLog.filter((n) => n.log[index - 1]?.term === term).length,
    describe: (n) => `node ${n} (${cluster.addresses[n - 1]})`,
  };
}

/** The manual's program writes data_id = its NODE_ID, so {"data_id": n} in term t says node n led term t. */
function authoredWrites(withLog: Evidence['withLog']): Authored[] {
  const authored: Authored[] = [];
  const numbers = withLog.map((n) => n.node);
  const seenEntry = new Set<string>();
  for (const n of withLog) {
    n.log.forEach((e, i) => {
      const author = authorOf(e, numbers);
      const key = `${i + 1}:${e.term}:${author}`;
      if (author === null || seenEntry.has(key)) return;
      seenEntry.add(key);
      authored.push({ node: author, term: e.term, index: i + 1 });
    });
  }
  return authored.sort((a, b) => a.term - b.term || a.index - b.index);
}

// ---- t3.log-matching: Figure 3's Log Matching via the SafetyMonitor; divergent suffixes explained ----

function logMatchingCheck(ev: Evidence): Check {
  const matching: string[] = [];
  for (const n of ev.withLog) {
    try {
      ev.monitor.onLogWrite(n.address, 1, n.log, false);
    } catch (error) {
      if (!(error instanceof SafetyViolation)) throw error;
      ev.untracked.add(n.node);
      matching.push(`${error.detail}: two logs with an entry of the same index and term must be identical up to it (Log Matching); entries come only from the leader of that term`);
    }
  }
  const notes: string[] = [];
  const maxLen = Math.max(0, ...ev.withLog.map((n) => n.log.length));
  for (let i = 1; i <= maxLen; i++) {
    const terms = new Map<number, string[]>();
    for (const n of ev.withLog) {
      const e = n.log[i - 1];
      if (e) terms.set(e.term, [...(terms.get(e.term) ?? []), n.address]);
    }
    if (terms.size < 2) continue;
    const minority = [...terms].filter(([, who]) => !ev.isMajority(who, i));
    const committedElsewhere = [...terms].some(([, who]) => ev.isMajority(who, i));
    const used = minority.flatMap(([term, who]) => who.filter((a) => (ev.appliedUpTo.get(nodeOf(ev.cluster, a)!) ?? 0) >= i).map((a) => `${a} (term ${term})`));
    const described = [...terms].map(([term, who]) => `${who.join(' and ')} term ${term}`).join(', ');
    if (used.length > 0) {
      matching.push(`logs conflict at index ${i} (${described}) and ${used.join(', ')} applied its entry there: only an entry stored on a majority can be committed and applied`);
    } else {
      notes.push(`index ${i} differs (${described}); allowed: ${committedElsewhere ? 'the minority entry' : 'no entry there'} was never committed, and Raft overwrites such entries when the node next hears from a leader`);
    }
  }
  return matching.length === 0
    ? pass('t3.log-matching', 2, `the logs agree (a shorter log is a prefix of a longer one)${notes.length > 0 ? `\nNote: ${notes.join('\n')}` : ''}`)
    : fail('t3.log-matching', 2, matching.join('\n'));
}

// ---- t3.state-machine: each .state_machine is its log's prefix applied; applied entries are committed ----

function stateMachineCheck(ev: Evidence): Check {
  const sm: string[] = [];
  let smOk = 0;
  let smTotal = 0;
  for (const n of ev.nodes) {
    if (n.stateMachine === null || n.log === null) continue;
    smTotal++;
    const file = `${baseName(n.address)}.state_machine`;
    const k = ev.appliedUpTo.get(n.node);
    if (k === undefined) {
      sm.push(`${file} holds ${JSON.stringify(n.stateMachine)}, which is not the result of applying any prefix of ${baseName(n.address)}.log (a state machine applies log entries in order, from index 1)`);
      continue;
    }
    let good = true;
    for (let i = 1; i <= k && !ev.untracked.has(n.node); i++) {
      const e = n.log[i - 1]!;
      try {
        ev.monitor.onApply(n.address, i, e);
      } catch (error) {
        if (!(error instanceof SafetyViolation)) throw error;
        sm.push(`${error.detail} (State Machine Safety)`);
        good = false;
        break;
      }
    }
    if (good && k > 0 && !ev.committed(k, n.log[k - 1]!.term)) {
      sm.push(`${file} includes index ${k} (term ${n.log[k - 1]!.term}), which only ${ev.holders(k, n.log[k - 1]!.term)} of ${ev.votersAt(k).length} logs hold: an entry is applied only once committed, i.e. stored on a majority`);
      good = false;
    }
    if (good) smOk++;
  }
  return smTotal === 0
    ? fail('t3.state-machine', 1, 'cannot check: no node has both a readable .log and .state_machine')
    : partial('t3.state-machine', 1, smOk, smTotal, sm.length === 0
      ? `each .state_machine equals its log's first entries applied in order (${ev.nodes.filter((n) => ev.appliedUpTo.has(n.node)).map((n) => `${n.address}: ${ev.appliedUpTo.get(n.node)}`).join(', ')})`
      : sm.join('\n'));
}

// ---- t3.storage: current term >= last log term; voted_for a member or null ----

function storageCheck(ev: Evidence): Check {
  const st: string[] = [];
  let stOk = 0;
  let stTotal = 0;
  for (const n of ev.nodes) {
    if (n.storage === null) continue;
    stTotal++;
    const file = `${baseName(n.address)}.storage`;
    const bad: string[] = [];
    const last = n.log && n.log.length > 0 ? n.log[n.log.length - 1]!.term : null;
    if (last !== null && n.storage.currentTerm < last) {
      bad.push(`${file} has term ${n.storage.currentTerm}, below term ${last} of the last entry of its log: a node adopts a term before it stores entries of that term, and its term never goes down`);
    }
    if (n.storage.votedFor !== null && nodeOf(ev.cluster, n.storage.votedFor) === null) {
      bad.push(`${file} has voted_for ${JSON.stringify(n.storage.votedFor)}, which is not a node of the cluster (${ev.cluster.addresses.join(', ')}) nor null`);
    }
    if (bad.length === 0) stOk++;
    st.push(...bad);
  }
  return stTotal === 0
    ? fail('t3.storage', 1, 'cannot check: no readable .storage file')
    : partial('t3.storage', 1, stOk, stTotal, st.length === 0 ? 'each .storage term is at least its last log term, and voted_for is a node of the cluster or null' : st.join('\n'));
}

// ---- t3.writes: claimed writes are committed in the logs, one leader per term ----

interface LeaderFindings {
  /** Terms in which two nodes wrote. */
  readonly termViolations: ReadonlySet<number>;
  /** Election Safety, Leader Completeness and commit violations the writes show. */
  readonly problems: readonly string[];
}

/** Each write's author led its term: fed to the monitor as a leader, and its committed writes as commits. */
function leadersAndCommits(ev: Evidence): LeaderFindings {
  const problems: string[] = [];
  const termViolations = new Set<number>();
  for (const a of ev.authored) {
    try {
      ev.monitor.onLeader(ev.cluster.addresses[a.node - 1]!, a.term);
    } catch (error) {
      if (!(error instanceof SafetyViolation)) throw error;
      if (error.property === 'Leader Completeness' && ev.untracked.has(a.node)) {
        // the monitor holds only part of this node's log (see t3.log-matching); nothing more to conclude
      } else if (error.property === 'Election Safety') {
        termViolations.add(a.term);
        const others = ev.authored.filter((b) => b.term === a.term && b.node !== a.node).map((b) => `{"data_id": ${b.node}} at index ${b.index}`);
        problems.push(`term ${a.term} holds writes by two nodes: {"data_id": ${a.node}} at index ${a.index} and ${others.join(', ')}; each node writes its own NODE_ID, so two nodes led term ${a.term}, and Election Safety allows at most one leader per term`);
      } else {
        problems.push(`${error.detail} (${error.property}): a new leader's log holds every entry committed before it was elected`);
      }
    }
    const writer = ev.withLog.find((n) => n.node === a.node);
    if (ev.committed(a.index, a.term) && writer && !ev.untracked.has(writer.node) && writer.log[a.index - 1]?.term === a.term) {
      try {
        ev.monitor.onCommit(writer.address, a.index, a.term);
      } catch (error) {
        if (!(error instanceof SafetyViolation)) throw error;
        problems.push(`${error.detail} (${error.property})`);
      }
    }
  }
  return { termViolations, problems };
}

function writesCheck(ev: Evidence, claims: readonly Claim[], leaders: LeaderFindings): Check {
  const wr: string[] = [...leaders.problems];
  let claimsOk = 0;
  for (const c of claims) {
    const entries = ev.authored.filter((a) => a.node === c.node);
    const committed = entries.find((a) => ev.committed(a.index, a.term));
    const where = `task3_node${c.node}.txt line ${c.line} says "done writing data_id"`;
    if (entries.length === 0) {
      wr.push(`${where}, but no log holds {"data_id": ${c.node}}: a write is done only once it is in the logs of a majority`);
    } else if (!committed) {
      const e = entries[0]!;
      wr.push(`${where}, but {"data_id": ${c.node}} (index ${e.index}, term ${e.term}) is in only ${ev.holders(e.index, e.term)} of ${ev.votersAt(e.index).length} logs: set() returns only once the entry is committed on a majority`);
    } else if (!leaders.termViolations.has(committed.term)) {
      claimsOk++;
    }
  }
  if (claims.length === 0) {
    return fail('t3.writes', 2, 'no task3_nodeN.txt shows a finished write ("LEADER -> n" then "done writing data_id"): let each leader\'s program finish data_id.set() before stopping anything');
  }
  const claimed = claims.map((c) => {
    const e = ev.authored.find((a) => a.node === c.node && ev.committed(a.index, a.term));
    return e ? `node ${c.node}'s {"data_id": ${c.node}} at index ${e.index}, term ${e.term}` : `node ${c.node}'s write`;
  });
  return wr.length === 0
    ? pass('t3.writes', 2, `every write the task files claim is committed in the logs, one leader per term: ${claimed.join('; ')}`)
    : partial('t3.writes', 2, Math.min(claimsOk, claims.length - 1), claims.length, wr.join('\n'));
}

// ---- t3.two-leaders: two different leaders wrote, as the manual expects ----

function twoLeadersCheck(ev: Evidence, leaders: LeaderFindings): Check {
  const writers = [...new Set(ev.authored.filter((a) => ev.committed(a.index, a.term) && !leaders.termViolations.has(a.term)).map((a) => a.node))];
  return writers.length >= 2
    ? pass('t3.two-leaders', 1, `${writers.length} different leaders wrote: ${writers.map(ev.describe).join(', ')}`)
    : fail('t3.two-leaders', 1, writers.length === 1
      ? `only ${ev.describe(writers[0]!)} wrote a committed entry: after the first leader writes and stops, keep the other two nodes running until the next leader writes its own NODE_ID`
      : 'no committed write by any leader: the leader\'s program must set data_id to its NODE_ID');
}

// ---- t3.story: the task files agree with the logs ----

function storyCheck(ev: Evidence, read: ReadFiles): Check {
  const story: string[] = [...read.story];
  for (const [node, lines] of read.taskLines) {
    const seq: number[] = [];
    for (const l of lines) {
      if (l.kind !== 'leader' || l.leader === null) continue;
      const m = nodeOf(ev.cluster, l.leader);
      if (m === null || seq.includes(m)) continue;
      seq.push(m);
    }
    for (let i = 0; i < seq.length; i++) {
      for (let j = i + 1; j < seq.length; j++) {
        const ti = Math.min(...ev.authored.filter((a) => a.node === seq[i]).map((a) => a.term));
        const tj = Math.min(...ev.authored.filter((a) => a.node === seq[j]).map((a) => a.term));
        if (Number.isFinite(ti) && Number.isFinite(tj) && ti > tj) {
          story.push(`task3_node${node}.txt shows ${ev.cluster.addresses[seq[i]! - 1]} leading before ${ev.cluster.addresses[seq[j]! - 1]}, but their writes are in terms ${ti} and ${tj}: terms only grow, so the later leader has the higher term`);
        }
      }
    }
  }
  return story.length === 0
    ? pass('t3.story', 1, 'the task files agree with the logs: each node names itself, and leaders appear in the order of their terms')
    : fail('t3.story', 1, story.slice(0, 6).join('\n') + (story.length > 6 ? `\n(and ${story.length - 6} more)` : ''));
}

function parseTask3File(lines: readonly string[], name: string): Task3Line[] | string {
  const out: Task3Line[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const no = i + 1;
    let m: RegExpExecArray | null;
    if ((m = /^LEADER => (None|[^\s:]+:\d{1,5})$/.exec(line))) out.push({ kind: 'leader', leader: m[1] === 'None' ? null : m[1]!, line: no });
    else if ((m = /^LEADER -> (\d+)$/.exec(line))) out.push({ kind: 'write', node: Number(m[1]), line: no });
    else if (line === 'done writing data_id') out.push({ kind: 'done-id', line: no });
    else if (line === 'done writing data') out.push({ kind: 'done', line: no });
    else {
      return `${name} line ${no}: ${show(lines[i]!)} is not a line the program writes (expected "LEADER => <address|None>", "LEADER -> n", "done writing data_id" or "done writing data"); keep the f.write() statements as the manual gives them`;
    }
  }
  return out;
}

/** The node whose program wrote this entry: the manual's program sets data_id to its NODE_ID. */
function authorOf(entry: LogEntry, nodes: readonly number[]): number | null {
  const c = entry.command;
  if (c === null) return null;
  const keys = Object.keys(c);
  if (keys.length !== 1 || keys[0] !== 'data_id') return null;
  const v = c['data_id'];
  return typeof v === 'number' && ((NODE_NUMBERS as readonly number[]).includes(v) || nodes.includes(v)) ? v : null;
}

/**
 * The cluster's configurations, by the index of their entry ({"raftlab.config": ...} commands, npm run member):
 * nodes 1-3 from the start, then each entry's voters (in effect as soon as it is in the log), from the longest log.
 */
function configurations(cluster: Cluster, withLog: readonly { log: readonly LogEntry[] }[]): { index: number; voters: readonly string[] }[] {
  const initial = { index: 0, voters: NODE_NUMBERS.map((n) => cluster.addresses[n - 1]!) };
  const longest = withLog.reduce<readonly LogEntry[]>((best, n) => (n.log.length > best.length ? n.log : best), []);
  const changes = longest.flatMap((e, i) => {
    const config = configOf(e);
    return config ? [{ index: i + 1, voters: config.voters }] : [];
  });
  return [initial, ...changes];
}

/**
 * A node that compacted its log (its .log starts after a snapshot in host_port.snapshot) is graded on its whole log:
 * the entries its snapshot covers are those of another node's log, if that log has the snapshot's last entry and
 * the snapshot's state is what applying them gives. Otherwise the problem, naming the file.
 */
function completeCompactedLog(files: SubmissionFiles, n: NodeState, cut: { index: number; term: number }, donors: readonly NodeState[]): string | null {
  const name = `${baseName(n.address)}.snapshot`;
  const text = textOf(files, name);
  if (text === null) return `${baseName(n.address)}.log starts after a snapshot of entries 1..${cut.index}, but ${name} is missing`;
  if (!text.ok) return `${name}${text.line === null ? '' : ` line ${text.line}`} ${text.problem}`;
  let snapshot: Snapshot;
  try {
    snapshot = parseSnapshotText(text.text, name);
  } catch (error) {
    if (!(error instanceof RaftFileError)) throw error;
    return error.message;
  }
  if (snapshot.index !== cut.index || snapshot.term !== cut.term) {
    return `${name} covers entries 1..${snapshot.index} (term ${snapshot.term}), but ${baseName(n.address)}.log starts after entry ${cut.index} (term ${cut.term})`;
  }
  const donor = donors.find((d) => d.log !== null && d.log.length >= cut.index && d.log[cut.index - 1]!.term === cut.term);
  if (!donor) return `${name}: no other node's log holds entries 1..${cut.index} to check the snapshot against (hand in logs that were not all compacted)`;
  const prefix = donor.log!.slice(0, cut.index);
  const machine = new KeyValueStateMachine();
  for (const e of prefix) machine.apply(e.command);
  if (JSON.stringify(sortedKeys(machine.toJSON())) !== JSON.stringify(sortedKeys(JSON.parse(snapshot.state) as Record<string, unknown>))) {
    return `${name} holds ${snapshot.state.slice(0, 200)}, which is not entries 1..${cut.index} of ${baseName(donor.address)}.log applied in order (a snapshot is the state machine after its last included entry)`;
  }
  n.log = [...prefix, ...n.log!];
  return null;
}

function sortedKeys(dict: Record<string, unknown>): [string, unknown][] {
  return Object.keys(dict).sort().map((k) => [k, dict[k]]);
}

/** The shortest prefix of `log` whose entries, applied in order, give `state`; null if none does. */
function matchingPrefix(log: readonly LogEntry[], state: Record<string, unknown>): number | null {
  const target = canonical(state);
  const sm = new KeyValueStateMachine();
  if (canonical(sm.toJSON()) === target) return 0;
  for (let i = 0; i < log.length; i++) {
    sm.apply(log[i]!.command);
    if (canonical(sm.toJSON()) === target) return i + 1;
  }
  return null;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
