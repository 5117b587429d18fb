import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const repoRoot = path.join(__dirname, '..', '..');
const taskScript = path.join(repoRoot, 'scripts', 'task.ts');

/** One node program (`npm run task2|task3 -- ARGS`) started by a lab run, and what it has printed. */
export interface NodeProgram {
  readonly number: number;
  readonly child: ChildProcess;
  exited: boolean;
  code: number | null;
  readonly exit: Promise<void>;
  /** Every line it printed (stdout and stderr), in order. */
  readonly lines: string[];
}

/**
 * Start scripts/task.ts with `args` (after `wrap`, e.g. ['ip', 'netns', 'exec', 'ns1']), echoing each line it
 * prints as `node N | line`.
 */
export function startNodeProgram(number: number, args: readonly string[], echo: (line: string) => void, wrap: readonly string[] = []): NodeProgram {
  const argv = [...wrap, process.execPath, '--import', 'tsx', taskScript, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      echo(`node ${number} | ${line}`);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const node: NodeProgram = {
    number,
    child,
    exited: false,
    code: null,
    lines,
    exit: new Promise((resolve) => child.on('exit', (code) => {
      node.exited = true;
      node.code = code;
      resolve();
    })),
  };
  return node;
}

/** Ctrl+C on a node program (SIGKILL if it has not exited 5 s later); resolves with its exit code. */
export async function interruptNodeProgram(node: NodeProgram): Promise<number | null> {
  if (!node.exited) {
    node.child.kill('SIGINT');
    const killer = setTimeout(() => node.child.kill('SIGKILL'), 5000);
    await node.exit;
    clearTimeout(killer);
  }
  return node.code;
}

export const labRepoRoot = repoRoot;
