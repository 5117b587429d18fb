/**
 * Grow or shrink a running lab cluster (dissertation section 4.1, one server at a time):
 *   npm run member -- add 127.0.0.1:8003       (the node was started with npm run task2 -- --join --id 4 --nodes 5)
 *   npm run member -- remove 127.0.0.1:8000    (the leader too: it hands the leadership over first)
 * It asks the members of --cluster (default: the one-machine layout, 127.0.0.1 ports 8000-8002) and follows them to
 * the leader; exit code 0 once the change is committed, 1 with the reason otherwise.
 */
import { Argument, Command } from 'commander';
import { positiveInteger } from '../lib/command-line';
import { MembershipError, parseCluster } from '../lib/lab/membership';
import { AdminClientError, addServer, removeServer } from '../lib/net/admin-client';
import { parseNodeId } from '../lib/net/udp-transport';

const program = new Command()
  .name('member')
  .description('Add a server to a running cluster, or remove one (AddServer / RemoveServer, dissertation Figure 4.1).')
  .addArgument(new Argument('<change>', 'what to do').choices(['add', 'remove']))
  .argument('<server>', 'the server: host:port, or N for node N of the one-machine layout (port base-port + N - 1)')
  .option('--cluster <members>', 'running members to ask, host:port,host:port,... (any of them; they lead the way to the leader)')
  .option('--nodes <n>', 'without --cluster: ask nodes 1..n of the one-machine layout', positiveInteger, 3)
  .option('--host <host>', 'without --cluster: the one-machine layout\'s address', '127.0.0.1')
  .option('--base-port <port>', 'without --cluster: port of node 1', positiveInteger, 8000)
  .option('--secret <secret>', 'the cluster\'s shared secret (as given to its nodes)')
  .option('--encrypt', 'with --secret: the cluster encrypts its datagrams', false)
  .option('--timeout <seconds>', 'give up after this long', positiveInteger, 30)
  .option('--verbose', 'print every request and answer', false)
  .parse();

interface Opts {
  cluster?: string;
  nodes: number;
  host: string;
  basePort: number;
  secret?: string;
  encrypt: boolean;
  timeout: number;
  verbose: boolean;
}
const [change, serverArg] = program.processedArgs as ['add' | 'remove', string];
const opts = program.opts<Opts>();
const fromCommandLine = (name: string) => program.getOptionValueSource(name) === 'cli';

function usage<T>(compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    if (error instanceof MembershipError || error instanceof TypeError) return program.error(`member: ${error.message}`);
    throw error;
  }
}

const members = usage(() => {
  if (opts.cluster === undefined) {
    return Array.from({ length: opts.nodes }, (_, i) => `${opts.host}:${opts.basePort + i}`);
  }
  const clash = (['nodes', 'host', 'basePort'] as const).filter(fromCommandLine);
  if (clash.length > 0) throw new MembershipError(`${clash.map((k) => ({ nodes: '--nodes', host: '--host', basePort: '--base-port' })[k]).join(', ')} cannot be combined with --cluster`);
  return parseCluster(opts.cluster);
});
const server = usage(() => {
  if (/^\d+$/.test(serverArg)) {
    if (opts.cluster !== undefined) throw new MembershipError(`<server>: with --cluster, give the server as host:port, not ${serverArg}`);
    return `${opts.host}:${opts.basePort + Number(serverArg) - 1}`;
  }
  parseNodeId(serverArg, '<server>');
  return serverArg;
});

const options = {
  members,
  timeoutMs: opts.timeout * 1000,
  ...(opts.secret !== undefined ? { security: { secret: opts.secret, encrypt: opts.encrypt } } : {}),
  ...(opts.verbose ? { log: (line: string) => console.log(`member: ${line}`) } : {}),
};
(change === 'add' ? addServer(server, options) : removeServer(server, options))
  .then(({ leader, reply }) => {
    const done = change === 'add' ? `added ${server}: it is a voter` : `removed ${server}: it is no longer a member (stop its program)`;
    console.log(`member: ${done}; the change is committed by the leader ${leader}${reply.reason ? ` (${reply.reason})` : ''}`);
    process.exit(0);
  })
  .catch((error: unknown) => {
    console.error(`member: ${error instanceof AdminClientError ? error.message : (error as Error).stack ?? String(error)}`);
    process.exit(1);
  });
