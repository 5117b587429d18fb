/**
 * npm run scope [-- --port N] [--no-browser]
 *
 * Raft Scope: builds the explorer for the browser (esbuild, into out/scope/) and serves it on 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { startScopeServer } from '../lib/scope/server';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

function openBrowser(url: string): boolean {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open';
  if (spawnSync('sh', ['-c', `command -v ${opener}`], { stdio: 'ignore' }).status !== 0) return false;
  spawn(opener, [url], { stdio: 'ignore', detached: true }).unref();
  return true;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('scope')
    .description('Raft Scope: an interactive, replayable Raft cluster in the browser')
    .option('--port <n>', 'port on 127.0.0.1 (default 8090; 0 = any free port)', port, 8090)
    .option('--no-browser', 'do not open a browser')
    .showHelpAfterError();
  program.parse(process.argv);
  const opts = program.opts<{ port: number; browser: boolean }>();
  const server = await startScopeServer({ port: opts.port }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new Error(`port ${opts.port} is in use: try --port ${opts.port + 1} (or --port 0)`);
    throw error;
  });
  process.stdout.write(`Raft Scope on ${server.url}  (Ctrl+C to stop)\n`);
  if (opts.browser && !openBrowser(server.url)) process.stdout.write('(no browser opener found: open the address above)\n');
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`scope: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
