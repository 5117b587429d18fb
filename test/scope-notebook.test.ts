import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Frame, Page } from 'puppeteer-core';
import { freeTcpPort } from '../lib/net/free-ports';
import { repoRoot } from '../lib/scope/build';
import { chromiumProblem, launchChromium, type HeadlessChromium } from '../lib/scope/headless';
import { jupyterEnv, missingJupyter } from '../grading/jupyter';

function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/** A notebook of markdown and code cells, on the course's kernel. */
function notebook(cells: { kind: 'markdown' | 'code'; source: string }[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'raftlab', display_name: 'Raft Lab (TypeScript)', language: 'typescript' }, language_info: { name: 'typescript' } },
    cells: cells.map((c, i) => ({
      id: `cell-${i}`,
      cell_type: c.kind,
      metadata: {},
      source: c.source,
      ...(c.kind === 'code' ? { outputs: [], execution_count: null } : {}),
    })),
  }, null, 1);
}

describe('Raft Scope in a real Jupyter Notebook, in Chromium', function () {
  this.timeout(180_000);
  let jupyter: ChildProcess | null = null;
  let chromium: HeadlessChromium | null = null;
  let folder = '';
  const log: string[] = [];

  before(function () {
    const missing = missingJupyter({ server: true });
    if (missing.length > 0) throw new Error(`Jupyter is missing: ${missing.map((m) => `${m.what} (apt-get install ${m.packages.join(' ')})`).join('; ')}`);
    const problem = chromiumProblem();
    if (problem) throw new Error(problem);
  });

  after(async () => {
    await chromium?.close();
    if (jupyter && jupyter.exitCode === null && jupyter.pid) {
      const exited = new Promise((resolve) => jupyter!.once('exit', resolve));
      try {
        process.kill(-jupyter.pid, 'SIGTERM'); // the server and the kernels it started (its own process group)
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-jupyter!.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  });

  it('runs a scope(...) cell: the explorer renders in the output and responds to clicks', async () => {
    // Under the repository, so the kernel (which runs from the repository root) imports ./lib/index.
    fs.mkdirSync(path.join(repoRoot, 'out'), { recursive: true });
    folder = fs.mkdtempSync(path.join(repoRoot, 'out', 'scope-notebook-'));
    fs.writeFileSync(path.join(folder, 'scope.ipynb'), notebook([
      { kind: 'markdown', source: '# Raft Scope in a notebook' },
      { kind: 'code', source: "import { scope } from './lib/index';\nawait scope({ seed: 3, nodes: 5 });" },
    ]));
    const port = await freeTcpPort();
    const token = randomBytes(16).toString('hex');
    const runtime = path.join(folder, '.runtime');
    fs.mkdirSync(runtime);
    jupyter = spawn('jupyter', [
      'notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--notebook-dir=${folder}`,
      `--NotebookApp.token=${token}`, '--allow-root',
    ], {
      cwd: repoRoot,
      env: { ...jupyterEnv(), JUPYTER_RUNTIME_DIR: runtime, JUPYTER_CONFIG_DIR: path.join(folder, '.config') },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    jupyter.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
    jupyter.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    const base = `http://127.0.0.1:${port}`;
    const started = Date.now();
    while ((await status(`${base}/api/status?token=${token}`)) !== 200) {
      if (jupyter.exitCode !== null) throw new Error(`jupyter notebook exited:\n${log.join('')}`);
      if (Date.now() - started > 60_000) throw new Error(`jupyter notebook did not answer within 60 s:\n${log.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    chromium = await launchChromium({ width: 1400, height: 1200 });
    const page: Page = await chromium.browser.newPage();
    await page.goto(`${base}/notebooks/scope.ipynb?token=${token}`, { waitUntil: 'load' });
    await page.waitForFunction(() => {
      const j = (window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter;
      return j?.notebook?.kernel?.is_connected() === true;
    }, { timeout: 60_000 });
    await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { execute_all_cells(): void } } }).Jupyter.notebook.execute_all_cells());
    const frameHandle = await page.waitForSelector('.output_area iframe.raft-scope-frame', { timeout: 120_000 });
    const frame: Frame | null = await frameHandle!.contentFrame();
    assert.ok(frame, 'the output holds the explorer frame');
    await frame.waitForSelector('.raft-scope .node', { timeout: 30_000 });
    assert.equal((await frame.$$('.raft-scope .node')).length, 5);
    assert.equal(await frame.$eval('[data-test=seed]', (e) => (e as HTMLInputElement).value), '3');

    // It responds: select a node, then step the run forward.
    await frame.$eval('.node[data-node=S2]', (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    assert.match(await frame.$eval('[data-test=inspector]', (e) => e.textContent ?? ''), /S2 \(127\.0\.0\.1:8001\): follower, term 0/);
    const before = await frame.$eval('.raft-scope', (e) => Number((e as HTMLElement).dataset.time));
    await frame.$eval('[data-test=step]', (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    const after = await frame.$eval('.raft-scope', (e) => Number((e as HTMLElement).dataset.time));
    assert.ok(after > before, `one step moves time on (${before} -> ${after})`);
    await page.screenshot({ path: path.join(repoRoot, 'out', 'scope', 'notebook.png') });
  });
});
