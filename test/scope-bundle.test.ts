import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildForBrowser, repoRoot, scopeBundle } from '../lib/scope/build';

const sources = (dir: string): string[] =>
  fs.readdirSync(path.join(repoRoot, dir)).filter((f) => f.endsWith('.ts')).map((f) => path.join(repoRoot, dir, f));

describe('Raft Scope: the core and the simulator run in a browser', () => {
  it('every module of lib/raft and lib/sim bundles for the browser with no Node built-in', async () => {
    const entries = [...sources('lib/raft'), ...sources('lib/sim')];
    assert.ok(entries.length >= 8);
    const result = await buildForBrowser(entries, { minify: false });
    assert.deepEqual(result.errors, [], result.errors.join('\n'));
    assert.ok(result.ok);
  });

  it('the check fails on a module that needs Node (so it can catch one)', async () => {
    const result = await buildForBrowser([path.join(repoRoot, 'lib/net/file-storage.ts')]);
    assert.equal(result.ok, false);
    assert.match(result.errors.join('\n'), /Node-only import "node:fs" in lib\/net\/file-storage\.ts/);
  });

  it('the explorer bundles into out/scope/scope.js', async () => {
    const script = await scopeBundle();
    assert.ok(script.length > 10_000);
    assert.equal(fs.readFileSync(path.join(repoRoot, 'out/scope/scope.js'), 'utf8'), script);
    assert.ok(!/require\("node:/.test(script));
  });
});

describe('npm run scope', () => {
  it('serves the page and its script on 127.0.0.1 and stops on SIGTERM', async function () {
    this.timeout(60_000);
    const { spawn } = await import('node:child_process');
    const http = await import('node:http');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts/scope.ts'), '--port', '0', '--no-browser'], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no address within 30 s: ${out}`)), 30_000);
        const onData = (d: Buffer): void => {
          out += d.toString();
          const m = /Raft Scope on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      const get = (u: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
        http.get(u, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject);
      });
      const page = await get(url);
      assert.equal(page.status, 200);
      assert.match(page.body, /<script src="scope.js"><\/script>/);
      const script = await get(`${url}scope.js`);
      assert.equal(script.status, 200);
      assert.ok(script.body.length > 10_000);
      assert.equal((await get(`${url}nothing`)).status, 404);
    } finally {
      const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
