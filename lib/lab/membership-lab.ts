import * as fs from 'node:fs';
import * as path from 'node:path';
import { addServer, removeServer, type AdminClientOptions } from '../net/admin-client';
import type { Security } from '../net/codec';
import { fileNamesFor } from '../net/raftos-files';
import type { NodeId } from '../raft/types';
import { loadImplementation } from './impl';
import { interruptNodeProgram, labRepoRoot, startNodeProgram, type NodeProgram } from './node-program';
import { readLines } from './process-lab';
import { taskFileName } from './tasks';

export interface MembershipLabOptions {
  /** Short polls (a run takes seconds). */
  readonly fast: boolean;
  readonly out: string;
  /** UDP port of node 1; the five nodes use basePort .. basePort+4. Default 8000. */
  readonly basePort?: number;
  readonly timeoutMs?: number;
  readonly echo?: (line: string) => void;
  /** The nodes' --secret (and --encrypt), given to the membership requests too. */
  readonly security?: Security;
  /** Run the student's Raft (`--impl FILE`). */
  readonly impl?: string;
}

export interface MembershipLabResult {
  readonly ok: boolean;
  readonly summary: string;
  /** What was done, in order ("added 127.0.0.1:8003 (leader 127.0.0.1:8001)", ...). */
  readonly steps: readonly string[];
  /** The three voters left at the end. */
  readonly survivors: readonly NodeId[];
  readonly files: readonly string[];
}

const CONFIG_LINE = / configuration at index \d+: voters (.*?)(?:; learners .*)?$/;

/**
 * The README's "growing the cluster from 3 nodes to 5, and shrinking it back", played by the program: Task 2's node
 * programs 1-3 elect a leader; nodes 4 and 5 start with --join and are added one at a time (each catches up as a
 * learner, then votes); then the leader is removed (it hands its leadership over first) and stopped with Ctrl+C,
 * then a follower the same way. It checks that the three left agree on a configuration of just themselves, stops
 * them, and leaves every node's files with the configuration entries in the logs.
 */
