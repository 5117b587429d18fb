/**
 * npm start [-- --port 8888] [--no-browser] [--install-kernel] [--dry-run]
 *
 * Opens the course: checks what is missing (npm packages, Jupyter from the system's packages: installed with
 * apt-get when running as root, otherwise the exact command is printed), makes Jupyter find this checkout's
 * kernel (JUPYTER_PATH=<repo>/jupyter), and starts Jupyter Notebook on 127.0.0.1 in notebooks/.
 * --install-kernel instead copies the kernelspec into your user's Jupyter folder and exits: for editors (VS Code)
 * started without JUPYTER_PATH; the kernel then finds the checkout from the notebook's folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { precompileKernelLibrary } from '../grading/kernel-library';
import { aptCommand, jupyterEnv, jupyterPath, kernelName, kernelProblem, missingJupyter, repoRoot, systemPython, type Missing } from '../grading/jupyter';

interface Options {
  port: string;
  browser: boolean;
  installKernel?: boolean;
  dryRun?: boolean;
}

function say(line: string): void {
  console.log(`[raft-lab] ${line}`);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function installWithApt(missing: readonly Missing[], dryRun: boolean): boolean {
  const packages = [...new Set(missing.flatMap((m) => m.packages))];
  const command = aptCommand(packages);
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!hasApt) {
    say(`missing: ${missing.map((m) => m.what).join('; ')}.`);
    say('This system has no apt-get: install Jupyter Notebook with nbclient from your system\'s packages (Debian/Ubuntu names: ' + packages.join(', ') + ').');
    return false;
  }
  if (!isRoot()) {
    say(`missing: ${missing.map((m) => m.what).join('; ')}. Install it from the system's packages with:`);
    console.log(`\n  sudo sh -c '${command}'\n`);
    say('then run "npm start" again.');
    return false;
  }
  say(`installing from the system's packages: ${command}`);
  if (dryRun) return true;
  const result = spawnSync('sh', ['-c', command], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status === 0;
}

/** The raftlab kernelspec Jupyter resolves with our environment, or null. */
function resolvedKernel(): string | null {
  const result = spawnSync(systemPython, ['-c', `import jupyter_client.kernelspec as k; print(k.KernelSpecManager().get_kernel_spec(${JSON.stringify(kernelName)}).resource_dir)`], {
    env: jupyterEnv(), encoding: 'utf8',
  });
  return result.status === 0 ? result.stdout.trim() : null;
}

function userKernelDir(): string {
  const result = spawnSync(systemPython, ['-c', 'import jupyter_core.paths as p; print(p.jupyter_data_dir())'], { encoding: 'utf8' });
  const dataDir = result.status === 0 ? result.stdout.trim() : path.join(os.homedir(), '.local', 'share', 'jupyter');
  return path.join(dataDir, 'kernels', kernelName);
}

/** Copy kernel.json into the user's Jupyter folder; never overwrite a different kernel of the same name. */
function installUserKernel(dryRun: boolean): void {
  const source = path.join(jupyterPath, 'kernels', kernelName, 'kernel.json');
  const target = path.join(userKernelDir(), 'kernel.json');
  const content = fs.readFileSync(source, 'utf8');
  if (fs.existsSync(target)) {
    const existing = fs.readFileSync(target, 'utf8');
    if (existing === content) {
      say(`kernelspec already installed for your user: ${target}`);
      return;
    }
    if (!existing.includes('jupyter/kernels/raftlab')) {
      throw new Error(`${target} exists and is not Raft Lab's kernelspec: not overwriting it (remove it yourself if it is stale)`);
    }
  }
  say(`installing the kernelspec for your user: ${target} (it finds the checkout from the notebook's folder)`);
  if (dryRun) return;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, content);
}

function notebookCommand(): string[] | null {
  for (const candidate of [['jupyter-notebook'], ['jupyter', 'notebook']]) {
    const probe = spawnSync(candidate[0]!, [...candidate.slice(1), '--version'], { stdio: 'ignore', env: jupyterEnv() });
    if (probe.status === 0) return candidate;
  }
  return null;
}

async function main(): Promise<void> {
  const opts = new Command('start')
    .description('Open the Raft Lab course in Jupyter')
    .option('--port <port>', 'port of the Jupyter server', '8888')
    .option('--no-browser', 'do not open a browser')
    .option('--install-kernel', 'only install the kernelspec for your user (for VS Code started without JUPYTER_PATH), then exit')
    .option('--dry-run', 'say what would be done; install and start nothing')
    .parse()
    .opts<Options>();

  const kernel = kernelProblem();
  if (kernel) {
    say(kernel);
    process.exit(1);
  }
  let missing = missingJupyter({ server: true });
  if (missing.length > 0) {
    if (!installWithApt(missing, opts.dryRun === true)) process.exit(1);
    if (!opts.dryRun) {
      missing = missingJupyter({ server: true });
      if (missing.length > 0) {
        say(`still missing after the install: ${missing.map((m) => m.what).join('; ')}`);
        process.exit(1);
      }
    }
  }
  if (opts.installKernel) {
    installUserKernel(opts.dryRun === true);
    say('in VS Code: open a notebook in notebooks/, "Select Kernel" > "Jupyter Kernel..." > "Raft Lab (TypeScript)".');
    return;
  }

  const resolved = resolvedKernel();
  if (!opts.dryRun && resolved !== path.join(jupyterPath, 'kernels', kernelName)) {
    say(`Jupyter resolves the kernel "${kernelName}" to ${resolved ?? 'nothing'}, expected ${path.join(jupyterPath, 'kernels', kernelName)}`);
    process.exit(1);
  }
  say(`kernel "Raft Lab (TypeScript)" registered for this checkout: JUPYTER_PATH=${jupyterPath}`);

  const command = notebookCommand() ?? ['jupyter', 'notebook'];
  const args = [...command.slice(1), `--ip=127.0.0.1`, `--port=${opts.port}`, `--notebook-dir=${path.join(repoRoot, 'notebooks')}`];
  if (!opts.browser) args.push('--no-browser');
  if (isRoot()) args.push('--allow-root'); // Jupyter refuses to run as root otherwise (containers, CI machines)
  say(`starting: JUPYTER_PATH=${jupyterPath} ${command[0]} ${args.join(' ')}`);
  say('open 00-welcome.ipynb to begin; Ctrl+C stops the server.');
  if (opts.dryRun) return;
  if (process.env.RAFTLAB_WATCH !== '1') {
    // Every kernel then starts from the compiled library instead of compiling lib/ itself (once per version).
    say('compiling the library for the notebook kernel (once per version of lib/; a few seconds)...');
    await precompileKernelLibrary().catch((error: Error) => say(`${error.message} (each kernel will compile it instead)`));
  }
  const child = spawn(command[0]!, args, { stdio: 'inherit', env: jupyterEnv(), cwd: repoRoot });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

main().catch((error: Error) => {
  say(error.message);
  process.exit(1);
});
