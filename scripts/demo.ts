/**
 * The course's entry point until the notebooks arrive: a simulated three-node cluster doing the lab's
 * Task 2 and Task 3 in virtual time (elect, write, crash the leader, re-elect, write), with its timeline.
 */
import { Command, InvalidArgumentError } from 'commander';
import { Cluster } from '../lib/sim/cluster';
import { formatStatusTable } from '../lib/sim/report';
import { formatEvent } from '../lib/sim/trace';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

// `npm run demo | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command()
  .name('demo')
  .description('Run a simulated Raft cluster: elect a leader, replicate, crash the leader, re-elect, and print the timeline.')
  .option('--seed <n>', 'seed of the run (same seed, same run)', integer, 1)
  .option('--nodes <n>', 'number of nodes', integer, 3)
  .option('--messages', 'also print every message sent and delivered', false)
  .parse();

const { seed, nodes, messages } = program.opts<{ seed: number; nodes: number; messages: boolean }>();
if (nodes < 1) program.error('--nodes must be at least 1');

const cluster = new Cluster({ nodes, seed });
cluster.runUntil((c) => c.leader() !== null);
const first = cluster.leader()!;
cluster.propose({ data_id: cluster.ids.indexOf(first) + 1 });
cluster.runFor(300);
cluster.crash(first);
cluster.runUntil((c) => c.leader() !== null, { timeout: 10_000 });
const second = cluster.leader();
if (second) cluster.propose({ data_id: cluster.ids.indexOf(second) + 1 });
cluster.runFor(300);
cluster.restart(first);
cluster.runFor(500);

console.log(`Raft Lab demo: ${nodes} simulated nodes, seed ${seed}\n`);
console.log(messages ? cluster.trace.events.map(formatEvent).join('\n') : cluster.timeline());
console.log('\nFinal state:\n' + formatStatusTable(cluster.statuses()));
console.log(`\n${cluster.trace.count} events, ${cluster.deliveries} messages delivered, ${cluster.now.toFixed(1)} virtual ms.`);
console.log('Replay exactly with the same --seed; try --messages to see every RPC.');
