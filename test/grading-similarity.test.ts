import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSimilar, linkedGroups, similarityCsv, similarityMarkdown } from '../grading/similarity';

const root = path.join(__dirname, '..');
const datasets = path.join(root, 'datasets', 'submissions');

function readFolder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(dir)) {
    if (name === 'EXPECTED.json') continue;
    const full = path.join(dir, name);
    if (fs.statSync(full).isDirectory()) return readFolder(full);
    files.set(name, fs.readFileSync(full, 'utf8'));
  }
  return files;
}

/** A deterministic stand-in for one student's real run: its own terms, votes, leaders and poll counts. */
function syntheticRun(seed: number): Map<string, string> {
  let x = (seed * 2654435761) >>> 0 || 1;
  const rand = (n: number) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
  const addr = (n: number) => `127.0.0.1:${8000 + n}`;
  const first = rand(3);
  const second = (first + 1 + rand(2)) % 3;
  const t1 = 1 + rand(6);
  const t2 = t1 + 1 + rand(6);
  const files = new Map<string, string>();
  for (let n = 0; n < 3; n++) {
    const log = [`{"term": ${t1}, "command": {"data_id": ${first + 1}}}`];
    if (n !== first || rand(2) === 0) log.push(`{"term": ${t2}, "command": {"data_id": ${second + 1}}}`);
    files.set(`${addr(n).replace(':', '_')}.log`, `${log.join('\n')}\n`);
    files.set(`${addr(n).replace(':', '_')}.storage`, `{"term": ${t2 + rand(3)}, "voted_for": "${addr(rand(3))}"}`);
    files.set(`${addr(n).replace(':', '_')}.state_machine`, `{"data_id": ${log.length === 2 ? second + 1 : first + 1}}`);
    const polls = (k: number, who: string) => Array.from({ length: 1 + rand(k) }, () => `LEADER => ${who}`);
    files.set(`task2_node${n + 1}.txt`, [...polls(6, addr(first)), ...polls(6, addr(second)), ...polls(4, 'None')].join('\n') + '\n');
    files.set(`task3_node${n + 1}.txt`, [...polls(4, addr(first)), ...(n === second ? ['LEADER -> ' + (n + 1), 'done writing data_id', 'done writing data'] : polls(3, addr(second)))].join('\n') + '\n');
  }
  return files;
}

