import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { defaultLimits, gradeBatch, gradeSubmission, loadSubmission, SubmissionError } from '../grading';

const manualDir = path.join(__dirname, '..', 'datasets', 'submissions', 'manual-example', 'PES120180XXXX');
const manualFiles = () => fs.readdirSync(manualDir).map((name) => ({ name, data: fs.readFileSync(path.join(manualDir, name)) }));

interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
  readonly mode?: number;
  readonly compress?: boolean;
}

function makeZip(entries: readonly ZipEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { compress: e.compress ?? true, ...(e.mode !== undefined ? { mode: e.mode } : {}) });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Replace every occurrence of `from` by `to` (same length) in the zip's bytes: local and central headers alike. */
function patch(zip: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const out = Buffer.from(zip);
  const a = Buffer.from(from);
  let at = out.indexOf(a);
  assert.ok(at >= 0);
  while (at >= 0) {
    out.write(to, at, 'latin1');
    at = out.indexOf(a, at + 1);
  }
  return out;
}

describe('grading: hostile and broken submissions are contained', () => {
  let tmp: string;
  let work: string;
  const write = (name: string, data: Buffer) => {
    const p = path.join(work, name);
    fs.writeFileSync(p, data);
    return p;
  };
  const listAll = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-hostile-'));
    work = path.join(tmp, 'batch');
    fs.mkdirSync(work);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a zip of the manual example, with or without its enclosing folder, gets full marks', async () => {
    for (const [name, prefix] of [['PES1.zip', 'PES1/'], ['PES2.zip', '']] as const) {
      const zip = write(name, await makeZip([...manualFiles().map((f) => ({ name: prefix + f.name, data: f.data })), { name: '__MACOSX/._1.py', data: Buffer.from('x') }]));
      const g = await gradeSubmission(zip);
      assert.equal(g.error, undefined);
      assert.equal(g.submission, name.replace('.zip', ''));
      assert.equal(g.tasks.task2!.score + g.tasks.task3!.score, 20);
      const loaded = await loadSubmission(zip);
      assert.equal(loaded.layout, 'manual');
      assert.equal(loaded.root, prefix.replace('/', ''));
    }
  });

  const cases: { name: string; build: () => Promise<Buffer>; error: RegExp }[] = [
    { name: "an entry climbing out with '../'", build: async () => patch(await makeZip([{ name: 'XX/evil.txt', data: Buffer.from('x') }, ...manualFiles()]), 'XX/evil.txt', '../evil.txt'), error: /climbs out/ },
    { name: 'an absolute path', build: async () => patch(await makeZip([{ name: 'Xtmp/evil.txt', data: Buffer.from('x') }, ...manualFiles()]), 'Xtmp/evil.txt', '/tmp/evil.txt'), error: /absolute path/ },
    { name: 'a symbolic link entry', build: () => makeZip([...manualFiles(), { name: 'task3_node9.txt', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), error: /symbolic link/ },
    { name: 'an empty zip', build: () => makeZip([]), error: /empty zip/ },
    { name: 'binary junk instead of a zip', build: async () => Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)), error: /not a readable zip/ },
    { name: 'a zip with no lab files', build: () => makeZip([{ name: 'report.docx', data: Buffer.alloc(100, 1) }]), error: /none of the lab files/ },
    { name: 'a zip bomb (20 MiB of zeros as one task file)', build: () => makeZip([{ name: 'task2_node1.txt', data: Buffer.alloc(20 * 1024 * 1024) }]), error: /larger than|zip bomb/ },
    { name: 'a zip bomb whose headers lie about its size', build: async () => {
      const data = Buffer.alloc(8 * 1024 * 1024);
      const zip = await makeZip([{ name: 'task2_node1.txt', data }]);
      // Rewrite the uncompressed size (8 MiB = 0x00800000) to 100 bytes in the local and central headers.
      const size = Buffer.alloc(4);
      size.writeUInt32LE(data.length);
      const small = Buffer.alloc(4);
      small.writeUInt32LE(100);
      const out = Buffer.from(zip);
      for (let at = out.indexOf(size); at >= 0; at = out.indexOf(size, at + 1)) small.copy(out, at);
      return out;
    }, error: /too many bytes|zip bomb|larger than/ },
    { name: 'the same file twice', build: async () => patch(await makeZip([{ name: 'task2_node1.txt', data: Buffer.from('a') }, { name: 'task2_node2.txt', data: Buffer.from('b') }]), 'task2_node2.txt', 'task2_node1.txt'), error: /twice/ },
    { name: 'lab files in two folders', build: () => makeZip([{ name: 'a/task2_node1.txt', data: Buffer.from('x') }, { name: 'b/task2_node1.txt', data: Buffer.from('x') }]), error: /more than one folder/ },
  ];
  for (const c of cases) {
    it(`${c.name}: a clear error, nothing written`, async () => {
      const zip = write('student.zip', await c.build());
      const before = listAll(tmp);
      const g = await gradeSubmission(zip);
      assert.match(g.error ?? '', c.error);
      assert.match(g.error!, /^student\.zip: /);
      assert.deepEqual(g.tasks, {});
      assert.deepEqual(listAll(tmp), before, 'nothing was extracted');
      assert.ok(!fs.existsSync('/tmp/evil.txt'));
    });
  }

  it('streams are cut at the limits, not at what the headers say (ratio, size per file, total, entry count)', async () => {
    const zeros = write('zeros.zip', await makeZip([{ name: 'task2_node1.txt', data: Buffer.alloc(1024 * 1024) }]));
    await assert.rejects(loadSubmission(zeros), /expands more than 100 times .* zip bomb/);
    const random = Buffer.from(Array.from({ length: 300_000 }, (_, i) => 65 + ((i * 2654435761) >>> 27)));
    const big = write('big.zip', await makeZip(['task2_node1.txt', 'task2_node2.txt', 'task2_node3.txt'].map((name) => ({ name, data: random, compress: false }))));
    await assert.rejects(loadSubmission(big, { ...defaultLimits, maxFileBytes: 200_000 }), /task2_node1\.txt is larger than 200000 bytes/);
    await assert.rejects(loadSubmission(big, { ...defaultLimits, maxTotalBytes: 700_000 }), /add up to more than 700000 bytes uncompressed \(at task2_node3\.txt\)/);
    const many = write('many.zip', await makeZip(Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }))));
    await assert.rejects(loadSubmission(many, { ...defaultLimits, maxEntries: 50 }), (e: unknown) => e instanceof SubmissionError && /60 entries, more than the limit of 50/.test(e.message));
  });

  it('non-UTF-8 text and binary junk in a graded file fail that file\'s check, naming file and line', async () => {
    const files = manualFiles().map((f) => {
      if (f.name === 'task2_node2.txt') return { name: f.name, data: Buffer.concat([Buffer.from('LEADER => None\nLEADER => '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]) };
      if (f.name === '127.0.0.1_8001.log') return { name: f.name, data: Buffer.from([0, 1, 2, 3, 0xc3, 0x28, 0, 0]) };
      return f;
    });
    const g = await gradeSubmission(write('junk.zip', await makeZip(files)));
    assert.equal(g.error, undefined);
    const t2files = g.tasks.task2!.checks.find((c) => c.id === 't2.files')!;
    assert.equal(t2files.passed, false);
    assert.match(t2files.message, /task2_node2\.txt line 2 is not valid UTF-8 text/);
    assert.match(g.tasks.task3!.checks.find((c) => c.id === 't3.parse')!.message, /127\.0\.0\.1_8001\.log line 1 is binary data/);
  });

  it('folders: symbolic links, huge files and special files are refused', async () => {
    const folder = path.join(work, 'PES9');
    fs.mkdirSync(folder);
    for (const f of manualFiles()) fs.writeFileSync(path.join(folder, f.name), f.data);
    assert.equal((await gradeSubmission(folder)).error, undefined);
    fs.symlinkSync('/etc/passwd', path.join(folder, 'task3_node9.txt'));
    assert.match((await gradeSubmission(folder)).error ?? '', /PES9: task3_node9\.txt is a symbolic link/);
    fs.rmSync(path.join(folder, 'task3_node9.txt'));
    fs.writeFileSync(path.join(folder, 'task2_node1.txt'), Buffer.alloc(defaultLimits.maxFileBytes + 1, 0x41));
    assert.match((await gradeSubmission(folder)).error ?? '', /task2_node1\.txt is larger than/);
    const linked = path.join(work, 'linked');
    fs.symlinkSync(folder, linked);
    assert.match((await gradeSubmission(linked)).error ?? '', /linked: is a symbolic link/);
  });

  it('a batch grades every submission, whatever is broken, in order', async () => {
    const good = write('A1.zip', await makeZip(manualFiles()));
    const bomb = write('B2.zip', await makeZip([{ name: 'task2_node1.txt', data: Buffer.alloc(20 * 1024 * 1024) }]));
    const empty = write('C3.zip', await makeZip([]));
    const junk = write('D4.zip', Buffer.from('not a zip at all'));
    const folder = path.join(work, 'E5');
    fs.mkdirSync(folder);
    for (const f of manualFiles()) fs.writeFileSync(path.join(folder, f.name), f.data);
    let progress = 0;
    const grades = await gradeBatch([good, bomb, empty, junk, folder], { concurrency: 3, onProgress: (done) => (progress = done) });
    assert.equal(progress, 5);
    assert.deepEqual(grades.map((g) => g.submission), ['A1', 'B2', 'C3', 'D4', 'E5']);
    assert.deepEqual(grades.map((g) => g.error === undefined), [true, false, false, false, true]);
    assert.equal(grades[4]!.tasks.task3!.score, 10);
  });
});
