/**
 * One RealNode in its own process, driven by bench/real.ts over a line-based JSON protocol.
 *
 *   node --import tsx bench/real-worker.ts --id 127.0.0.1:P --peers A,B,C --dir D [--fsync on|off] [--parallel-write on|off]
 *        [--election-min 150] [--election-max 300] [--heartbeat 50]
 *
 * stdout, one JSON object per line (`t` is a wall time in ms, performance.timeOrigin + performance.now(),
 * so the parent can compare times taken in different processes):
 *   {"type":"loaded","t"}                       modules loaded; waiting for {"cmd":"start"}
 *   {"type":"started","t","term","logLength"}   the node's files are loaded and its UDP socket is bound
 *   {"type":"leader","leader","t"}              the leader this node knows changed (null: none)
 *   {"type":"role","role","term","t"}
 *   {"type":"fatal","message"}                  the node stopped itself
 *   {"type":"error","code","message"}           start failed (code "EADDRINUSE": port taken); the process exits
 *   {"type":"reply","id",...}                   the answer to a command that carried an "id"
 * stdin, one JSON object per line:
 *   {"cmd":"start"}
 *   {"cmd":"status","id"}                              -> role, term, leader, commitIndex, lastApplied
 *   {"cmd":"propose-one","id","count","warmup"}        -> latenciesMs (one write at a time, warm-up not included)
 *   {"cmd":"propose-many","id","count","concurrency"}  -> committed, failed, elapsedMs (count writes, concurrency in flight)
 *   {"cmd":"read-one","id","count","warmup","mode"}    -> latenciesMs, entriesWritten (mode readindex or log)
 *   {"cmd":"snapshot","id"}                            -> index (the log compacted up to it)
 *   {"cmd":"stop","id"}                                -> stops the node, replies, exits
 * The worker also stops and exits when stdin closes, so it never outlives its parent.
 */
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import { RealNode, type RealNodeStats } from '../lib/net/real-node';

interface Args {
  readonly id: string;
  readonly peers: string[];
  readonly dir: string;
  readonly fsync: boolean;
  readonly parallelWrite: boolean;
  readonly electionMin: number;
  readonly electionMax: number;
  readonly heartbeat: number;
}

function parseArgs(argv: readonly string[]): Args {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!;
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`bad arguments near ${JSON.stringify(key)}`);
    values.set(key.slice(2), value);
  }
  const required = (name: string): string => {
    const v = values.get(name);
    if (v === undefined) throw new Error(`missing --${name}`);
    return v;
  };
  const number = (name: string, fallback: number): number => {
    const v = values.get(name);
    const n = v === undefined ? fallback : Number(v);
    if (!(n > 0 && Number.isFinite(n))) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  const fsync = values.get('fsync') ?? 'on';
  if (fsync !== 'on' && fsync !== 'off') throw new Error(`--fsync must be on or off, got ${fsync}`);
  const parallel = values.get('parallel-write') ?? 'on';
  if (parallel !== 'on' && parallel !== 'off') throw new Error(`--parallel-write must be on or off, got ${parallel}`);
  return {
    parallelWrite: parallel === 'on',
    id: required('id'),
    peers: required('peers').split(','),
    dir: required('dir'),
    fsync: fsync === 'on',
    electionMin: number('election-min', 150),
    electionMax: number('election-max', 300),
    heartbeat: number('heartbeat', 50),
  };
}

const wallNow = (): number => performance.timeOrigin + performance.now();