export async function runMembershipLab(options: MembershipLabOptions): Promise<MembershipLabResult> {
  const { fast, out } = options;
  const basePort = options.basePort ?? 8000;
  const timeoutMs = options.timeoutMs ?? (fast ? 90_000 : 10 * 60_000);
  const echo = options.echo ?? (() => undefined);
  const impl = options.impl === undefined ? undefined : loadImplementation(options.impl).file;
  const ids = [0, 1, 2, 3, 4].map((i) => `127.0.0.1:${basePort + i}`);
  fs.mkdirSync(out, { recursive: true });
  for (const id of ids) {
    for (const file of Object.values(fileNamesFor(out, id))) for (const f of [file, `${file}.tmp`]) fs.rmSync(f, { force: true });
  }
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const admin = (members: readonly NodeId[]): AdminClientOptions => ({ members, timeoutMs: left(), ...(options.security ? { security: options.security } : {}) });
  const secretArgs = options.security ? ['--secret', options.security.secret, ...(options.security.encrypt ? ['--encrypt'] : [])] : [];
  const common = ['--task', '2', '--base-port', String(basePort), '--dir', out, ...(fast ? ['--fast'] : []), ...(impl ? ['--impl', impl] : []), ...secretArgs];
  const nodes = new Map<number, NodeProgram>();
  const start = (n: number) => {
    const who = n <= 3 ? ['--id', String(n)] : ['--join', '--id', String(n), '--nodes', '5'];
    nodes.set(n, startNodeProgram(n, [...who, ...common], echo));
  };
  /** Wait until `ready()` holds, failing with `what` if a node program dies or the run's time is up. */
  const until = async (what: string, ready: () => boolean) => {
    while (!ready()) {
      const dead = [...nodes.values()].find((p) => p.exited && p.code !== 130);
      if (dead) throw new Error(`node ${dead.number} exited with code ${dead.code} while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await sleep(fast ? 50 : 250);
    }
  };
  const numberOf = (id: NodeId) => ids.indexOf(id) + 1;
  const steps: string[] = [];
  const step = (line: string) => {
    steps.push(line);
    echo(`lab | ${line}`);
  };
  // The same run typed by hand, for membership.sh (the secret itself is not written down).
  const layout = `${basePort === 8000 ? '' : ` --base-port ${basePort}`}${options.security ? ` --secret "$RAFT_LAB_SECRET"${options.security.encrypt ? ' --encrypt' : ''}` : ''}`;
  const withImpl = impl ? ` --impl ${JSON.stringify(path.relative(labRepoRoot, impl))}` : '';
  const script = [
    '# The cluster grows from 3 nodes to 5 and shrinks back (npm run lab -- membership): one terminal per node,',
    '# and one for npm run member, in this order.',
    ...[1, 2, 3].map((n) => `npm run task2 -- --id ${n}${layout}${withImpl}`),
  ];

  let failure: string | null = null;
  let survivors: NodeId[] = [];
  try {
    for (const n of [1, 2, 3]) start(n);
    await until('a leader among nodes 1-3', () => [1, 2, 3].some((n) => readLines(path.join(out, taskFileName(2, n))).some((l) => l.startsWith('LEADER IS NOW NODE'))));
    let leader: NodeId = '';
    for (const n of [4, 5]) {
      start(n);
      await until(`node ${n} to wait for the leader`, () => nodes.get(n)!.lines.some((l) => l.includes('joining: waiting for the leader to add')));
      script.push(`npm run task2 -- --join --id ${n} --nodes 5${layout}${withImpl}`, `npm run member -- add ${n} --nodes ${n - 1}${layout}`);
      const added = await addServer(ids[n - 1]!, admin(ids.slice(0, n - 1)));
      leader = added.leader;
      step(`added node ${n} (${ids[n - 1]}): it caught up as a learner, then the leader ${leader} made it a voter`);
    }
    let members = [...ids];
    for (const which of ['leader', 'follower'] as const) {
      const gone = which === 'leader' ? leader : members.find((m) => m !== leader)!;
      script.push(`npm run member -- remove ${numberOf(gone)} --nodes 5${layout}${which === 'leader' ? '   # the leader: it hands its leadership over first' : ''}`);
      const removed = await removeServer(gone, admin(members));
      members = members.filter((m) => m !== gone);
      step(which === 'leader'
        ? `removed the leader, node ${numberOf(gone)} (${gone}): it handed its leadership to ${removed.leader}, which removed it`
        : `removed node ${numberOf(gone)} (${gone}), a follower, through the leader ${removed.leader}`);
      leader = removed.leader;
      await interruptNodeProgram(nodes.get(numberOf(gone))!);
      step(`stopped node ${numberOf(gone)} with Ctrl+C`);
      script.push(`# Ctrl+C on node ${numberOf(gone)}`);
    }
    survivors = members;
    const want = JSON.stringify([...members].sort());
    const printsSurvivors = (p: NodeProgram) => {
      const line = [...p.lines].reverse().find((l) => CONFIG_LINE.test(l));
      return line !== undefined && JSON.stringify(CONFIG_LINE.exec(line)![1]!.split(', ').sort()) === want;
    };
    await until(`nodes ${members.map(numberOf).join(', ')} to apply the configuration of just themselves`, () => members.every((m) => printsSurvivors(nodes.get(numberOf(m))!)));
    step(`nodes ${members.map(numberOf).join(', ')} are the voters: 2 of 3 is a majority again`);
  } catch (error) {
    failure = (error as Error).message;
  } finally {
    for (const p of nodes.values()) if (!p.exited) await interruptNodeProgram(p);
  }

  fs.writeFileSync(path.join(out, 'membership.sh'), [...script, ...steps.map((s) => `# ${s}`), ''].join('\n'));
  const files = fs.readdirSync(out).sort();
  const listing = files.map((f) => `  ${f}`).join('\n');
  const summary = failure === null
    ? `The cluster grew from 3 nodes to 5 and shrank back to ${survivors.join(', ')}:\n${steps.map((s) => `  ${s}`).join('\n')}\nArtifacts in ${out}:\n${listing}`
    : `The membership run did not finish: ${failure}.\n${steps.map((s) => `  ${s}`).join('\n')}\nArtifacts in ${out}:\n${listing}`;
  return { ok: failure === null, summary, steps, survivors, files };
}
