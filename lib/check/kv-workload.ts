/**
 * A key/value store on top of the library, driven by concurrent simulated clients in virtual time, whose
 * history is recorded for the linearizability checker (lib/check/linearizability.ts).
 *
 * The store: key K lives in the replicated state machine under the name `kv/K`, written with the library's own
 * `Replicated<string>('kv/K').set(v)` on a `SimNode` (drive 'external'). A put is one log entry `{"kv/K": v}`:
 * a blind write, so it is linearizable as it is. (`ReplicatedDict.setItem` is not used: it rewrites the whole
 * dictionary from the leader's applied state, a read-modify-write that loses concurrent updates; see
 * test/linearizability.test.ts.)
 *
 * Reads ('log', the default) go through the log: a get appends a marker entry `{"kv-read/<client>": n}` and,
 * once that entry is applied, answers with the value of `kv/K` after the entries before it in the log (the
 * last committed write to K at or before the marker's index). The marker's position in the log is its
 * linearization point: it lies between the call and the return, and the committed log is one sequence that
 * every node applies. This costs a replication round per read, like etcd's serializable-off reads or a
 * ReadIndex without the optimisation.
 * Reads 'leader-local' use `Replicated.get()`: the value the node that believes it leads has applied. A leader
 * cut off from the majority keeps believing so (without CheckQuorum, for ever) and answers from its stale
 * state: such reads are not linearizable, and the tests show the checker catching it.
 *
 * Clients: each runs one operation at a time, sends it to the node it thinks leads, follows NotLeaderError's
 * hint (or tries another node) and retries while the operation's deadline allows. A put whose entry was
 * accepted but whose fate is unknown (ProposalTimeoutError, LeadershipLostError, EntryOverwrittenError, the node
 * stopped) is recorded without a return:
 * it may take effect later or never, and it is not retried, since a late first copy could then overwrite a
 * newer value. A put refused outright (NotLeaderError) is retried. Reads change nothing, so they are always safe
 * to retry.
 */
import { EntryOverwrittenError, LeadershipLostError, NodeStoppedError, NotLeaderError, ProposalTimeoutError, ReadTimeoutError } from '../errors';
import { Replicated } from '../api/replicated';
import { SimNode, runVirtual } from '../api/sim-node';
import type { NodeId } from '../raft/types';
import { Cluster } from '../sim/cluster';
import { reliableNetwork, unreliableNetwork } from '../sim/network';
import { Rng } from '../sim/rng';
import type { KvOperation } from './linearizability';

export type KvFault = 'partitions' | 'crashes' | 'unreliable';

export interface KvWorkloadOptions {
  readonly seed: number;
  /** Cluster size (default 3). */
  readonly nodes?: number;
  /** Concurrent clients (default 4). */
  readonly clients?: number;
  /** Distinct keys (default 3): few keys, many conflicts. */
  readonly keys?: number;
  /** Virtual ms during which clients start operations (default 4000). */
  readonly durationMs?: number;
  /** An operation (all its retries) gives up after this many virtual ms (default 1000). */
  readonly opTimeoutMs?: number;
  readonly faults?: readonly KvFault[];
  /** 'log' (default): reads are log entries. 'leader-local': Replicated.get() on the believed leader. */
  readonly reads?: 'log' | 'leader-local';
  readonly checkQuorum?: boolean;
  /** Probability that an operation is a get (default 0.5). */
  readonly readRatio?: number;
}

export interface KvWorkloadRun {
  readonly history: KvOperation[];
  readonly cluster: Cluster;
  readonly stats: {
    readonly completed: number;
    readonly unknown: number;
    /** Operations that never got an entry accepted before their deadline (they did nothing; not in the history). */
    readonly abandoned: number;
    readonly retries: number;
    readonly faults: number;
    readonly virtualMs: number;
  };
}

const keyName = (key: string) => `kv/${key}`;

/** The value of `key` after the committed log up to `index`, as applied by `node`. */
function valueAt(cluster: Cluster, node: NodeId, index: number, key: string): string | null {
  const name = keyName(key);
  for (let i = index; i >= 1; i--) {
    const entry = cluster.appliedAt(node, i);
    if (entry === undefined) throw new Error(`${node} has not applied entry ${i} below its applied read marker at ${index}`);
    const command = entry.command;
    if (command !== null && Object.prototype.hasOwnProperty.call(command, name)) return command[name] as string;
  }
  return null;
}

