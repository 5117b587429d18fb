import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gradeNotebook, notebookRunnerProblem } from '../grading/notebook-grader';
import { cgroupSupport } from '../grading/cgroup';
import { runSandboxed, sandboxProblem, type SandboxResult } from '../grading/sandbox';

/** Issue 10, section 2: student code under bubblewrap (real bwrap; skipped where it cannot run). */
const root = path.join(__dirname, '..');

/** Every file under `dir` with a hash of its content (and every folder), to compare before and after. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${p}/`);
        walk(p);
      } else out.push(`${p} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

/** Processes on the machine whose command line matches (pgrep never lists itself). */
function running(pattern: string): string {
  const r = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  return r.stdout.trim();
}

const repoSnapshot = () => [...snapshot(path.join(root, 'notebooks')), ...snapshot(path.join(root, 'lib')), ...snapshot(path.join(root, 'grading'))];

function node(code: string, limits: Parameters<typeof runSandboxed>[0]['limits'] = {}): Promise<SandboxResult> {
  return runSandboxed({
    argv: ['/usr/bin/node', '-e', code],
    root,
    allow: ['lib', 'grading', 'node_modules', 'package.json'],
    privateAt: path.join(root, 'out'),
    cwd: root,
    env: { PATH: '/usr/bin:/bin' },
    limits: { wallSeconds: 60, ...limits },
  });
}

const tryRead = (file: string) => `try { require('fs').readFileSync(${JSON.stringify(file)}); console.log('READ'); } catch (e) { console.log(e.code); }`;
const tryWrite = (file: string) => `try { require('fs').writeFileSync(${JSON.stringify(file)}, 'pwned'); console.log('WROTE'); } catch (e) { console.log(e.code); }`;

