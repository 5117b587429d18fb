import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkTask2, checkTask3, clusterAt, formatChecklist, gradeSubmission, inferCluster, type SubmissionFiles } from '../grading';
import { runLabInSim } from '../lib/lab/sim-lab';

const datasets = path.join(__dirname, '..', 'datasets', 'submissions');
const manualDir = path.join(datasets, 'manual-example', 'PES120180XXXX');

interface Expected {
  readonly description: string;
  readonly error?: string;
  readonly task2?: { readonly score: number; readonly failed: readonly string[] };
  readonly task3?: { readonly score: number; readonly failed: readonly string[] };
}

function readFolder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(dir)) if (name !== 'EXPECTED.json') files.set(name, fs.readFileSync(path.join(dir, name), 'utf8'));
  return files;
}

function failedIds(r: { checks: readonly { id: string; passed: boolean }[] }): string[] {
  return r.checks.filter((c) => !c.passed).map((c) => c.id);
}

describe('grading: every dataset submission gets the verdict in its EXPECTED.json', () => {
  const names = fs.readdirSync(datasets).sort();
  it('has the manual example, lab-made and crafted broken submissions', () => {
    assert.ok(names.includes('manual-example'));
    assert.ok(names.some((n) => n.startsWith('lab-real')));
    assert.ok(names.some((n) => n.startsWith('lab-sim')));
    assert.ok(names.filter((n) => n.startsWith('broken-')).length >= 10);
  });
  for (const name of names) {
    const expected = JSON.parse(fs.readFileSync(path.join(datasets, name, 'EXPECTED.json'), 'utf8')) as Expected;
    it(`${name}: ${expected.description}`, async () => {
      const grade = await gradeSubmission(path.join(datasets, name));
      if (expected.error !== undefined) {
        assert.match(grade.error ?? '', new RegExp(expected.error));
        return;
      }
      assert.equal(grade.error, undefined);
      for (const task of ['task2', 'task3'] as const) {
        const result = grade.tasks[task]!;
        const want = expected[task]!;
        assert.deepEqual(failedIds(result), want.failed, `${task} failed checks\n${formatChecklist(result)}`);
        assert.equal(result.score, want.score, `${task} score\n${formatChecklist(result)}`);
        assert.equal(result.passed, want.failed.length === 0);
        assert.equal(result.max, 10);
      }
    });
  }
});