export async function runKvWorkload(options: KvWorkloadOptions): Promise<KvWorkloadRun> {
  const faults = new Set(options.faults ?? []);
  const nodesCount = options.nodes ?? 3;
  const cluster = new Cluster({
    nodes: nodesCount,
    seed: options.seed,
    trace: 'off',
    checkQuorum: options.checkQuorum ?? false,
    network: faults.has('unreliable') ? unreliableNetwork : reliableNetwork,
  });
  const ids = cluster.ids;
  const rng = new Rng(options.seed * 7919 + 17);
  const duration = options.durationMs ?? 4000;
  const opTimeout = options.opTimeoutMs ?? 1000;
  const keys = Array.from({ length: options.keys ?? 3 }, (_, i) => `k${i}`);
  const readRatio = options.readRatio ?? 0.5;
  const reads = options.reads ?? 'log';
  const history: KvOperation[] = [];
  let unknown = 0;
  let abandoned = 0;
  let retries = 0;
  let faultCount = 0;

  const sleep = (ms: number) => new Promise<void>((resolve) => cluster.after(ms, resolve));
  const simNodes = new Map(ids.map((id) => [id, new SimNode(cluster, id, { drive: 'external' })]));

  // ---- Faults: one every 200-700 virtual ms until 80% of the run, then everything heals. ----
  const healAt = duration * 0.8;
  if (faults.has('partitions') || faults.has('crashes')) {
    let t = 300;
    while (t < healAt) {
      const at = t;
      const kinds: ('partition' | 'crash')[] = [];
      if (faults.has('partitions')) kinds.push('partition');
      if (faults.has('crashes')) kinds.push('crash');
      const kind = rng.pick(kinds);
      const victims = rng.shuffle(ids);
      const minority = victims.slice(0, rng.int(1, Math.floor((ids.length - 1) / 2)));
      const hold = rng.int(100, 700);
      cluster.at(at, () => {
        faultCount++;
        if (kind === 'partition') {
          cluster.partition(minority, ids.filter((id) => !minority.includes(id)));
          cluster.at(Math.min(at + hold, healAt), () => cluster.heal());
        } else {
          for (const id of minority) cluster.crash(id);
          cluster.at(Math.min(at + hold, healAt), () => {
            for (const id of minority) cluster.restart(id);
          });
        }
      });
      t += hold + rng.int(50, 300);
    }
    cluster.at(healAt, () => {
      cluster.heal();
      for (const id of ids) cluster.restart(id);
    });
  }

  // ---- Clients ----
  const clientCount = options.clients ?? 4;
  let running = clientCount;

  const client = async (c: number): Promise<void> => {
    const crng = new Rng(options.seed * 1_000_003 + c);
    let target: NodeId = crng.pick(ids);
    let seq = 0;
    const nextTarget = (hint: NodeId | null) => {
      target = hint && hint !== target ? hint : crng.pick(ids.filter((id) => id !== target));
    };
    while (cluster.now < duration) {
      await sleep(crng.int(0, 30));
      if (cluster.now >= duration) break;
      const key = crng.pick(keys);
      const isGet = crng.chance(readRatio);
      const call = cluster.now;
      const deadline = call + opTimeout;
      if (!isGet) {
        const value = `c${c}.${++seq}`;
        let outcome: 'ok' | 'unknown' | 'abandoned' = 'abandoned';
        while (cluster.now < deadline) {
          const node = simNodes.get(target)!;
          try {
            await new Replicated<string>(keyName(key), { node }).set(value, { timeoutMs: Math.max(1, deadline - cluster.now) });
            outcome = 'ok';
            break;
          } catch (err) {
            if (err instanceof NotLeaderError) {
              nextTarget(err.leaderId);
            } else if (
              err instanceof ProposalTimeoutError || err instanceof NodeStoppedError || err instanceof LeadershipLostError ||
              err instanceof EntryOverwrittenError
            ) {
              // Rejected early (the leader stepped down, its entry was replaced here): another leader may still commit it.
              outcome = 'unknown';
              nextTarget(null);
              break;
            } else {
              throw err;
            }
            retries++;
            await sleep(crng.int(5, 25));
          }
        }
        if (outcome === 'ok') history.push({ client: c, op: 'put', key, value, call, return: cluster.now });
        else if (outcome === 'unknown') {
          unknown++;
          history.push({ client: c, op: 'put', key, value, call });
        } else abandoned++;
        continue;
      }
      let read: { value: string | null } | null = null;
      while (cluster.now < deadline && read === null) {
        const node = simNodes.get(target)!;
        try {
          if (reads === 'log') {
            const { index } = await node.propose({ [`kv-read/${c}`]: ++seq }, { timeoutMs: Math.max(1, deadline - cluster.now) });
            read = { value: valueAt(cluster, target, index, key) };
          } else {
            const v = await new Replicated<string>(keyName(key), { node }).get();
            read = { value: v === undefined ? null : v };
          }
        } catch (err) {
          if (err instanceof NotLeaderError) nextTarget(err.leaderId);
          else if (
            err instanceof EntryOverwrittenError || err instanceof ProposalTimeoutError || err instanceof NodeStoppedError ||
            err instanceof LeadershipLostError || err instanceof ReadTimeoutError
          ) nextTarget(null);
          else throw err;
          retries++;
          await sleep(crng.int(5, 25));
        }
      }
      if (read !== null) history.push({ client: c, op: 'get', key, value: read.value, call, return: cluster.now });
      else abandoned++;
    }
  };

  const done = Promise.all(
    Array.from({ length: clientCount }, (_, c) =>
      client(c).finally(() => {
        running--;
      }),
    ),
  );
  let failure: unknown = null;
  done.catch((err: unknown) => {
    failure = err;
    running = 0;
  });
  await runVirtual(cluster, () => running === 0, { until: duration + opTimeout + 5000 });
  if (failure) throw failure;
  if (running > 0) throw new Error(`kv workload (seed ${options.seed}): ${running} clients still running at ${cluster.now} virtual ms`);
  const completed = history.filter((op) => op.return !== undefined).length;
  return { history, cluster, stats: { completed, unknown, abandoned, retries, faults: faultCount, virtualMs: cluster.now } };
}
