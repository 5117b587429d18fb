import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { findLeaks, libraryText, readTree, readZip, secretRegions, writeStudentRelease, type StudentRelease } from '../scripts/course/release-student';

/** Issue 10, section 3: the students' copy holds no solution and no hidden test. */
const root = path.join(__dirname, '..');

describe("release: the students' copy (npm run release -- --student DIR)", function () {
  this.timeout(120_000);
  let tmp: string;
  let release: StudentRelease;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'release-student-'));
    release = await writeStudentRelease(root, path.join(tmp, 'raft-lab-student'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('holds the student notebooks, the library, the lab programs, the kernel, package.json, lockfile, tsconfig and README', () => {
    for (const f of ['notebooks/01-leader-election.ipynb', 'notebooks/02-log-replication.ipynb', 'notebooks/06-membership-and-clients.ipynb', 'lib/course/notebook-06.ts', 'lib/index.ts', 'lib/raft/node.ts', 'grading/task2.ts', 'scripts/start.ts', 'scripts/task.ts', 'scripts/lab.ts',
      'jupyter/kernels/raftlab/kernel.json', 'package.json', 'package-lock.json', 'tsconfig.json', 'README.md']) {
      assert.ok(fs.existsSync(path.join(release.dir, f)), f);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(release.dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const s of ['start', 'task2', 'task3', 'lab', 'demo']) assert.ok(pkg.scripts[s], s);
    assert.equal(pkg.scripts['release'], undefined);
    assert.ok(fs.statSync(release.zip).size > 0);
  });

  it('has no solution notebooks, no source notebooks, no authoring tools', () => {
    const files = [...readTree(release.dir).keys()];
    assert.deepEqual(files.filter((f) => /^notebooks\/(solution|source)\//.test(f) || /release\.ts$|release-(notebook|student)\.ts$/.test(f)), []);
  });

  it('no solution code and no hidden test appears in any file of the folder or of the zip', async () => {
    const regions = secretRegions(root);
    assert.ok(regions.filter((r) => r.kind === 'hidden tests').length >= 5, 'the scan knows the hidden tests');
    assert.ok(regions.filter((r) => r.kind === 'solution').length >= 6, 'the scan knows the solutions');
    const lib = libraryText(root);
    const folder = findLeaks(readTree(release.dir), regions, lib);
    assert.deepEqual(folder.leaks.map((l) => `${l.region.kind} of ${l.region.cell} in ${l.file}`), []);
    const top = path.basename(release.dir);
    const zipped = await readZip(release.zip);
    assert.equal(zipped.size, release.files.length);
    const inZip = findLeaks(new Map([...zipped].map(([n, t]) => [n.slice(top.length + 1), t])), regions, lib);
    assert.deepEqual(inZip.leaks.map((l) => `${l.region.kind} of ${l.region.cell} in ${l.file}`), []);
    // Solutions that are the library's own code are only ever in lib/ (reported by the release command).
    const normalizedLib = lib.replace(/\s+/g, ' ');
    for (const r of folder.inLibrary) assert.ok(r.kind === 'solution' && normalizedLib.includes(r.text), `${r.cell} is the library's own code`);
  });

  it('the scan finds a planted solution or hidden test (so the check above can fail)', () => {
    const regions = secretRegions(root);
    const hidden = regions.find((r) => r.kind === 'hidden tests')!;
    const solution = regions.find((r) => r.kind === 'solution' && !libraryText(root).replace(/\s+/g, ' ').includes(r.text))!;
    assert.ok(solution, 'a solution that is not library code');
    const files = new Map([['notes.md', `see:\n  ${hidden.text.replace(/ /g, '\n\t ')}`], ['lib/x.ts', solution.text]]);
    const found = findLeaks(files, regions, libraryText(root));
    assert.deepEqual(found.leaks.map((l) => l.file).sort(), ['lib/x.ts', 'notes.md']);
  });

  it('never overwrites a folder it did not write, and refuses a folder inside the checkout', async () => {
    const other = path.join(tmp, 'mine');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'thesis.tex'), 'keep me');
    await assert.rejects(writeStudentRelease(root, other), /was not written by/);
    assert.equal(fs.readFileSync(path.join(other, 'thesis.tex'), 'utf8'), 'keep me');
    await assert.rejects(writeStudentRelease(root, path.join(root, 'lib', 'x')), /outside this checkout/);
    const again = await writeStudentRelease(root, release.dir);
    assert.equal(again.files.length, release.files.length, 'its own earlier output is replaced');
  });

  it('the README says which copy a self-taught learner uses and which a class uses', () => {
    const readme = fs.readFileSync(path.join(release.dir, 'README.md'), 'utf8');
    assert.match(readme, /self-taught/i);
    assert.match(readme, /--student/);
  });

  it('carries the reference handlers and rules compiled, not as source: no line of their code is in the copy', () => {
    for (const base of ['lib/raft/handlers', 'lib/raft/rules']) {
      assert.equal(fs.existsSync(path.join(release.dir, `${base}.ts`)), false, `${base}.ts is not in the copy`);
      assert.ok(fs.existsSync(path.join(release.dir, `${base}.d.ts`)) && fs.existsSync(path.join(release.dir, `${base}.js`)), `${base}.js and .d.ts are`);
      assert.ok(release.compiled.some((a) => a.file === `${base}.ts` && a.answers.length > 0), `${base}.ts is listed with the exercises it answers`);
      const source = fs.readFileSync(path.join(root, `${base}.ts`), 'utf8');
      const copy = [`${base}.js`].map((f) => fs.readFileSync(path.join(release.dir, f), 'utf8').replace(/\s+/g, '')).join('\n');
      const code = source.split('\n').map((l) => l.trim()).filter((l) => l.length >= 20 && !/^(\/\/|\/\*|\*|import |export (interface|type) |readonly )/.test(l) && !/^export (declare )?function/.test(l));
      assert.ok(code.length >= 5, `${base}.ts has lines of code to look for`);
      for (const line of code) assert.ok(!copy.includes(line.replace(/\s+/g, '')), `${base}.ts's line "${line}" is in its compiled copy`);
    }
  });

  it('the copy type-checks and runs the same cluster, and a student handler in its isolate, as the full copy', function () {
    this.timeout(300_000);
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(release.dir, 'node_modules'));
    try {
      execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.json'], { cwd: release.dir, stdio: 'pipe' });
      const script = [
        "import { Cluster } from './lib/index';",
        "import { studentNodeFactory } from './lib/course/student-node';",
        'function onRequestVoteReply(ctx: any, from: string, reply: any): void {',
        '  if (reply.term !== ctx.currentTerm || !reply.voteGranted) return;',
        '  ctx.votes.add(from);',
        '  if (ctx.votes.size * 2 > ctx.peers.length + 1) { ctx.becomeLeader(); for (const p of ctx.peers) { ctx.nextIndex.set(p, ctx.log.lastIndex + 1); ctx.matchIndex.set(p, 0); } ctx.onHeartbeatTimeout?.(); for (const p of ctx.peers) ctx.sendAppendEntries(p); }',
        '}',
        'const runs = [undefined, studentNodeFactory({ handlers: { onRequestVoteReply } })].map((createNode) => {',
        "  const c = new Cluster({ nodes: 3, seed: 7, trace: 'state', ...(createNode ? { createNode } : {}) });",
        '  c.runUntil((x) => x.leader() !== null);',
        '  c.propose({ data_id: 1 }); c.runFor(600);',
        '  return [c.leader(), c.now, c.trace.events.length, c.status(c.leader()!).commitIndex];',
        '});',
        'console.log(JSON.stringify(runs));',
      ].join('\n');
      const run = (dir: string) => {
        const file = path.join(dir, `out-release-check-${process.pid}.ts`);
        fs.writeFileSync(file, script);
        try {
          return execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: dir, encoding: 'utf8' }).trim();
        } finally {
          fs.rmSync(file, { force: true });
        }
      };
      const full = run(root);
      assert.match(full, /^\[\["127\.0\.0\.1:800\d"/);
      assert.equal(run(release.dir), full);
    } finally {
      fs.rmSync(path.join(release.dir, 'node_modules'));
    }
  });
});
