import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
    for (const f of ['notebooks/01-leader-election.ipynb', 'notebooks/02-log-replication.ipynb', 'lib/index.ts', 'lib/raft/node.ts', 'grading/task2.ts', 'scripts/start.ts', 'scripts/task.ts', 'scripts/lab.ts',
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
});
