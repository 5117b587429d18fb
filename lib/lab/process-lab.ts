import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileNamesFor } from '../net/raftos-files';
import type { NodeId } from '../raft/types';
import { loadImplementation } from './impl';
import { interruptNodeProgram, labRepoRoot, startNodeProgram, type NodeProgram } from './node-program';
import { taskFileName } from './tasks';

export interface ProcessLabOptions {
  readonly task: 2 | 3;
  /** Short polls and reactions (seconds per run instead of minutes). */
  readonly fast: boolean;
  readonly out: string;
  readonly basePort?: number;
  readonly timeoutMs?: number;
  /** Each line the nodes print, prefixed with the node. */
  readonly echo?: (line: string) => void;
  /** How many "LEADER => None" lines the last node must write before it is stopped. Default 3. */
  readonly noneLines?: number;
  /** Run the student's Raft: a module exporting `handlers` and/or `rules` (`--impl FILE`). */
  readonly impl?: string;
  /**
   * The three members' addresses (`--cluster`, each node `--listen`ing on its own) instead of 127.0.0.1 ports
   * from basePort: one cluster across machines, or network namespaces.
   */
  readonly members?: readonly NodeId[];
  /** What each node's command runs inside (e.g. ['ip', 'netns', 'exec', 'ns1']); default nothing. */
  readonly wrap?: (nodeNumber: number) => readonly string[];
}

export interface ProcessLabResult {
  readonly ok: boolean;
  readonly summary: string;
  /** The nodes in the order they stopped, and how. */
  readonly stops: readonly { node: number; how: 'SIGINT' | 'exited'; code: number | null }[];
  readonly files: readonly string[];
}

const repoRoot = labRepoRoot;

export function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

function trailing(lines: readonly string[], line: string): number {
  let n = 0;
  for (let i = lines.length - 1; i >= 0 && lines[i] === line; i--) n++;
  return n;
}

/**
 * Play the student of the manual with three real processes: start nodes 1-3, press Ctrl+C on each new
 * leader (Task 2) or let each leader finish its write and exit (Task 3), then stop the lone survivor once
 * it has shown a few "LEADER => None".
 */
export async function runLabProcesses(options: ProcessLabOptions): Promise<ProcessLabResult> {
  const { task, fast, out } = options;
  const basePort = options.basePort ?? 8000;
  const timeoutMs = options.timeoutMs ?? (fast ? 60_000 : 15 * 60_000);
  const noneLines = options.noneLines ?? 3;
  const reactionMs = fast ? 300 : 2000;
  const echo = options.echo ?? (() => undefined);
  // Checked here once, so a broken module is one clear error rather than three crashed nodes.
  const impl = options.impl === undefined ? undefined : loadImplementation(options.impl).file;
  const members = options.members ?? [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`);
  if (members.length !== 3) throw new RangeError(`the lab runs three nodes; members lists ${members.length}`);
  fs.mkdirSync(out, { recursive: true });
  // Manual, Task 3 step 2: remove the .log, .storage and .state_machine files before each run.
  for (const id of members) {
    for (const file of Object.values(fileNamesFor(out, id))) for (const f of [file, `${file}.tmp`]) fs.rmSync(f, { force: true });
  }

  const nodes: NodeProgram[] = [1, 2, 3].map((number) => {
    const whoAmI = options.members
      ? ['--cluster', members.join(','), '--listen', members[number - 1]!]
      : ['--id', String(number), '--base-port', String(basePort)];
    const args = ['--task', String(task), ...whoAmI, '--dir', out];
    if (fast) args.push('--fast');
    if (impl) args.push('--impl', impl);
    return startNodeProgram(number, args, echo, options.wrap?.(number) ?? []);
  });
  const stops: { node: number; how: 'SIGINT' | 'exited'; code: number | null }[] = [];
  const file = (n: number) => path.join(out, taskFileName(task, n));
  const deadline = Date.now() + timeoutMs;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const live = () => nodes.filter((n) => !n.exited);
  const noteExits = () => {
    for (const n of nodes) if (n.exited && !stops.some((s) => s.node === n.number)) stops.push({ node: n.number, how: 'exited', code: n.code });
  };
  const interrupt = async (n: NodeProgram) => {
    stops.push({ node: n.number, how: 'SIGINT', code: null });
    stops[stops.length - 1] = { node: n.number, how: 'SIGINT', code: await interruptNodeProgram(n) };
  };

  let failure: string | null = null;
  try {
    while (live().length > 0) {
      if (Date.now() > deadline) {
        failure = `timed out after ${timeoutMs / 1000} s`;
        break;
      }
      noteExits();
      const up = live();
      if (up.length === 1) {
        if (trailing(readLines(file(up[0]!.number)), 'LEADER => None') >= noneLines) await interrupt(up[0]!);
      } else if (task === 2) {
        const leader = up.find((n) => readLines(file(n.number)).some((l) => l.startsWith('LEADER IS NOW NODE')));
        if (leader) {
          await sleep(reactionMs);
          await interrupt(leader);
        }
      }
      await sleep(fast ? 50 : 250);
    }
    noteExits();
  } finally {
    for (const n of live()) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exit));
  }

  for (const n of [1, 2, 3]) {
    const withImpl = impl ? ` --impl ${JSON.stringify(path.relative(repoRoot, impl))}` : '';
    const whoAmI = options.members ? `--cluster ${members.join(',')} --listen ${members[n - 1]}` : `--id ${n}`;
    fs.writeFileSync(path.join(out, `${n}.sh`), `# node ${n} of the lab, one terminal each\nnpm run task2 -- ${whoAmI}${withImpl}\nnpm run task3 -- ${whoAmI}${withImpl}\n`);
  }
  const files = fs.readdirSync(out).sort();
  const problems = failure ? [failure] : checkOutcome(task, stops, (n) => readLines(file(n)));
  const listing = files.map((f) => `  ${f}`).join('\n');
  const summary = problems.length === 0
    ? `Task ${task} done: stopped ${stops.map((s) => `node ${s.node} (${s.how})`).join(', ')}.\nArtifacts in ${out}:\n${listing}`
    : `Task ${task} did not reach the manual's outcome: ${problems.join('; ')}.\nArtifacts in ${out}:\n${listing}`;
  return { ok: problems.length === 0, summary, stops, files };
}

function checkOutcome(task: 2 | 3, stops: readonly { node: number; how: string; code: number | null }[], lines: (n: number) => string[]): string[] {
  const problems: string[] = [];
  for (const s of stops) {
    if (s.how === 'exited' && s.code !== 0) problems.push(`node ${s.node} exited with code ${s.code} (see its output above)`);
  }
  if (problems.length > 0) return problems;
  if (stops.length !== 3) return [`only ${stops.length} of 3 nodes stopped`];
  const [first, second, last] = stops as [typeof stops[0], typeof stops[0], typeof stops[0]];
  if (task === 2) {
    for (const s of [first, second]) {
      if (!lines(s.node).includes(`LEADER IS NOW NODE ${s.node}`)) problems.push(`node ${s.node} was stopped without having led`);
    }
  } else {
    for (const s of [first, second]) {
      if (s.how !== 'exited' || s.code !== 0) problems.push(`node ${s.node} did not finish its write and exit (${s.how}, code ${s.code})`);
      if (!lines(s.node).includes('done writing data')) problems.push(`node ${s.node} did not write "done writing data"`);
    }
  }
  if (lines(last.node).some((l) => l.startsWith('LEADER IS NOW') || l.startsWith('LEADER ->'))) {
    problems.push(`the lone survivor, node ${last.node}, acted as leader`);
  }
  return problems;
}
