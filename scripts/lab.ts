/**
 * The whole three-terminal lab in one command: starts the three node programs, presses Ctrl+C (SIGINT)
 * on leaders as the manual says, and leaves the complete artifact folder.
 *   npm run lab -- task2|task3 [--fast] [--out DIR]
 *   npm run lab -- membership [--fast] [--out DIR]   (3 nodes grow to 5, then shrink back to 3)
 */
import { Command, Argument } from 'commander';
import { runLabProcesses } from '../lib/lab/process-lab';
import { runMembershipLab } from '../lib/lab/membership-lab';
import { runLabInSim } from '../lib/lab/sim-lab';
import { fastPollMs } from '../lib/lab/tasks';
import { loadImplementation } from '../lib/lab/impl';
import { positiveInteger } from '../lib/command-line';

const program = new Command()
  .name('lab')
  .description("Run the manual's Task 2 or Task 3 with three real node processes and collect the artifacts; or grow a running cluster from 3 nodes to 5 and shrink it back (membership).")
  .addArgument(new Argument('<task>', 'which task').choices(['task2', 'task3', 'membership']))
  .option('--fast', 'short polls and reactions: a run takes seconds, with the same files', false)
  .option('--out <dir>', 'artifact folder (task2 and task3 can share one, as in the manual)', 'artifacts/lab')
  .option('--base-port <port>', 'UDP port of node 1 (nodes use base-port .. base-port+2; membership: +4)', positiveInteger, 8000)
  .option('--timeout <seconds>', 'give up after this long', positiveInteger)
  .option('--quiet', 'do not echo the nodes\' output', false)
  .option('--sim', 'run the three nodes in the in-process cluster, in virtual time (same files, in milliseconds)', false)
  .option('--seed <n>', 'with --sim: the seed of the run', positiveInteger, 1)
  .option('--impl <file>', 'run your Raft: a module exporting `handlers` and/or `rules` (what saveImpl writes from the notebooks)')
  .option('--secret <secret>', 'membership: the nodes\' shared secret (their datagrams and the membership requests are authenticated)')
  .option('--encrypt', 'membership, with --secret: encrypt the datagrams too', false)
  .parse();

const [taskName] = program.processedArgs as [string];
const opts = program.opts<{ fast: boolean; out: string; basePort: number; timeout?: number; quiet: boolean; sim: boolean; seed: number; impl?: string; secret?: string; encrypt: boolean }>();
const task = taskName === 'task2' ? 2 : 3;
if (taskName !== 'membership' && opts.secret !== undefined) program.error('lab: --secret is for the membership run');
if (taskName === 'membership' && opts.sim) program.error('lab: the membership run uses real node processes; --sim runs task2 and task3 only');

const echo = opts.quiet ? () => undefined : (line: string) => console.log(line);
const common = {
  fast: opts.fast,
  out: opts.out,
  basePort: opts.basePort,
  ...(opts.impl ? { impl: opts.impl } : {}),
  ...(opts.timeout ? { timeoutMs: opts.timeout * 1000 } : {}),
  echo,
};

/** The virtual-time run, told as the process runs are. */
async function inSim(): Promise<{ ok: boolean; summary: string }> {
  const impl = opts.impl === undefined ? undefined : loadImplementation(opts.impl);
  const run = await runLabInSim(task, { seed: opts.seed, out: opts.out, ...(impl ? { handlers: impl.handlers, rules: impl.rules } : {}), ...(opts.fast ? { pollMs: task === 2 ? fastPollMs.task2 : fastPollMs.task3, reactionMs: 300 } : {}) });
  if (!opts.quiet) console.log(run.cluster.timeline(['role', 'crash', 'commit']));
  const stops = run.stops.map((s) => `${s.node} (${s.how}, ${(s.at / 1000).toFixed(1)} s)`).join(', ');
  const files = [...run.files.keys()].sort().map((name) => `  ${name}`).join('\n');
  return { ok: run.completed, summary: `Task ${task} in virtual time, seed ${opts.seed}: stopped ${stops}.\nArtifacts in ${opts.out}:\n${files}` };
}

const outcome = taskName === 'membership'
  ? runMembershipLab({ ...common, ...(opts.secret !== undefined ? { security: { secret: opts.secret, encrypt: opts.encrypt } } : {}) })
  : opts.sim ? inSim() : runLabProcesses({ task, ...common });
outcome
  .then((result) => {
    console.log(`\n${result.summary}`);
    process.exit(result.ok ? 0 : 1);
  })
  .catch((error: unknown) => {
    console.error(`lab: ${(error as Error).message}`);
    process.exit(1);
  });
