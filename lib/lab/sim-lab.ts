import type { CreateNode } from '../raft/node';
import { runVirtual, SimNode } from '../api/sim-node';
import { writeSimulatedRun } from './run-folder';
import { formatLog, formatStateMachine, formatStorage } from '../net/raftos-files';
import type { Handlers } from '../raft/context';
import type { Timings } from '../raft/node';
import type { RaftRules } from '../raft/rules';
import type { NodeId } from '../raft/types';
import { Cluster } from '../sim/cluster';
import type { NetworkOptions } from '../sim/network';
import { manualPollMs, task2, task3, taskFileName, type TaskIO } from './tasks';

export interface SimLabOptions {
  readonly seed?: number;
  /** Poll interval of the programs (default: the manual's, 10 s for Task 2 and 5 s for Task 3). */
  readonly pollMs?: number;
  /** How long the simulated student takes to press Ctrl+C once the file shows a new leader. Default 3 s. */
  readonly reactionMs?: number;
  /** How many "LEADER => None" lines the last node writes before it is stopped (manual: "a few"). Default 3. */
  readonly noneLines?: number;
  readonly timings?: Partial<Timings>;
  readonly network?: Partial<NetworkOptions>;
  /** Give up after this much virtual time. Default 10 minutes. */
  readonly maxVirtualMs?: number;
  /** Write the artifact files into this folder too (refused if it holds files a simulated run did not write). */
  readonly out?: string;
  /** Run the nodes on these handlers (a student's Raft); the rest are the reference's. */
  readonly handlers?: Partial<Handlers>;
  readonly rules?: Partial<RaftRules>;
  /** Build each server (a student's isolated Raft: studentNodeFactory); handlers and rules are then ignored. */
  readonly createNode?: CreateNode;
}

export interface SimLabRun {
  readonly task: 2 | 3;
  readonly cluster: Cluster;
  /** Artifact file name -> content, exactly as the real programs write them. */
  readonly files: ReadonlyMap<string, string>;
  /** When each node was stopped (virtual ms), in order. */
  readonly stops: readonly { node: NodeId; at: number; how: 'ctrl+c' | 'exited' }[];
  readonly completed: boolean;
}

/** The lab's three nodes, 127.0.0.1:8000-8002, as NODE_ID 1-3. */
const labIds = ['127.0.0.1:8000', '127.0.0.1:8001', '127.0.0.1:8002'] as const;

/**
 * Run the manual's Task 2 or Task 3 on the in-process cluster in virtual time: the three programs, and a
 * simulated student who presses Ctrl+C as the manual says. Produces the same files as the real lab.
 */
export async function runLabInSim(task: 2 | 3, options: SimLabOptions = {}): Promise<SimLabRun> {
  const cluster = new Cluster({
    nodes: [...labIds],
    seed: options.seed ?? 1,
    trace: 'state',
    ...(options.timings ? { timings: options.timings } : {}),
    ...(options.network ? { network: options.network } : {}),
    ...(options.handlers ? { handlers: options.handlers } : {}),
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.createNode ? { createNode: options.createNode } : {}),
  });
  const pollMs = options.pollMs ?? (task === 2 ? manualPollMs.task2 : manualPollMs.task3);
  const reactionMs = options.reactionMs ?? 3000;
  const noneLines = options.noneLines ?? 3;
  const lines = new Map<string, string[]>();
  const stops: { node: NodeId; at: number; how: 'ctrl+c' | 'exited' }[] = [];
  const controllers = labIds.map(() => new AbortController());
  const finished = labIds.map(() => false);

  const stop = (i: number, how: 'ctrl+c' | 'exited') => {
    if (finished[i]) return;
    finished[i] = true;
    controllers[i]!.abort();
    cluster.crash(labIds[i]!);
    stops.push({ node: labIds[i]!, at: cluster.now, how });
  };

  const programs = labIds.map(async (id, i) => {
    const file = taskFileName(task, i + 1);
    const out: string[] = [];
    lines.set(file, out);
    const io: TaskIO = {
      writeLine: (line) => {
        if (!finished[i]) out.push(line);
      },
      print: () => undefined,
      sleep: (ms) => new Promise((resolve) => cluster.after(ms, resolve)),
      signal: controllers[i]!.signal,
    };
    const node = new SimNode(cluster, id, { drive: 'external' });
    const taskOptions = { nodeNumber: i + 1, pollMs, settleMs: 2000, writeTimeoutMs: 10_000 };
    if (task === 2) {
      await task2(node, io, taskOptions);
    } else if ((await task3(node, io, taskOptions)) === 'wrote') {
      stop(i, 'exited');
    }
  });

  // The student: Ctrl+C on each new leader, then on the last node once it has shown "LEADER => None".
  const alive = () => labIds.map((_, i) => i).filter((i) => !finished[i]);
  const leaderAnnounced = (i: number) => (lines.get(taskFileName(task, i + 1)) ?? []).some((l) => l.startsWith('LEADER IS NOW NODE'));
  const trailingNone = (i: number) => {
    const l = lines.get(taskFileName(task, i + 1)) ?? [];
    let n = 0;
    for (let k = l.length - 1; k >= 0 && l[k] === 'LEADER => None'; k--) n++;
    return n;
  };
  const pending = new Set<number>();
  const student = () => {
    const up = alive();
    if (up.length === 1) {
      if (trailingNone(up[0]!) >= noneLines) stop(up[0]!, 'ctrl+c');
      return;
    }
    if (task === 2) {
      for (const i of up) {
        if (leaderAnnounced(i) && !pending.has(i)) {
          pending.add(i);
          cluster.after(reactionMs, () => stop(i, 'ctrl+c'));
        }
      }
    }
  };

  const maxTime = options.maxVirtualMs ?? 600_000;
  const completed = await runVirtual(
    cluster,
    () => {
      student();
      return finished.every(Boolean);
    },
    { until: maxTime },
  );
  for (let i = 0; i < labIds.length; i++) if (!finished[i]) controllers[i]!.abort();
  void Promise.allSettled(programs);

  const files = new Map<string, string>();
  for (const [file, content] of lines) files.set(file, content.map((l) => l + '\n').join(''));
  for (const id of labIds) {
    const status = cluster.status(id);
    const base = id.replace(':', '_');
    files.set(`${base}.log`, formatLog(status.log));
    files.set(`${base}.storage`, formatStorage({ currentTerm: status.term, votedFor: status.votedFor }));
    const stateMachine = cluster.stateMachine(id);
    if (stateMachine.size > 0) files.set(`${base}.state_machine`, formatStateMachine(stateMachine.toJSON()));
  }
  // Replaces the previous simulated run's files only; a folder with anything else in it is refused.
  if (options.out) writeSimulatedRun(options.out, files, `runLabInSim(${task}, seed ${options.seed ?? 1})`);
  return { task, cluster, files, stops, completed };
}
