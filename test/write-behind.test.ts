import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WriteBehind } from '../lib/net/write-behind';
import { writeFileAtomicAsync } from '../lib/net/raftos-files';

describe('WriteBehind: a derived file written off the commit path', () => {
  it('writes the latest state once settled, a burst of changes costing one write', async () => {
    let state = 0;
    const written: number[] = [];
    const w = new WriteBehind(() => state, async (s) => void written.push(s), (e) => assert.fail(e));
    for (let i = 1; i <= 50; i++) {
      state = i;
      w.touch();
    }
    assert.deepEqual(written, [], 'nothing is written during the turn that changed the state');
    await w.settle();
    assert.deepEqual(written, [50]);
  });

  it('a change during a write is written after it, never lost', async () => {
    let state = 1;
    const written: number[] = [];
    let release: () => void = () => undefined;
    const w = new WriteBehind(() => state, (s) => new Promise<void>((resolve) => {
      written.push(s);
      release = resolve;
    }), (e) => assert.fail(e));
    w.touch();
    while (written.length === 0) await new Promise((r) => setImmediate(r));
    state = 2;
    w.touch();
    const settled = w.settle();
    release();
    while (written.length < 2) await new Promise((r) => setImmediate(r));
    release();
    await settled;
    assert.deepEqual(written, [1, 2]);
  });

  it('a failed write is reported once and stops further writes', async () => {
    const errors: Error[] = [];
    let calls = 0;
    const w = new WriteBehind(() => 0, async () => {
      calls++;
      throw new Error('EIO: disk gone');
    }, (e) => errors.push(e));
    w.touch();
    await w.settle();
    w.touch();
    await w.settle();
    assert.equal(calls, 1);
    assert.deepEqual(errors.map((e) => e.message), ['EIO: disk gone']);
  });

  it('writeFileAtomicAsync replaces the file whole and leaves no temp file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'write-behind-'));
    try {
      const file = path.join(dir, '127.0.0.1_8000.state_machine');
      fs.writeFileSync(file, '{"old": 1}');
      await writeFileAtomicAsync(file, '{"data_id": 2}');
      assert.equal(fs.readFileSync(file, 'utf8'), '{"data_id": 2}');
      assert.deepEqual(fs.readdirSync(dir), ['127.0.0.1_8000.state_machine']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
