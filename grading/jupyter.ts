/**
 * Finding Jupyter (from the system's packages) and the course's kernel, for `npm start`, the grader and
 * `npm run notebooks:check`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..');
export const jupyterPath = path.join(repoRoot, 'jupyter');
export const kernelName = 'raftlab';
/** Debian's Python, which has the jupyter packages (a pyenv python3 on PATH does not). */
export const systemPython = '/usr/bin/python3';

export const aptPackages = {
  headless: ['jupyter-nbconvert', 'jupyter-client', 'jupyter-core', 'python3-nbclient'],
  server: ['jupyter-notebook'],
} as const;

export function aptCommand(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

/** The environment in which Jupyter finds this checkout's kernel. */
export function jupyterEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const existing = base.JUPYTER_PATH ? base.JUPYTER_PATH.split(path.delimiter).filter((p) => p !== jupyterPath) : [];
  return { ...base, JUPYTER_PATH: [jupyterPath, ...existing].join(path.delimiter) };
}

export interface Missing {
  readonly what: string;
  readonly packages: readonly string[];
}

function pythonImports(module: string): boolean {
  if (!fs.existsSync(systemPython)) return false;
  return spawnSync(systemPython, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** What is missing to execute notebooks headless, and for `server` also to serve them. */
export function missingJupyter(options: { server: boolean }): Missing[] {
  const missing: Missing[] = [];
  if (!pythonImports('nbclient') || !pythonImports('jupyter_client') || !pythonImports('nbformat')) {
    missing.push({ what: `nbclient and jupyter_client for ${systemPython}`, packages: aptPackages.headless });
  }
  if (options.server && !(onPath('jupyter-notebook') || onPath('jupyter-lab') || pythonImports('notebook'))) {
    missing.push({ what: 'the Jupyter Notebook server', packages: aptPackages.server });
  }
  return missing;
}

/** The kernelspec Jupyter will use, or a message saying why it cannot find it. */
export function kernelProblem(): string | null {
  const spec = path.join(jupyterPath, 'kernels', kernelName, 'kernel.json');
  if (!fs.existsSync(spec)) return `the kernelspec ${path.relative(repoRoot, spec)} is missing`;
  if (!fs.existsSync(path.join(repoRoot, 'node_modules', 'tslab', 'dist', 'main.js'))) return 'tslab is not installed: run "npm install"';
  return null;
}