describe('grading: similar submissions (grading/similarity.ts)', () => {
  it('flags a copy, even with CRLF line ends and re-spaced JSON, and names every identical file', () => {
    const a = syntheticRun(1);
    const copy = new Map([...a].map(([name, text]) => [name, text.replace(/\n/g, '\r\n').replace(/": /g, '":')]));
    const r = findSimilar([{ id: 'alice', files: a }, { id: 'bob', files: copy }, { id: 'carol', files: syntheticRun(2) }]);
    assert.equal(r.pairs.length, 1, similarityMarkdown(r));
    const p = r.pairs[0]!;
    assert.deepEqual([p.a, p.b], ['alice', 'bob']);
    assert.equal(p.identical.length, 15);
    assert.equal(p.artifacts, 15);
    assert.equal(p.jaccard, 1);
    assert.ok(p.sameStorage && p.sameLogTerms);
    assert.match(similarityMarkdown(r), /\| alice \| bob \| all 15 \| 100% \| yes \| yes \|/);
  });

  it('flags the same .storage terms and votes with the same log terms, though every task file differs', () => {
    const a = syntheticRun(3);
    const b = new Map(a);
    for (const n of [1, 2, 3]) {
      b.set(`task2_node${n}.txt`, `${a.get(`task2_node${n}.txt`)}LEADER => None\nLEADER => None\n`);
      b.set(`task3_node${n}.txt`, `LEADER => None\n${a.get(`task3_node${n}.txt`)}`);
    }
    const r = findSimilar([{ id: 'a', files: a }, { id: 'b', files: b }]);
    assert.equal(r.pairs.length, 1);
    assert.ok(r.pairs[0]!.sameStorage && r.pairs[0]!.sameLogTerms);
    assert.ok(!r.pairs[0]!.identical.some((n) => n.startsWith('task')));
    assert.match(similarityCsv(r), /^a,b,9,15,.*127\.0\.0\.1_8000\.log.*,true,true$/m);
  });

  it('leaves real runs alone: the lab-made datasets are not alike, and the programs are never compared', () => {
    const subs = ['lab-real-fast', 'lab-sim-seed1', 'lab-sim-seed2'].map((id) => ({ id, files: readFolder(path.join(datasets, id)) }));
    const r = findSimilar(subs);
    assert.deepEqual(r.pairs, [], similarityMarkdown(r));
    assert.match(similarityMarkdown(r), /No two submissions are suspiciously alike/);
    const programsOnly = findSimilar([
      { id: 'x', files: new Map([['1.py', 'PORT = 8000\n'], ['2.py', 'PORT = 8001\n'], ['3.py', 'PORT = 8002\n']]) },
      { id: 'y', files: new Map([['1.py', 'PORT = 8000\n'], ['2.py', 'PORT = 8001\n'], ['3.py', 'PORT = 8002\n']]) },
    ]);
    assert.deepEqual(programsOnly.pairs, []);
  });

  it("finds the datasets' copies of the manual example as one linked group", () => {
    const names = fs.readdirSync(datasets).sort();
    const r = findSimilar(names.map((id) => ({ id, files: readFolder(path.join(datasets, id)) })));
    const groups = linkedGroups(r.pairs);
    assert.equal(groups.length, 1);
    assert.ok(groups[0]!.includes('manual-example') && groups[0]!.includes('broken-t3-same-term') && groups[0]!.includes('raftos-slip-compact'));
    assert.ok(!groups[0]!.some((id) => id.startsWith('lab-')));
  });

  it('among 1,000 submissions, finds the planted copies from hash buckets, comparing few pairs', () => {
    const n = 1000;
    const subs = Array.from({ length: n }, (_, i) => ({ id: `s${String(i).padStart(4, '0')}`, files: syntheticRun(1000 + i) }));
    const planted: [number, number][] = [[10, 500], [20, 999], [300, 301], [42, 777]];
    for (const [from, to] of planted) subs[to] = { id: subs[to]!.id, files: new Map(subs[from]!.files) };
    // one copy with one file edited
    subs[777]!.files.set('task2_node1.txt', `${subs[777]!.files.get('task2_node1.txt')}LEADER => None\n`);
    const r = findSimilar(subs);
    const found = new Set(r.pairs.map((p) => `${p.a}|${p.b}`));
    for (const [from, to] of planted) assert.ok(found.has(`${subs[from]!.id}|${subs[to]!.id}`), `planted copy ${from} -> ${to} not found\n${similarityCsv(r)}`);
    const allPairs = (n * (n - 1)) / 2;
    assert.ok(r.candidatesCompared < allPairs / 10, `compared ${r.candidatesCompared} of ${allPairs} pairs`);
  });

  it('npm run grade -- --batch writes similarity.md and similarity.csv beside the gradebook, scores unchanged', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlab-similarity-'));
    try {
      execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'grading', 'cli.ts'), 'manual-example', 'raftos-slip-compact', 'lab-sim-seed1', '--out', out].map((a, i) => (i >= 3 && i <= 5 ? path.join(datasets, a) : a)), { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const csv = fs.readFileSync(path.join(out, 'similarity.csv'), 'utf8').trim().split('\n');
      assert.equal(csv.length, 2);
      assert.match(csv[1]!, /^manual-example,raftos-slip-compact,/);
      assert.match(fs.readFileSync(path.join(out, 'similarity.md'), 'utf8'), /never changes a score/);
      const book = fs.readFileSync(path.join(out, 'gradebook.csv'), 'utf8');
      assert.match(book, /^manual-example,10,10,20,$/m);
      assert.match(book, /^raftos-slip-compact,10,10,20,$/m);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
