import { NotLeaderError } from '../errors';
import type { ConsensusNode } from '../raft/consensus-node';
import { Replicated } from '../api/replicated';

/** What a task program does to the outside world, so the same program runs on real and simulated nodes. */
export interface TaskIO {
  /** Append one line to this node's task file (task2_nodeN.txt / task3_nodeN.txt). */
  writeLine(line: string): void;
  /** Print to the program's terminal. */
  print(message: string): void;
  sleep(ms: number): Promise<void>;
  /** Aborted when the user stops the program (Ctrl+C). */
  readonly signal: AbortSignal;
}

export interface TaskOptions {
  /** NODE_ID in the manual: 1, 2 or 3. */
  readonly nodeNumber: number;
  /** Manual: 10 s for Task 2, 5 s for Task 3. */
  readonly pollMs: number;
  /** Task 3: how long the leader stays up after writing (manual: 2 s). */
  readonly settleMs?: number;
  /** Task 3: how long one write may wait for a majority. */
  readonly writeTimeoutMs?: number;
}

export const manualPollMs = { task2: 10_000, task3: 5_000 } as const;
/** --fast: a whole run takes seconds, with the same files. */
export const fastPollMs = { task2: 500, task3: 300 } as const;

export function taskFileName(task: 2 | 3, nodeNumber: number): string {
  return `task${task}_node${nodeNumber}.txt`;
}

function leaderLine(node: ConsensusNode): string {
  return `LEADER => ${node.getLeader() ?? 'None'}`;
}

/**
 * The manual's Task 2, as it was meant to run: every poll, write who leads; once this node leads,
 * write "LEADER IS NOW NODE n" once and keep leading until stopped. (The manual's script has that line
 * inside its loop by an indentation slip, so raftos runs write it after every poll.)
 * Resolves when this node has become leader, or when stopped.
 */
export async function task2(node: ConsensusNode, io: TaskIO, options: TaskOptions): Promise<'leader' | 'stopped'> {
  while (node.getLeader() !== node.id) {
    await io.sleep(options.pollMs);
    if (io.signal.aborted) return 'stopped';
    io.writeLine(leaderLine(node));
  }
  io.writeLine(`LEADER IS NOW NODE ${options.nodeNumber}`);
  return 'leader';
}

/**
 * The manual's Task 3 with its intended outcome every time: followers only report who leads; the leader
 * writes data_id = its NODE_ID, reports "done writing data", and stops by itself shortly after, so the next
 * leader does the same. Unlike the raftos script, a follower never calls set() (raftos crashed it with
 * NotALeaderException), and a write interrupted by a change of leader goes back to waiting.
 */
export async function task3(node: ConsensusNode, io: TaskIO, options: TaskOptions): Promise<'wrote' | 'stopped'> {
  const dataId = new Replicated<number>('data_id', { node });
  for (;;) {
    await io.sleep(options.pollMs);
    if (io.signal.aborted) return 'stopped';
    io.writeLine(leaderLine(node));
    if (node.getLeader() === node.id) {
      io.writeLine(`LEADER -> ${options.nodeNumber}`);
      try {
        await dataId.set(options.nodeNumber, { timeoutMs: options.writeTimeoutMs ?? 10_000 });
      } catch (error) {
        if (io.signal.aborted) return 'stopped';
        io.print(`write failed, waiting for the next leader: ${(error as Error).message}`);
        if (!(error instanceof NotLeaderError)) await io.sleep(options.pollMs);
        continue;
      }
      io.writeLine('done writing data_id');
      io.writeLine('done writing data');
      await io.sleep(options.settleMs ?? 2000);
      io.print('done');
      return 'wrote';
    }
    await io.sleep(options.pollMs);
    if (io.signal.aborted) return 'stopped';
  }
}
