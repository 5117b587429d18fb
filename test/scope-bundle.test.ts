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