describe('grading: the sandbox (bubblewrap)', function () {
  this.timeout(300_000);
  let tmp: string;
  let canary: string;
  let initial: string[];
  before(function () {
    const problem = sandboxProblem();
    if (problem) {
      console.log(`      (skipped: ${problem})`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-sandbox-'));
    canary = path.join(tmp, 'other-submission');
    fs.mkdirSync(path.join(canary, 'notes'), { recursive: true });
    fs.writeFileSync(path.join(canary, '01-leader-election.ipynb'), '{"cells": []}');
    fs.writeFileSync(path.join(canary, 'notes', 'secret.txt'), 'another student');
    initial = [...snapshot(canary), ...repoSnapshot()];
  });
  afterEach(() => {
    if (initial) assert.deepEqual([...snapshot(canary), ...repoSnapshot()], initial, 'nothing outside the private folder changed');
  });
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  it('the solutions, the hidden tests, another submission and /etc/shadow do not exist inside; /etc/passwd is synthetic', async () => {
    const r = await node([
      tryRead(path.join(root, 'notebooks', 'solution', '01-leader-election.ipynb')),
      tryRead(path.join(root, 'notebooks', 'source', '01-leader-election.ipynb')),
      tryRead(path.join(canary, '01-leader-election.ipynb')),
      tryRead('/etc/shadow'),
      "console.log(require('fs').readFileSync('/etc/passwd', 'utf8').split('\\n').filter(Boolean).map((l) => l.split(':')[0]).join(','));",
      tryRead(path.join(root, 'lib', 'index.ts')),
    ].join('\n'));
    assert.deepEqual(r.stdout.trim().split('\n'), ['ENOENT', 'ENOENT', 'ENOENT', 'ENOENT', 'root,student,nobody', 'READ']);
    assert.equal(r.verdict, null);
  });

  it('it writes only in its own folder: the course is read-only, the rest of the machine absent', async () => {
    const r = await node([
      tryWrite(path.join(root, 'lib', 'pwned.ts')),
      tryWrite(path.join(root, 'notebooks', 'pwned.ipynb')),
      tryWrite(path.join(canary, 'notes', 'secret.txt')),
      tryWrite('/usr/pwned'),
      tryWrite(path.join(root, 'out', 'mine.txt')),
    ].join('\n'));
    assert.deepEqual(r.stdout.trim().split('\n'), ['EROFS', 'ENOENT', 'ENOENT', 'EROFS', 'WROTE']);
    assert.ok(!fs.existsSync(path.join(root, 'out', 'mine.txt')), 'its folder is private, not the checkout\'s out/');
  });

  it('no network: a server on the host at 127.0.0.1 cannot be reached', async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await node(`require('net').connect(${port}, '127.0.0.1').on('connect', () => console.log('CONNECTED')).on('error', (e) => console.log(e.code));`);
      assert.equal(r.stdout.trim(), 'ECONNREFUSED');
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });

  it('a fork without end is held at the process limit and every process dies with the sandbox', async () => {
    const r = await runSandboxed({
      argv: ['/bin/sh', '-c', 'while :; do sleep 777 & done'],
      root, allow: [], privateAt: '/work-private', cwd: '/', env: { PATH: '/usr/bin:/bin' },
      limits: { processes: 64, wallSeconds: 5 },
    });
    // The shell gives up when fork fails, or runs into the wall time: either way the run ends.
    assert.ok(r.end.kind === 'wall-time' || r.end.kind === 'exit', JSON.stringify(r.end));
    assert.match(r.stderr, /fork|Resource temporarily unavailable/i, 'forks were refused at the limit');
    assert.equal(running('sleep 777'), '', 'no process of it is left');
  });

  it('allocating 20 GB stops at the memory limit, with a verdict', async () => {
    const buffers = await node('const a = []; for (let i = 0; i < 200; i++) a.push(Buffer.alloc(100 * 1024 * 1024)); console.log("ALLOCATED", a.length);', { memoryBytes: 2 * 1024 ** 3 });
    assert.equal(buffers.stdout.includes('ALLOCATED'), false);
    assert.match(buffers.stderr, /Array buffer allocation failed|out of memory/);
    const heap = await node('const a = []; for (;;) a.push(new Array(1e6).fill(1.5));', { memoryBytes: 2 * 1024 ** 3 });
    assert.notEqual(heap.end.kind === 'exit' && heap.end.code === 0, true);
    assert.ok(heap.verdict !== null || /out of memory/i.test(heap.stderr), `a verdict: ${heap.verdict} ${heap.stderr.slice(-200)}`);
  });

  it('works on a checkout under a folder only the grader may enter (mktemp -d is 0700), and leaves no mount', async () => {
    const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlab-private-'));
    try {
      assert.equal(fs.statSync(outer).mode & 0o777, 0o700);
      const checkout = path.join(outer, 'main');
      fs.mkdirSync(path.join(checkout, 'lib'), { recursive: true });
      fs.writeFileSync(path.join(checkout, 'lib', 'x.txt'), 'the library');
      const r = await runSandboxed({
        argv: ['/bin/cat', path.join(checkout, 'lib', 'x.txt')], root: checkout, allow: ['lib'], privateAt: '/work-private', cwd: '/', env: { PATH: '/usr/bin:/bin' },
        limits: { wallSeconds: 30 },
      });
      assert.equal(r.verdict, null, r.stderr);
      assert.equal(r.stdout, 'the library');
      assert.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(outer), false, 'the view was mounted in the run\'s own namespace only');
    } finally {
      fs.rmSync(outer, { recursive: true, force: true });
    }
  });

  describe('totals for the whole tree (a control group, where one can be made)', function () {
    // Four processes of 200 MB each: every one is under its own limit (1 GiB), together they are not.
    const tree = `const { spawn } = require('child_process');
      const kids = [1, 2, 3, 4].map(() => spawn(process.execPath, ['-e', 'const b = Buffer.alloc(200e6, 1); setTimeout(() => console.log(b[7]), 1500)'], { stdio: 'inherit' }));
      let left = kids.length; for (const k of kids) k.on('exit', (code, sig) => { console.log('child', code, sig); if (sig) process.exitCode = FAIL; if (--left === 0) console.log('ALL DONE'); });`;
    before(function () {
      if (cgroupSupport() === null) {
        // Only where the machine really refuses: as root, a v1 memory hierarchy that takes a new group must be used.
        let makes = false;
        const probe = `/sys/fs/cgroup/memory/raftlab-probe-${process.pid}`;
        try { fs.mkdirSync(probe); makes = true; fs.rmdirSync(probe); } catch { /* refused */ }
        assert.ok(!makes || !fs.existsSync('/sys/fs/cgroup/pids/cgroup.procs'), 'control groups can be made here, yet none was');
        console.log('      (skipped: no control group can be made here: per-process limits only)');
        this.skip();
      }
    });

    it('four processes each under its own limit are stopped when together they pass the total', async () => {
      const r = await node(tree.replace('FAIL', '1'), { memoryBytes: 1024 ** 3, totalMemoryBytes: 400 * 1024 ** 2, wallSeconds: 60 });
      assert.equal(r.confinement, cgroupSupport());
      assert.match(r.stdout, /child null SIGKILL/, 'a child was killed at the total');
      assert.equal(r.end.kind, 'signal', JSON.stringify(r.end));
      assert.match(r.verdict ?? '', /the memory limit of all its processes together/);
    });

    it('a program that outlives a killed child and exits 0 keeps its exit', async () => {
      const r = await node(tree.replace('FAIL', '0'), { memoryBytes: 1024 ** 3, totalMemoryBytes: 400 * 1024 ** 2, wallSeconds: 60 });
      assert.match(r.stdout, /child null SIGKILL/);
      assert.deepEqual(r.end, { kind: 'exit', code: 0 });
      assert.equal(r.verdict, null);
    });

    it('the same tree under a total it fits in runs to the end', async () => {
      const r = await node(tree.replace('FAIL', '1'), { memoryBytes: 1024 ** 3, totalMemoryBytes: 3 * 1024 ** 3, wallSeconds: 60 });
      assert.match(r.stdout, /ALL DONE/);
      assert.equal((r.stdout.match(/child 0 null/g) ?? []).length, 4, r.stdout + r.stderr);
      assert.equal(r.end.kind, 'exit');
    });

    it('processes in all are held at the total, whatever the per-process limit', async () => {
      const r = await node(`const { spawn } = require('child_process'); let ok = 0, refused = 0;
        for (let i = 0; i < 60; i++) { try { const c = spawn('/bin/sleep', ['3']); c.on('error', () => refused++); ok++; } catch { refused++; } }
        setTimeout(() => console.log('spawned', ok, 'refused', refused), 1000);`, { processes: 2000, totalProcesses: 30, wallSeconds: 60 });
      const m = /refused (\d+)/.exec(r.stdout);
      assert.ok(m && Number(m[1]) >= 20, r.stdout + r.stderr);
    });
  });

  it('a loop forever is stopped at its CPU time limit', async () => {
    const r = await node('for (;;) {}', { cpuSeconds: 2 });
    assert.equal(r.end.kind, 'signal');
    assert.match(r.verdict ?? '', /SIGXCPU: its CPU time limit/);
  });

  describe('a batch of hostile notebooks in their kernels', () => {
    const code = (source: string, raftlab?: Record<string, unknown>) => ({ cell_type: 'code', metadata: raftlab ? { raftlab } : {}, source, outputs: [], execution_count: null });
    const kernelspec = { display_name: 'Raft Lab (TypeScript)', language: 'typescript', name: 'raftlab' };
    const nb = (cells: unknown[]) => ({ cells, metadata: { kernelspec }, nbformat: 4, nbformat_minor: 5 });
    const imports = code("import { autograder, check } from './lib/course/autograder';\nimport { strict as assert } from 'node:assert';\nimport * as fs from 'node:fs';\nimport * as net from 'node:net';\nimport * as cp from 'node:child_process';");
    const exercise = (body: string) => code(`function answer(): number {\n  ${body}\n}`, { role: 'exercise', id: 'ex-answer' });
    const grader = code("await autograder('answer', [check(2, 'answer.value', 'is 42', () => assert.equal(answer(), 42), 'return 42')]);", { role: 'autograder', id: 'check-answer', points: 2 });

    before(function () {
      const problem = notebookRunnerProblem();
      if (problem) {
        console.log(`      (skipped: ${problem})`);
        this.skip();
      }
      fs.mkdirSync(path.join(tmp, 'ref'));
      fs.writeFileSync(path.join(tmp, 'ref', '99-sandbox.ipynb'), JSON.stringify(nb([imports, exercise('return 42;'), grader])));
    });

    it('each attack gets a verdict, the batch goes on, and nothing outside their folders changes', async () => {
      let connections = 0;
      const server = net.createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as net.AddressInfo).port;
      const hostile = nb([
        imports,
        exercise('return 42;'),
        code(`fs.readFileSync(${JSON.stringify(path.join(root, 'notebooks', 'solution', '01-leader-election.ipynb'))});`),
        code(`fs.readFileSync(${JSON.stringify(path.join(canary, '01-leader-election.ipynb'))});`),
        code("fs.readFileSync('/etc/shadow');"),
        code(`fs.writeFileSync(${JSON.stringify(path.join(root, 'lib', 'pwned.ts'))}, 'x');`),
        code(`await new Promise((resolve, reject) => net.connect(${port}, '127.0.0.1').on('connect', resolve).on('error', reject));`),
        code("cp.spawn('/bin/sh', ['-c', 'while :; do sleep 778 & done'], { detached: true, stdio: 'ignore' }).unref();"),
        code('const big: Buffer[] = [];\nfor (let i = 0; i < 200; i++) big.push(Buffer.alloc(100 * 1024 * 1024));'),
        code('let spins = 0;\nwhile (spins >= 0) spins++;'),
        grader,
      ]);
      const control = nb([imports, exercise('return 6 * 7;'), grader]);
      const results = [];
      try {
        for (const [name, notebook] of [['hostile', hostile], ['control', control]] as const) {
          const dir = path.join(tmp, name);
          fs.mkdirSync(dir);
          const file = path.join(dir, '99-sandbox.ipynb');
          fs.writeFileSync(file, JSON.stringify(notebook));
          results.push(await gradeNotebook(file, {
            workDir: path.join(dir, 'work'), referenceDir: path.join(tmp, 'ref'), publicDir: path.join(tmp, 'ref'),
            cellTimeoutS: 15, totalTimeoutS: 120, limits: { memoryBytes: 3 * 1024 ** 3, processes: 256 }, kernelRun: true,
          }));
        }
      } finally {
        server.close();
      }
      const [h, c] = results;
      assert.equal(h!.score, 2, 'the hostile notebook\'s exercise still scores: the harness is its own run');
      const verdict = h!.checks.find((x) => x.id === '99-sandbox/kernel-run')!.message;
      const line = (cell: number) => verdict.split('\n').find((l) => l.startsWith(`cell ${cell} (`)) ?? '';
      for (const cell of [2, 3, 4]) assert.match(line(cell), /error: .*ENOENT.*sandbox shows only/, verdict);
      assert.match(line(5), /error: .*EROFS/);
      assert.match(line(6), /error: .*ECONNREFUSED.*no network/);
      assert.equal(line(7), '', 'the fork loop cell itself returned');
      assert.match(line(8), /error: .*allocation failed.*memory limit/i);
      assert.match(line(9), /timeout/, 'the endless loop was stopped');
      assert.equal(connections, 0);
      assert.equal(running('sleep 778'), '', 'the fork loop died with its sandbox');
      assert.equal(c!.score, 2, 'the next notebook of the batch is graded as usual');
      assert.equal(c!.checks.find((x) => x.id === '99-sandbox/kernel-run')!.passed, true, c!.checks.map((x) => x.message).join('\n'));
    });
  });
});
