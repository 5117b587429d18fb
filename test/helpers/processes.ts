import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const repoRoot = path.join(__dirname, '..', '..');

export { freeUdpBasePort as freeBasePort } from '../../lib/net/free-ports';

export interface NodeProcess {
  readonly child: ChildProcess;
  /** Every line printed on stdout and stderr so far. */
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first line (from the start) matching `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number, from?: number): Promise<string>;
}

const running = new Set<ChildProcess>();

/** Start `scripts/task.ts` as its own process, as a student would in a terminal. */
export function startTaskProcess(args: readonly string[]): NodeProcess {
  return startProcess(path.join(repoRoot, 'scripts', 'task.ts'), args);
}

/** Start a TypeScript program of this repository as its own process (killed by killAllProcesses). */
export function startProcess(script: string, args: readonly string[]): NodeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const output: string[] = [];
  const waiters: (() => void)[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') output.push(line);
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    running.delete(child);
    for (const w of [...waiters]) w();
    resolve(code);
  }));
  const waitFor = (pattern: RegExp, timeoutMs: number, from = 0) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const hit = output.slice(from).find((l) => pattern.test(l));
        if (hit !== undefined) {
          done();
          resolve(hit);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`process exited before printing ${pattern}; output:\n${output.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output.join('\n')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        const i = waiters.indexOf(check);
        if (i >= 0) waiters.splice(i, 1);
      };
      waiters.push(check);
      check();
    });
  return { child, output, exited, waitFor };
}

/** Kill every process these helpers started (call in afterEach). */
export async function killAllProcesses(): Promise<void> {
  const all = [...running];
  for (const child of all) child.kill('SIGKILL');
  await Promise.all(all.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
}
