/**
 * One RealNode in its own process, for the crash-consistency test (lib/check/crash-consistency.ts), which
 * SIGKILLs it at random moments and starts it again on the same files.
 *
 *   node --import tsx lib/check/crash-worker.ts --id 127.0.0.1:P --peers A,B,C --dir D [--secret S]
 *
 * stdout, one JSON object per line:
 *   {"type":"started","pid","term","logLength"}          files loaded, UDP socket bound
 *   {"type":"error","name","message","file","line"}     start failed (e.g. a RaftFileError); the process exits 3
 *   {"type":"fatal","message"}                          the node stopped itself (storage failed)
 *   {"type":"reply","id",...}
 * stdin, one JSON object per line:
 *   {"cmd":"put","id","seq"}   -> {"ok":true,"index","term"} once {"w": seq} is committed and applied here,
 *                                 or {"ok":false,"error":NAME,"leader"} (NotLeaderError: nothing was appended)
 *   {"cmd":"status","id"}      -> role, term, leader, commitIndex, lastApplied, logLength, stats
 *   {"cmd":"stop","id"}        -> stops the node cleanly, replies, exits 0
 * Closing stdin stops the worker too, so it never outlives its parent.
 */
import * as readline from 'node:readline';
import { NotLeaderError } from '../errors';
import { RaftFileError } from '../net/raftos-files';
import { RealNode } from '../net/real-node';

function parseArgs(argv: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!;
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`bad arguments near ${JSON.stringify(key)}`);
    values.set(key.slice(2), value);
  }
  for (const required of ['id', 'peers', 'dir']) if (!values.has(required)) throw new Error(`missing --${required}`);
  return values;
}

const emit = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const secret = args.get('secret');
  let node: RealNode;
  try {
    node = await RealNode.start({
      id: args.get('id')!,
      peers: args.get('peers')!.split(','),
      dir: args.get('dir')!,
      fsync: true,
      timings: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 },
      ...(secret ? { security: { secret } } : {}),
    });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    emit({ type: 'error', name: e.name, message: e.message, file: err instanceof RaftFileError ? err.file : null, line: err instanceof RaftFileError ? err.line : null });
    process.exit(3);
  }
  node.on('fatal', (error) => emit({ type: 'fatal', message: error.message }));
  emit({ type: 'started', pid: process.pid, term: node.term, logLength: node.log.length });

  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => {
    if (line.trim() === '') return;
    const request = JSON.parse(line) as { cmd: string; id: number; seq?: number };
    const reply = (body: Record<string, unknown>) => emit({ type: 'reply', id: request.id, ...body });
    if (request.cmd === 'put') {
      node.propose({ w: request.seq! }, { timeoutMs: 2000 }).then(
        ({ index, term }) => reply({ ok: true, index, term }),
        (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.name : String(err), leader: err instanceof NotLeaderError ? err.leaderId : null }),
      );
    } else if (request.cmd === 'status') {
      reply({ role: node.role, term: node.term, leader: node.leader, commitIndex: node.commitIndex, lastApplied: node.lastApplied, logLength: node.log.length, stats: node.stats });
    } else if (request.cmd === 'stop') {
      void node.stop().then(() => {
        reply({ stopped: true });
        process.exit(0);
      });
    } else {
      reply({ error: `unknown command ${JSON.stringify(request.cmd)}` });
    }
  });
  input.on('close', () => void node.stop().then(() => process.exit(0)));
}

main().catch((err: unknown) => {
  process.stderr.write(`crash-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