describe('grading: the checks reason with Raft', () => {
  const manual = () => readFolder(manualDir);

  it("the manual's example gets full marks, from in-memory files as a notebook would pass them", () => {
    const files = manual();
    const t2 = checkTask2(files);
    const t3 = checkTask3(files);
    assert.equal(t2.score, t2.max);
    assert.equal(t3.score, t3.max);
    assert.ok(t2.checks.some((c) => c.id === 't2.programs'), 'programs are graded when present');
    files.delete('1.py');
    files.delete('2.py');
    files.delete('3.py');
    assert.ok(!checkTask2(files).checks.some((c) => c.id === 't2.programs'), 'and skipped for a notebook without them');
    assert.equal(checkTask2(files, { programs: true }).checks.find((c) => c.id === 't2.programs')!.passed, false);
  });

  it('"LEADER IS NOW NODE n" alone proves nothing; a node\'s own "LEADER => <own address>" does', () => {
    const files = manual();
    files.set('task2_node3.txt', 'LEADER => None\nLEADER IS NOW NODE 3\n');
    const r = checkTask2(files);
    assert.deepEqual(failedIds(r), ['t2.reelection']);
    const first = r.checks.find((c) => c.id === 't2.first-leader')!;
    assert.match(first.message, /node 1 \(127\.0\.0\.1:8000\) led/);
    assert.match(first.message, /node 3 \(127\.0\.0\.1:8002\) appears as leader in other files/);
  });

  it('a leader that comes back after another is reported with file and line', () => {
    const files = manual();
    files.set('task2_node2.txt', 'LEADER => 127.0.0.1:8002\nLEADER => 127.0.0.1:8000\nLEADER => 127.0.0.1:8002\nLEADER => None\nLEADER => None\n');
    const c = checkTask2(files).checks.find((x) => x.id === 't2.consistent')!;
    assert.equal(c.passed, false);
    assert.match(c.message, /task2_node2\.txt line 3: 127\.0\.0\.1:8002 leads again/);
  });

  it('an address outside the cluster and a wrong NODE_ID are named', () => {
    const files = manual();
    files.set('task2_node2.txt', 'LEADER => 127.0.0.1:9000\nLEADER IS NOW NODE 3\nLEADER => None\nLEADER => None\n');
    const c = checkTask2(files).checks.find((x) => x.id === 't2.consistent')!;
    assert.match(c.message, /task2_node2\.txt line 1: 127\.0\.0\.1:9000 is not a node of the cluster/);
    assert.match(c.message, /task2_node2\.txt line 2 says "LEADER IS NOW NODE 3", but node 2's program writes its own NODE_ID 2/);
  });

  it('a broken log line is reported by file and line, and the other files are still graded', () => {
    const files = manual();
    files.set('127.0.0.1_8000.log', '\n{"term": 1, "command": {"data_id": 1}}\n');
    const r = checkTask3(files);
    assert.deepEqual(failedIds(r), ['t3.parse']);
    assert.match(r.checks.find((c) => c.id === 't3.parse')!.message, /127\.0\.0\.1_8000\.log line 1: empty line/);
    // Without a third readable log, a write held by two logs is still on a majority of the cluster.
    files.set('127.0.0.1_8001.log', '{"term": 1, "command": {"data_id": 1}}\n{"term": 10, "command": {"data_id": 3}\n');
    const r2 = checkTask3(files);
    assert.match(r2.checks.find((c) => c.id === 't3.parse')!.message, /127\.0\.0\.1_8001\.log line 2: not valid JSON/);
    assert.match(r2.checks.find((c) => c.id === 't3.writes')!.message, /in only 1 of 3 logs/);
  });

  it('a conflicting, never-applied entry on a minority is explained, not failed (Raft overwrites it)', () => {
    const files = manual();
    // 8000 appended {"data_id": 1} again in term 2 and stopped before anyone else stored it.
    files.set('127.0.0.1_8000.log', '{"term": 1, "command": {"data_id": 1}}\n{"term": 2, "command": {"data_id": 1}}\n');
    files.set('127.0.0.1_8000.storage', '{"term": 2, "voted_for": "127.0.0.1:8000"}');
    const r = checkTask3(files);
    assert.deepEqual(failedIds(r), []);
    assert.match(r.checks.find((c) => c.id === 't3.log-matching')!.message, /index 2 differs .* never committed/);
    // ... but if that node applied it, State Machine Safety is broken.
    files.set('127.0.0.1_8000.state_machine', '{"data_id": 1}');
    files.set('127.0.0.1_8000.log', '{"term": 1, "command": {"data_id": 2}}\n');
    const bad = checkTask3(files);
    assert.ok(failedIds(bad).includes('t3.log-matching'));
  });

  it('an applied entry held by only one log cannot have been committed', () => {
    const files = manual();
    files.set('127.0.0.1_8002.log', '{"term": 1, "command": {"data_id": 1}}\n{"term": 10, "command": {"data_id": 3}}\n{"term": 11, "command": {"data_id": 3}}\n');
    files.set('127.0.0.1_8002.state_machine', '{"data_id": 3}');
    files.set('127.0.0.1_8002.storage', '{"term": 11, "voted_for": "127.0.0.1:8002"}');
    assert.deepEqual(failedIds(checkTask3(files)), [], 'the shortest matching prefix is index 2, which is committed');
    files.set('127.0.0.1_8002.log', '{"term": 1, "command": {"data_id": 1}}\n{"term": 11, "command": {"data_id": 3}}\n');
    files.set('127.0.0.1_8001.log', '{"term": 1, "command": {"data_id": 1}}\n');
    files.set('127.0.0.1_8001.state_machine', '{"data_id": 1}');
    const r = checkTask3(files);
    assert.match(r.checks.find((c) => c.id === 't3.state-machine')!.message, /only 1 of 3 logs hold: an entry is applied only once committed/);
    assert.match(r.checks.find((c) => c.id === 't3.writes')!.message, /is in only 1 of 3 logs/);
  });

  it('a later leader missing an entry committed before it was elected breaks Leader Completeness', () => {
    const files = manual();
    files.set('127.0.0.1_8001.log', '{"term": 1, "command": {"data_id": 1}}\n{"term": 10, "command": {"data_id": 3}}\n');
    files.set('127.0.0.1_8002.log', '{"term": 10, "command": {"data_id": 3}}\n');
    files.set('127.0.0.1_8002.state_machine', '{"data_id": 3}');
    const r = checkTask3(files);
    assert.ok(failedIds(r).includes('t3.log-matching'));
    assert.match(r.checks.find((c) => c.id === 't3.writes')!.message, /Leader Completeness/);
  });

  it('formatChecklist prints each check, its points and what to fix', () => {
    const files = manual();
    files.delete('task3_node2.txt');
    const text = formatChecklist(checkTask3(files), 'Task 3');
    assert.match(text, /^Task 3\n/);
    assert.match(text, /\[ \] t3\.files +0\.5\/1 +missing: task3_node2\.txt/);
    assert.match(text, /\[x\] t3\.log-matching +2\/2/);
    assert.match(text, /Score: 9\.5\/10$/);
  });

  for (const seed of [3, 4, 5]) {
    it(`a simulated lab run (seed ${seed}) gets full marks on the artifact checks`, async () => {
      const files = new Map<string, string>();
      for (const task of [2, 3] as const) for (const [name, text] of (await runLabInSim(task, { seed })).files) files.set(name, text);
      const t2 = checkTask2(files as SubmissionFiles);
      const t3 = checkTask3(files);
      assert.equal(t2.score, t2.max, formatChecklist(t2));
      assert.equal(t3.score, t3.max, formatChecklist(t3));
    });
  }
});

describe('grading: the cluster a submission ran on', () => {
  const files = (names: string[], scripts: Record<string, string> = {}): SubmissionFiles => new Map([...names.map((n) => [n, ''] as const), ...Object.entries(scripts)]);
  const raftos = (addresses: string[]) => addresses.flatMap((a) => ['log', 'storage'].map((ext) => `${a.replace(':', '_')}.${ext}`));

  it("the manual's layout: three consecutive 127.0.0.1 ports, node 1 on the lowest; else 8000-8002", () => {
    assert.deepEqual(inferCluster(files(raftos(['127.0.0.1:9001', '127.0.0.1:9000', '127.0.0.1:9002']))), clusterAt(9000));
    assert.deepEqual(inferCluster(files(raftos(['127.0.0.1:9000', '127.0.0.1:9005']))), clusterAt(8000));
  });

  it('a cluster across machines: node N is the N-th member of the scripts\' --cluster, or its --listen, else sorted', () => {
    const members = ['10.0.0.10:8000', '10.0.0.2:8000', 'lab-pc-3:8000'];
    const cluster = `--cluster ${members.join(',')}`;
    assert.deepEqual(inferCluster(files(raftos(members), { '1.sh': `npm run task2 -- ${cluster} --listen ${members[0]}\n` })).addresses, members);
    const byListen = Object.fromEntries([2, 0, 1].map((m, i) => [`${i + 1}.sh`, `npm run task3 -- --listen ${members[m]}\n`]));
    assert.deepEqual(inferCluster(files(raftos(members), byListen)).addresses, [members[2], members[0], members[1]]);
    assert.deepEqual(inferCluster(files(raftos(members))), { basePort: null, addresses: ['10.0.0.2:8000', '10.0.0.10:8000', 'lab-pc-3:8000'] });
  });
});

describe('grading: hand-ins with snapshots (log compaction)', () => {
  const manual = () => {
    const files = new Map<string, string>();
    const dir = path.join(__dirname, '..', 'datasets', 'submissions', 'manual-example', 'PES120180XXXX');
    for (const name of fs.readdirSync(dir)) if (name !== 'EXPECTED.json') files.set(name, fs.readFileSync(path.join(dir, name), 'utf8'));
    return files;
  };
  const compact = (files: Map<string, string>, state: string) => {
    files.set('127.0.0.1_8001.log', '{"snapshot": {"last_included_index": 1, "last_included_term": 1}}\n{"term": 10, "command": {"data_id": 3}}\n');
    files.set('127.0.0.1_8001.snapshot', `{"last_included_index": 1, "last_included_term": 1, "state": ${state}}`);
  };

  it('a node whose log was compacted is graded on the whole log: its snapshot stands for the entries it covers', () => {
    const files = manual();
    compact(files, '{"data_id": 1}');
    const r = checkTask3(files);
    assert.deepEqual(r.checks.filter((c) => !c.passed).map((c) => c.id), [], formatChecklist(r));
    assert.equal(r.score, r.max);
  });

  it('a snapshot that is not its entries applied, or that is missing, is reported by file', () => {
    const files = manual();
    compact(files, '{"data_id": 7}');
    let parse = checkTask3(files).checks.find((c) => c.id === 't3.parse')!;
    assert.equal(parse.passed, false);
    assert.match(parse.message, /127\.0\.0\.1_8001\.snapshot holds \{"data_id":7\}, which is not entries 1\.\.1 of 127\.0\.0\.1_800[02]\.log applied in order/);
    files.delete('127.0.0.1_8001.snapshot');
    parse = checkTask3(files).checks.find((c) => c.id === 't3.parse')!;
    assert.match(parse.message, /127\.0\.0\.1_8001\.log starts after a snapshot of entries 1\.\.1, but 127\.0\.0\.1_8001\.snapshot is missing/);
    files.set('127.0.0.1_8001.snapshot', '{"last_included_index": 1, "state": {}}');
    parse = checkTask3(files).checks.find((c) => c.id === 't3.parse')!;
    assert.match(parse.message, /127\.0\.0\.1_8001\.snapshot line 1: "last_included_term" must be a positive integer/);
  });
});

/**
 * The Task 3 story on a cluster grown to five nodes and shrunk back (npm run member): node 1 (port 9000) writes,
 * adds 9003 and 9004 (learner, then voter, each), and exits; node 3 leads term 2, writes, and removes node 1.
 */
describe('grading: hand-ins of a cluster grown from 3 nodes to 5 (configuration entries, nodes 4 and 5)', () => {
  const ids = [9000, 9001, 9002, 9003, 9004].map((p) => `127.0.0.1:${p}`);
  const config = (voters: number[], learners: number[] = []) => ({ 'raftlab.config': { voters: voters.map((n) => ids[n - 1]), learners: learners.map((n) => ids[n - 1]) } });
  const entries = [
    { term: 1, command: { data_id: 1 } },
    { term: 1, command: config([1, 2, 3], [4]) },
    { term: 1, command: config([1, 2, 3, 4]) },
    { term: 1, command: config([1, 2, 3, 4], [5]) },
    { term: 1, command: config([1, 2, 3, 4, 5]) },
    { term: 2, command: { data_id: 3 } },
    { term: 2, command: config([2, 3, 4, 5]) },
  ];
  const logOf = (n: number) => entries.slice(0, n).map((e) => `${JSON.stringify(e).replace(/":/g, '": ').replace(/,"/g, ', "')}\n`).join('');
  const grown = (): Map<string, string> => {
    const files = new Map<string, string>();
    const put = (node: number, logLength: number, term: number, dataId: number) => {
      const base = ids[node - 1]!.replace(':', '_');
      files.set(`${base}.log`, logOf(logLength));
      files.set(`${base}.storage`, `{"term": ${term}, "voted_for": ${JSON.stringify(term === 1 ? ids[0] : ids[2])}}`);
      files.set(`${base}.state_machine`, `{"data_id": ${dataId}}`);
    };
    put(1, 5, 1, 1);
    for (const n of [2, 3, 4]) put(n, 7, 2, 3);
    put(5, 6, 2, 3);
    const follower = [`LEADER => ${ids[0]}`, 'LEADER => None', `LEADER => ${ids[2]}`, `LEADER => ${ids[2]}`].join('\n') + '\n';
    files.set('task3_node1.txt', `LEADER => ${ids[0]}\nLEADER -> 1\ndone writing data_id\ndone writing data\n`);
    files.set('task3_node2.txt', follower);
    files.set('task3_node3.txt', `LEADER => ${ids[0]}\nLEADER => None\nLEADER => ${ids[2]}\nLEADER -> 3\ndone writing data_id\ndone writing data\n`);
    files.set('task3_node4.txt', `LEADER => ${ids[0]}\nLEADER => ${ids[2]}\n`);
    files.set('task3_node5.txt', `LEADER => ${ids[2]}\n`);
    return files;
  };

  it('five nodes on consecutive ports are one cluster, and the grown story gets full marks', () => {
    const files = grown();
    assert.deepEqual(inferCluster(files), clusterAt(9000, 5));
    const r = checkTask3(files);
    assert.deepEqual(failedIds(r), [], formatChecklist(r));
    assert.match(r.checks.find((c) => c.id === 't3.files')!.message, /all 20 files are present/);
  });

  it('an entry applied while held by 2 of the 5 voters\' logs was not committed (3 of 5 are a majority)', () => {
    const files = grown();
    // Only nodes 3 and 4 have the write of term 2; 2 of 3 would be a majority of the first configuration, not of five.
    for (const n of [2, 5]) files.set(`${ids[n - 1]!.replace(':', '_')}.log`, logOf(5));
    for (const n of [2, 5]) files.set(`${ids[n - 1]!.replace(':', '_')}.state_machine`, '{"data_id": 1}');
    const r = checkTask3(files);
    assert.match(r.checks.find((c) => c.id === 't3.writes')!.message, /\{"data_id": 3\} \(index 6, term 2\) is in only 2 of 5 logs/);
    assert.match(r.checks.find((c) => c.id === 't3.state-machine')!.message, /127\.0\.0\.1_9002\.state_machine includes index 6 \(term 2\), which only 2 of 5 logs hold/);
  });

  it('Task 2: leaders among nodes 4 and 5 are nodes of the cluster; a node 4 without files is not required', () => {
    const files = grown();
    files.set('task2_node1.txt', `LEADER => None\nLEADER => ${ids[0]}\nLEADER IS NOW NODE 1\n`);
    files.set('task2_node2.txt', `LEADER => ${ids[0]}\nLEADER => ${ids[3]}\nLEADER => None\nLEADER => None\n`);
    files.set('task2_node3.txt', `LEADER => ${ids[0]}\nLEADER => ${ids[3]}\nLEADER => None\nLEADER => None\n`);
    files.set('task2_node4.txt', `LEADER => ${ids[0]}\nLEADER => ${ids[3]}\nLEADER IS NOW NODE 4\n`);
    const r = checkTask2(files);
    assert.deepEqual(failedIds(r), [], formatChecklist(r));
    assert.match(r.checks.find((c) => c.id === 't2.reelection')!.message, /node 4 \(127\.0\.0\.1:9003\) led/);
  });
});
