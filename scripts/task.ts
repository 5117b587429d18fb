/**
 * The manual's Task 2 / Task 3 program for one node: `npm run task2 -- --id 1` in each of three terminals
 * (ids 1-3, UDP ports 8000-8002). Writes task<T>_node<N>.txt and the node's raftos files in --dir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { fastPollMs, manualPollMs, task2, task3, taskFileName, type TaskIO } from '../lib/lab/tasks';
import { RealNode } from '../lib/net/real-node';
import { describeImplementation, loadImplementation, type Implementation } from '../lib/lab/impl';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const program = new Command()
  .name('task')
  .description("Run one node of the manual's Task 2 or Task 3 (three terminals: --id 1, --id 2, --id 3).")
  .addOption(new Option('--task <n>', 'task number').choices(['2', '3']).makeOptionMandatory())
  .requiredOption('--id <n>', 'NODE_ID: 1, 2 or 3 (the node listens on UDP port base-port + id - 1)', positiveInt)
  .option('--nodes <n>', 'cluster size', positiveInt, 3)
  .option('--host <host>', 'address of every node', '127.0.0.1')
  .option('--base-port <port>', 'port of node 1', positiveInt, 8000)
  .option('--dir <dir>', 'folder for the task file and the .log/.storage/.state_machine files', '.')
  .option('--poll-ms <ms>', 'polling interval (manual: 10000 for Task 2, 5000 for Task 3)', positiveInt)
  .option('--fast', 'short polls, so a whole run takes seconds', false)
  .option('--secret <secret>', 'shared secret: authenticate every datagram (all nodes need the same one)')
  .option('--encrypt', 'with --secret, also encrypt every datagram', false)
  .option('--impl <file>', "run your Raft: a module exporting `handlers` and/or `rules` (what saveImpl writes from the notebooks)")
  .parse();

interface Opts {
  task: '2' | '3';
  id: number;
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
if (opts.id > opts.nodes) program.error(`--id must be between 1 and ${opts.nodes}, got ${opts.id}`);
if (opts.basePort + opts.nodes - 1 > 65535) program.error('--base-port leaves no room for every node below port 65535');

const task = Number(opts.task) as 2 | 3;
const ids = Array.from({ length: opts.nodes }, (_, i) => `${opts.host}:${opts.basePort + i}`);
const self = ids[opts.id - 1]!;
const pollMs = opts.pollMs ?? (opts.fast ? (task === 2 ? fastPollMs.task2 : fastPollMs.task3) : task === 2 ? manualPollMs.task2 : manualPollMs.task3);
const file = path.join(opts.dir, taskFileName(task, opts.id));
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
    peers: ids.filter((id) => id !== self),
    dir: opts.dir,
    ...(opts.secret ? { security: { secret: opts.secret, encrypt: opts.encrypt } } : {}),
    ...(impl ? { handlers: impl.handlers, rules: impl.rules } : {}),
  });
  const say = (message: string) => console.log(`[${self}] ${message}`);
  say(`started (task ${task}, node ${opts.id}, polling every ${pollMs} ms); files in ${path.resolve(opts.dir)}`);
  if (impl) say(describeImplementation(impl));
  node.on('role', (role, term) => say(`${role} in term ${term}`));
  node.on('leader', (leader) => say(leader === null ? 'no leader known' : `the leader is ${leader}`));

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
  const taskOptions = { nodeNumber: opts.id, pollMs, settleMs: opts.fast ? 500 : 2000, writeTimeoutMs: 10_000 };
  if (task === 2) {
    if ((await task2(node, io, taskOptions)) === 'leader') say(`LEADER IS NOW NODE ${opts.id}; press Ctrl+C to stop it`);
    // Keep leading (and serving heartbeats) until Ctrl+C.
  } else if ((await task3(node, io, taskOptions)) === 'wrote') {
    await shutdown(0, 'stopped after writing, as the leader does in the manual');
  }
}

main().catch((error: unknown) => {
  console.error(`[${self}] ${(error as Error).message}`);
  process.exit(1);
});
