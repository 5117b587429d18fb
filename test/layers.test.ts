import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkNotebookImports, describeImport } from '../scripts/course/notebook-imports';

const repo = path.resolve(__dirname, '..');
const config = path.join(repo, '.dependency-cruiser.js');
const depcruise = path.join(repo, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlab-layers-'));
  const all = { 'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', strict: true } }), ...files };
  for (const [name, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function cruise(dir: string): { status: number | null; output: string } {
  const dirs = ['lib', 'grading', 'scripts', 'bench'].filter((d) => fs.existsSync(path.join(dir, d)));
  const r = spawnSync(process.execPath, [depcruise, ...dirs, '--config', config, '--output-type', 'err'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  // a cycle is printed one module a line: join them
  return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/→\s*\n\s*/g, '→ ') };
}

describe('layers (dependency-cruiser rules of npm run lint:layers)', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('passes imports that point down', () => {
    const dir = project({
      'lib/raft/types.ts': 'export type NodeId = string;\n',
      'lib/errors.ts': "import type { NodeId } from './raft/types';\nexport class E extends Error { constructor(readonly id: NodeId) { super(id); } }\n",
      'lib/sim/cluster.ts': "import type { NodeId } from '../raft/types';\nimport { E } from '../errors';\nexport const ids: NodeId[] = []; export const e = E;\n",
      'lib/net/udp.ts': "import * as fs from 'node:fs';\nimport type { NodeId } from '../raft/types';\nexport const f = fs; export const n: NodeId = 'a';\n",
      'lib/api/raftos.ts': "import { ids } from '../sim/cluster';\nimport { n } from '../net/udp';\nexport const all = [...ids, n];\n",
      'lib/viz/plot.ts': "import { all } from '../api/raftos';\nexport const p = all;\n",
      'lib/course/nb.ts': "import { p } from '../viz/plot';\nexport const q = p;\n",
      'lib/index.ts': "export * from './course/nb';\n",
      'grading/task.ts': "import { q } from '../lib/course/nb';\nexport const t = q;\n",
      'scripts/run.ts': "import { t } from '../grading/task';\nimport { q } from '../lib/index';\nexport const r = [t, q];\n",
    });
    dirs.push(dir);
    const r = cruise(dir);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /no dependency violations/);
  });

  it('fails each backward import and each cycle, naming the rule and the files', () => {
    const dir = project({
      'lib/raft/types.ts': "import * as fs from 'node:fs';\nimport { g } from '../../grading/checks';\nexport const x = [fs, g];\n",
      'lib/net/real.ts': "import type { Api } from '../api/node';\nexport const r: Api | null = null;\n",
      'lib/api/node.ts': "export interface Api { id: string }\n",
      'lib/sim/cluster.ts': "import { r } from '../net/real';\nexport const c = r;\n",
      'lib/course/nb.ts': "import { fig } from '../../bench/figure';\nexport const n = fig;\n",
      'lib/viz/plot.ts': "import { n } from '../course/nb';\nexport const p = n;\n",
      'bench/figure.ts': 'export const fig = 16;\n',
      'grading/checks.ts': "import { j } from '../scripts/jupyter';\nexport const g = j;\n",
      'grading/grade.ts': "import { safe } from './gradebook';\nexport interface Grade { id: string }\nexport const s = safe;\n",
      'grading/gradebook.ts': "import type { Grade } from './grade';\nexport const safe = (g: Grade) => g.id;\n",
      'scripts/jupyter.ts': 'export const j = 1;\n',
    });
    dirs.push(dir);
    const r = cruise(dir);
    assert.notEqual(r.status, 0, r.output);
    const expect: [string, string][] = [
      ['raft-runs-in-a-browser', 'lib/raft/types.ts → fs'],
      ['raft-imports-only-raft', 'lib/raft/types.ts → grading/checks.ts'],
      ['net-imports-only-raft', 'lib/net/real.ts → lib/api/node.ts'],
      ['sim-imports-only-raft', 'lib/sim/cluster.ts → lib/net/real.ts'],
      ['course-imports-lib', 'lib/course/nb.ts → bench/figure.ts'],
      ['tools-import-lower-layers', 'lib/viz/plot.ts → lib/course/nb.ts'],
      ['grading-imports-lib-only', 'grading/checks.ts → scripts/jupyter.ts'],
      ['no-circular', 'grading/grade.ts → grading/gradebook.ts'],
    ];
    for (const [rule, edge] of expect) assert.ok(r.output.includes(`${rule}: ${edge}`), `expected "${rule}: ${edge}" in:\n${r.output}`);
  });

  it('the repository itself keeps its layers', () => {
    const r = spawnSync(process.execPath, [depcruise, 'lib', 'grading', 'scripts', 'bench', 'test', '--config', config, '--output-type', 'err'], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});

describe('notebook imports (rule notebooks-import-lib-index)', () => {
  const notebook = (cells: string[]) => JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: cells.map((source, i) => ({ cell_type: i === 1 ? 'markdown' : 'code', id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
  });
  let root = '';
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlab-nbimports-'));
    fs.mkdirSync(path.join(root, 'notebooks', 'source'), { recursive: true });
    fs.writeFileSync(path.join(root, 'notebooks', 'source', '01-a.ipynb'), notebook([
      "import * as fs from 'node:fs';\nimport { Cluster } from './lib/index';\nimport { plot } from './lib/viz/index';",
      "import { nope } from './grading/task2'; (markdown: not code)",
      "const x = 1;\nconst { checkTask3 } = require('./grading/task3');\nconst m = await import('./lib/course/notebook-02');",
    ]));
    fs.writeFileSync(path.join(root, 'notebooks', 'source', '02-b.ipynb'), notebook(["import { Cluster } from './lib/index';"]));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('names the notebook, cell, line and import of every direct import; lib/index and node: builtins pass', () => {
    const { violations, tolerated } = checkNotebookImports(root, {});
    assert.equal(tolerated.length, 0);
    assert.deepEqual(violations.map(describeImport), [
      "notebooks/source/01-a.ipynb cell 0 (c0) line 3: imports './lib/viz/index'; notebooks import only from './lib/index' and './grading/index' (rule notebooks-import-lib-index)",
      "notebooks/source/01-a.ipynb cell 2 (c2) line 2: imports './grading/task3'; notebooks import only from './lib/index' and './grading/index' (rule notebooks-import-lib-index)",
      "notebooks/source/01-a.ipynb cell 2 (c2) line 3: imports './lib/course/notebook-02'; notebooks import only from './lib/index' and './grading/index' (rule notebooks-import-lib-index)",
    ]);
  });

  it('tolerates only the listed imports of the listed notebook', () => {
    const { violations, tolerated } = checkNotebookImports(root, { 'notebooks/source/01-a.ipynb': ['./lib/viz/index', './grading/task3'] });
    assert.deepEqual(tolerated.map((i) => i.specifier), ['./lib/viz/index', './grading/task3']);
    assert.deepEqual(violations.map((i) => i.specifier), ['./lib/course/notebook-02']);
  });

  it("today's source notebooks import only './lib/index', './grading/index' and node: builtins", () => {
    assert.deepEqual(checkNotebookImports(repo).violations.map(describeImport), []);
  });
});
