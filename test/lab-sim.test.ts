import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLabInSim } from '../lib/lab/sim-lab';
import { parseLogText, parseStorageText, parseStateMachineText } from '../lib/net/raftos-files';

const lines = (text: string | undefined) => (text ?? '').split('\n').filter((l) => l !== '');

describe("the manual's tasks in virtual time", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`Task 2, seed ${seed}: two leaders announce themselves, are stopped, and the lone survivor never leads`, async () => {
      const run = await runLabInSim(2, { seed });
      assert.ok(run.completed);
      assert.deepEqual(run.stops.map((s) => s.how), ['ctrl+c', 'ctrl+c', 'ctrl+c']);
      const [first, second, last] = run.stops.map((s) => Number(s.node.split(':')[1]) - 7999);
      for (const n of [first!, second!]) {
        const f = lines(run.files.get(`task2_node${n}.txt`));
        assert.equal(f.at(-1), `LEADER IS NOW NODE ${n}`);
        assert.equal(f.at(-2), `LEADER => 127.0.0.1:${7999 + n}`, 'the last poll saw itself lead');
        assert.equal(f.filter((l) => l.startsWith('LEADER IS NOW')).length, 1);
      }
      const survivor = lines(run.files.get(`task2_node${last}.txt`));
      assert.ok(!survivor.some((l) => l.startsWith('LEADER IS NOW')));
      assert.deepEqual(survivor.slice(-3), ['LEADER => None', 'LEADER => None', 'LEADER => None']);
      for (const l of survivor) assert.match(l, /^LEADER => (None|127\.0\.0\.1:800[0-2])$/);
    });

    it(`Task 3, seed ${seed}: the first leader writes its NODE_ID, then the next leader writes its own; logs agree`, async () => {
      const run = await runLabInSim(3, { seed });
      assert.ok(run.completed);
      assert.deepEqual(run.stops.map((s) => s.how), ['exited', 'exited', 'ctrl+c']);
      const writers = run.stops.slice(0, 2).map((s) => Number(s.node.split(':')[1]) - 7999);
      for (const n of writers) {
        assert.deepEqual(lines(run.files.get(`task3_node${n}.txt`)).slice(-4), [
          `LEADER => 127.0.0.1:${7999 + n}`, `LEADER -> ${n}`, 'done writing data_id', 'done writing data',
        ]);
      }
      const last = run.stops[2]!.node.replace(':', '_');
      const second = run.stops[1]!.node.replace(':', '_');
      const expected = writers.map((n) => ({ data_id: n }));
      for (const base of [last, second]) {
        const log = parseLogText(run.files.get(`${base}.log`)!, `${base}.log`);
        assert.deepEqual(log.entries.map((e) => e.command), expected, `${base}.log holds both writes in order`);
        assert.deepEqual(parseStateMachineText(run.files.get(`${base}.state_machine`)!, base), { data_id: writers[1] });
      }
      const firstBase = run.stops[0]!.node.replace(':', '_');
      assert.deepEqual(parseStateMachineText(run.files.get(`${firstBase}.state_machine`)!, firstBase), { data_id: writers[0] });
      const storage = parseStorageText(run.files.get(`${last}.storage`)!, `${last}.storage`);
      assert.ok(storage.currentTerm > 2, 'the lone survivor kept starting elections');
    });
  }
});

describe('npm run lab -- <task> --sim', () => {
  it('writes the artifact folder from a virtual-time run and exits 0', function () {
    this.timeout(30_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-simlab-'));
    try {
      const root = path.join(__dirname, '..');
      const printed = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'lab.ts'), 'task3', '--sim', '--quiet', '--seed', '2', '--out', out], { cwd: root, encoding: 'utf8' });
      assert.match(printed, /Task 3 in virtual time, seed 2/);
      const files = fs.readdirSync(out).sort();
      for (const n of [1, 2, 3]) assert.ok(files.includes(`task3_node${n}.txt`));
      for (const p of [8000, 8001, 8002]) for (const kind of ['log', 'storage', 'state_machine']) assert.ok(files.includes(`127.0.0.1_${p}.${kind}`), `${p}.${kind}`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
