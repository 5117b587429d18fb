import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

describe('README', () => {
  it('the ten-line simulated-cluster example prints the timeline shown under it', function () {
    this.timeout(30_000);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## A simulated cluster in ten lines'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const expected = /prints[\s\S]*?```\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code && expected, 'README has the example and its output');
    const lines = code.trim().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('import'));
    assert.ok(lines.length <= 11, `the example is about ten lines (${lines.length})`);
    mkdirSync(join(root, 'out'), { recursive: true });
    const file = join(root, 'out', 'readme-example.ts');
    writeFileSync(file, code.replace("from './lib'", "from '../lib'"));
    const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' });
    assert.equal(out.trimEnd(), expected.trimEnd());
  });
});
