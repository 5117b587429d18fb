/**
 * The manual's Task 2 / Task 3 program for one node: `npm run task2 -- --id 1` in each of three terminals
 * (ids 1-3, UDP ports 8000-8002). Writes task<T>_node<N>.txt and the node's raftos files in --dir.
 * Across machines: `npm run task2 -- --cluster 10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:8000 --listen 10.0.0.2:8000`
 * on each (the same --cluster everywhere; --listen is this machine's member, node N being the N-th member).
 * Growing a running cluster: `npm run task2 -- --join --id 4 --nodes 5` (or `--join --cluster <running members>
 * --listen <new address>`) starts a node that waits to be added, then `npm run member -- add 127.0.0.1:8003`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { positiveInteger } from '../lib/command-line';
import { MembershipError, resolveMembership, type Membership } from '../lib/lab/membership';
import { fastPollMs, manualPollMs, task2, task3, taskFileName, type TaskIO } from '../lib/lab/tasks';
import { RealNode } from '../lib/net/real-node';
import { configOf, describeConfig } from '../lib/raft/membership';
import { describeImplementation, loadImplementation, type Implementation } from '../lib/lab/impl';

const program = new Command()
  .name('task')
  .description("Run one node of the manual's Task 2 or Task 3 (three terminals: --id 1, --id 2, --id 3).")
  .addOption(new Option('--task <n>', 'task number').choices(['2', '3']).makeOptionMandatory())
  .option('--id <n>', 'NODE_ID: 1, 2 or 3, or 4 and up with --join (the node listens on UDP port base-port + id - 1)', positiveInteger)
  .option('--nodes <n>', 'cluster size', positiveInteger, 3)
  .option('--host <host>', 'address of every node', '127.0.0.1')
  .option('--base-port <port>', 'port of node 1', positiveInteger, 8000)
  .option('--cluster <members>', 'every member as host:port,host:port,... (one cluster across machines; node N is the N-th)')
  .option('--listen <host:port>', "with --cluster: this node's member, the address it binds (its node number is its place in --cluster)")
  .option('--join', 'join a running cluster: wait for its leader to add this node (npm run member -- add ADDRESS); with --cluster, list the running members and give this node\'s new address with --listen', false)
  .option('--dir <dir>', 'folder for the task file and the .log/.storage/.state_machine files', '.')
  .option('--poll-ms <ms>', 'polling interval (manual: 10000 for Task 2, 5000 for Task 3)', positiveInteger)
  .option('--fast', 'short polls, so a whole run takes seconds', false)
  .option('--secret <secret>', 'shared secret: authenticate every datagram (all nodes need the same one)')
  .option('--encrypt', 'with --secret, also encrypt every datagram', false)
  .option('--impl <file>', "run your Raft: a module exporting `handlers` and/or `rules` (what saveImpl writes from the notebooks)")
  .parse();

interface Opts {
  task: '2' | '3';
  id?: number;
  cluster?: string;
  listen?: string;
  join: boolean;
  nodes: number;
  host: string;
  basePort: number;
  dir: string;
  pollMs?: number;
  fast: boolean;
  secret?: string;
  encrypt: boolean;
  impl?: string;
}
const opts = program.opts<Opts>();
const fromCommandLine = (name: string) => program.getOptionValueSource(name) === 'cli';
function membershipOrExit(): Membership {
  try {
    return resolveMembership({
      ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}), ...(opts.listen !== undefined ? { listen: opts.listen } : {}), ...(opts.id !== undefined ? { id: opts.id } : {}),
      nodes: opts.nodes, host: opts.host, basePort: opts.basePort, join: opts.join,
      given: { nodes: fromCommandLine('nodes'), host: fromCommandLine('host'), basePort: fromCommandLine('basePort') },
    });
  } catch (error) {
    if (!(error instanceof MembershipError)) throw error;
    return program.error(error.message);
  }
}
const membership = membershipOrExit();

const task = Number(opts.task) as 2 | 3;
const { self, peers, nodeNumber, joining } = membership;
const pollMs = opts.pollMs ?? (opts.fast ? (task === 2 ? fastPollMs.task2 : fastPollMs.task3) : task === 2 ? manualPollMs.task2 : manualPollMs.task3);
const file = path.join(opts.dir, taskFileName(task, nodeNumber));
let impl: Implementation | undefined;
try {
  impl = opts.impl === undefined ? undefined : loadImplementation(opts.impl);
} catch (error) {
  program.error(`--impl ${(error as Error).message}`);
}

async function main(): Promise<void> {
  fs.mkdirSync(opts.dir, { recursive: true });
  fs.writeFileSync(file, ''); // the manual's open(..., 'w'): a fresh file each run
  const node = await RealNode.start({
    id: self,
    peers,
    dir: opts.dir,
    ...(joining ? { joining: true } : {}),
    ...(opts.secret ? { security: { secret: opts.secret, encrypt: opts.encrypt } } : {}),
    ...(impl ? { handlers: impl.handlers, rules: impl.rules } : {}),
  });
  const say = (message: string) => console.log(`[${self}] ${message}`);
  say(`started (task ${task}, node ${nodeNumber}, polling every ${pollMs} ms); files in ${path.resolve(opts.dir)}`);
  if (joining) say(`joining: waiting for the leader to add ${self} (npm run member -- add ${self} --cluster ${peers.join(',')})`);
  if (impl) say(describeImplementation(impl));
  node.on('role', (role, term) => say(`${role} in term ${term}`));
  node.on('leader', (leader) => say(leader === null ? 'no leader known' : `the leader is ${leader}`));
  node.on('apply', (index, entry) => {
    const config = configOf(entry);
    if (config) say(`configuration at index ${index}: ${describeConfig(config)}`);
  });

  const controller = new AbortController();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  const shutdown = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    controller.abort();
    for (const t of timers) clearTimeout(t);
    const { dropped, datagramsReceived } = node.stats;
    await node.stop();
    const drops = Object.entries(dropped).map(([reason, n]) => `${reason} ${n}`).join(', ');
    say(`${why}; ${datagramsReceived} datagrams received, dropped: ${drops}`);
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130, 'stopped (Ctrl+C)'));
  process.on('SIGTERM', () => void shutdown(143, 'stopped (SIGTERM)'));

  const io: TaskIO = {
    writeLine: (line) => fs.appendFileSync(file, line + '\n'),
    print: (message) => say(message),
    sleep: (ms) =>
      new Promise((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      }),
    signal: controller.signal,
  };
  const taskOptions = { nodeNumber, pollMs, settleMs: opts.fast ? 500 : 2000, writeTimeoutMs: 10_000 };
  if (task === 2) {
    if ((await task2(node, io, taskOptions)) === 'leader') say(`LEADER IS NOW NODE ${nodeNumber}; press Ctrl+C to stop it`);
    // Keep leading (and serving heartbeats) until Ctrl+C.
  } else if ((await task3(node, io, taskOptions)) === 'wrote') {
    await shutdown(0, 'stopped after writing, as the leader does in the manual');
  }
}

main().catch((error: unknown) => {
  console.error(`[${self}] ${(error as Error).message}`);
  process.exit(1);
});
