import { RealNode } from '../net/real-node';
import type { Timings } from '../raft/node';
import type { NodeId } from '../raft/types';
import type { ConsensusNode } from '../raft/consensus-node';
import { clearDefaultNode, defaultNode, hasDefaultNode, useNode } from './registry';

/** raftos.configure's settings, in TypeScript idiom. */
export interface RaftosConfig {
  /** Folder of the .log/.storage/.state_machine files (raftos: 'log_path'). Default: the current folder. */
  readonly logPath: string;
  /** Election timeout range and heartbeat interval (raftos: 1.5-4.5 s and 0.3 s; ours: 150-300 ms and 50 ms). */
  readonly timings: Partial<Timings>;
  /** raftos's secret_key: authenticate every datagram; `encrypt` also hides it. */
  readonly secret?: string;
  readonly encrypt: boolean;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** fsync every write before acknowledging (default true; raftos never does). */
  readonly fsync: boolean;
  /** raftos's serializer: 'json' (JSONSerializer, `{"term": 1, ...}`) or 'compact-json' (as with ujson). */
  readonly serializer: 'json' | 'compact-json';
  /**
   * Log compaction: snapshot into <address>.snapshot once this many applied entries follow the last snapshot.
   * 0 (the default, as the lab's files expect): never.
   */
  readonly snapshotEvery: number;
  /** Lease reads for get() (needs checkQuorum; safe only while clocks drift less than 10%). Default false. */
  readonly leaseReads: boolean;
}

const defaults: RaftosConfig = {
  logPath: '.', timings: {}, encrypt: false, preVote: false, checkQuorum: false, fsync: true, serializer: 'json', snapshotEvery: 0,
  leaseReads: false,
};
let config: RaftosConfig = defaults;

/** raftos.configure({...}): settings for the nodes registered afterwards. Unknown keys are refused. */
export function configure(settings: Partial<RaftosConfig>): RaftosConfig {
  const known = new Set(Object.keys(defaults).concat('secret'));
  for (const key of Object.keys(settings)) {
    if (!known.has(key)) throw new TypeError(`configure: unknown setting "${key}" (known: ${[...known].join(', ')})`);
  }
  if (settings.serializer !== undefined && settings.serializer !== 'json' && settings.serializer !== 'compact-json') {
    throw new TypeError(`configure: serializer must be 'json' or 'compact-json', got ${JSON.stringify(settings.serializer)}`);
  }
  const every = settings.snapshotEvery;
  if (every !== undefined && !(Number.isInteger(every) && every >= 0)) {
    throw new TypeError(`configure: snapshotEvery must be a whole number of entries (0: never), got ${JSON.stringify(every)}`);
  }
  config = { ...config, ...settings };
  return config;
}

export function resetConfiguration(): void {
  config = defaults;
}

/**
 * raftos.register(address, cluster=[...]): start this process's node on UDP and make it the default for
 * getLeader(), waitUntilLeader() and Replicated objects created without an explicit node.
 */
export async function register(address: NodeId, options: { cluster: readonly NodeId[] }): Promise<RealNode> {
  const node = await RealNode.start({
    id: address,
    peers: options.cluster,
    dir: config.logPath,
    timings: config.timings,
    preVote: config.preVote,
    checkQuorum: config.checkQuorum,
    fsync: config.fsync,
    ...(config.snapshotEvery > 0 ? { snapshotEvery: config.snapshotEvery } : {}),
    ...(config.leaseReads ? { leaseReads: true } : {}),
    jsonStyle: config.serializer === 'compact-json' ? 'compact' : 'python',
    ...(config.secret ? { security: { secret: config.secret, encrypt: config.encrypt } } : {}),
  });
  useNode(node);
  return node;
}

/** raftos.stop(): stop the registered node (or `node`). */
export async function stop(node?: ConsensusNode): Promise<void> {
  const target = node ?? (hasDefaultNode() ? defaultNode() : null);
  if (!target) return;
  await target.stop();
  clearDefaultNode(target);
}