function emit(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** A small command; keys cycle so the replicated dictionary (and its .state_machine file) stays small. */
function command(i: number): Record<string, number> {
  return { [`k${i % 16}`]: i };
}

function statsDelta(before: RealNodeStats, after: RealNodeStats): Record<string, number> {
  return { datagramsSent: after.datagramsSent - before.datagramsSent, datagramsReceived: after.datagramsReceived - before.datagramsReceived };
}

function storageDelta(node: RealNode, before: Record<string, number> | null): Record<string, number> | null {
  const after = node.storageStats as Record<string, number> | null;
  if (!after || !before) return null;
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let node: RealNode | null = null;
  let exiting = false;

  const exit = async (code: number): Promise<void> => {
    if (exiting) return;
    exiting = true;
    if (node) await node.stop();
    process.exit(code);
  };

  const start = async (): Promise<void> => {
    try {
      node = await RealNode.start({
        id: args.id,
        peers: args.peers,
        dir: args.dir,
        fsync: args.fsync,
        leaderWritesWhileSending: args.parallelWrite,
        timings: { electionTimeout: { min: args.electionMin, max: args.electionMax }, heartbeatInterval: args.heartbeat },
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      emit({ type: 'error', code: typeof code === 'string' ? code : null, message: err instanceof Error ? err.message : String(err) });
      await exit(3);
      return;
    }
    const n = node;
    emit({ type: 'started', t: wallNow(), term: n.term, logLength: n.log.length });
    // The node's own leader (known at start, which it never is) is not an event; later changes are.
    n.on('leader', (leader) => emit({ type: 'leader', leader, t: wallNow() }));
    n.on('role', (role, term) => emit({ type: 'role', role, term, t: wallNow() }));
    n.on('fatal', (error) => emit({ type: 'fatal', message: error.message }));
    n.on('snapshot', (index, installed) => emit({ type: 'snapshot', index, installed, t: wallNow() }));
  };

  const handlers: Record<string, (request: Record<string, unknown>) => Promise<Record<string, unknown>>> = {
    status: async () => {
      const n = node;
      if (!n) return { running: false };
      return { running: n.isRunning, role: n.role, term: n.term, leader: n.leader, commitIndex: n.commitIndex, lastApplied: n.lastApplied, snapshotIndex: n.snapshotIndex };
    },
    'propose-one': async (request) => {
      const n = requireNode();
      const count = Number(request['count'] ?? 500);
      const warmup = Number(request['warmup'] ?? 0);
      const latenciesMs: number[] = [];
      let failed = 0;
      let firstError: string | null = null;
      for (let i = 0; i < warmup + count; i++) {
        const t0 = performance.now();
        try {
          await n.propose(command(i), { timeoutMs: 10_000 });
          if (i >= warmup) latenciesMs.push(performance.now() - t0);
        } catch (err) {
          failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
      return { latenciesMs, failed, firstError };
    },
    snapshot: async () => ({ index: requireNode().takeSnapshot() }),
    'read-one': async (request) => {
      // One linearizable read at a time: through ReadIndex ('readindex'), or an empty entry through the log ('log').
      const n = requireNode();
      const count = Number(request['count'] ?? 500);
      const warmup = Number(request['warmup'] ?? 0);
      const viaLog = request['mode'] === 'log';
      const latenciesMs: number[] = [];
      let failed = 0;
      let firstError: string | null = null;
      const entriesBefore = n.log.length;
      for (let i = 0; i < warmup + count; i++) {
        const t0 = performance.now();
        try {
          if (viaLog) await n.propose(null, { timeoutMs: 10_000 });
          else await n.read({ timeoutMs: 10_000 });
          if (i >= warmup) latenciesMs.push(performance.now() - t0);
        } catch (err) {
          failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
      return { latenciesMs, failed, firstError, entriesWritten: n.log.length - entriesBefore };
    },
    'propose-many': async (request) => {
      const n = requireNode();
      const count = Number(request['count'] ?? 20_000);
      const concurrency = Number(request['concurrency'] ?? 200);
      const stats = n.stats;
      const storage = n.storageStats as Record<string, number> | null;
      let next = 0;
      let committed = 0;
      let failed = 0;
      let firstError: string | null = null;
      const t0 = performance.now();
      const lane = async (): Promise<void> => {
        while (next < count) {
          const i = next++;
          try {
            await n.propose(command(i), { timeoutMs: 10_000 });
            committed++;
          } catch (err) {
            failed++;
            firstError ??= err instanceof Error ? err.message : String(err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
      const elapsedMs = performance.now() - t0;
      return { committed, failed, firstError, elapsedMs, stats: statsDelta(stats, n.stats), storage: storageDelta(n, storage) };
    },
  };

  function requireNode(): RealNode {
    if (!node) throw new Error('the node is not started');
    return node;
  }

  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => {
    if (line.trim() === '') return;
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(line) as Record<string, unknown>;
    } catch {
      emit({ type: 'protocol-error', message: `not JSON: ${line.slice(0, 80)}` });
      return;
    }
    const id = request['id'];
    const cmd = String(request['cmd']);
    if (cmd === 'start') {
      if (!node) void start();
      return;
    }
    if (cmd === 'stop') {
      void (async () => {
        if (node) await node.stop();
        emit({ type: 'reply', id, stopped: true });
        await exit(0);
      })();
      return;
    }
    const handler = handlers[cmd];
    if (!handler) {
      emit({ type: 'reply', id, error: `unknown command ${JSON.stringify(cmd)}` });
      return;
    }
    handler(request).then(
      (result) => emit({ type: 'reply', id, ...result }),
      (err: unknown) => emit({ type: 'reply', id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  // The parent went away (or closed our stdin): never linger.
  input.on('close', () => void exit(0));

  emit({ type: 'loaded', t: wallNow() });
}

main().catch((err: unknown) => {
  process.stderr.write(`real-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
