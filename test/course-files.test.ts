import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLabInSim } from '../lib/lab/sim-lab';
import { RUN_MARKER, RunFolderError } from '../lib/lab/run-folder';
import { loadImplementation, ImplementationError } from '../lib/lab/impl';
import { saveImpl } from '../lib/course/save-impl';
import type { NodeContext } from '../lib/raft/context';

/** Nothing the student made is deleted or overwritten without asking. */
describe('the student\'s files (simulated runs, saveImpl, --impl)', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-lab-files-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a simulated Task 3 refuses a folder holding a real run, and touches nothing in it', async () => {
    const real = path.join(dir, 'real');
    fs.mkdirSync(real);
    fs.writeFileSync(path.join(real, '127.0.0.1_8000.log'), '{"term": 1, "command": {"data_id": 1}}\n');
    fs.writeFileSync(path.join(real, 'task3_node1.txt'), 'LEADER -> 1\n');
    await assert.rejects(runLabInSim(3, { seed: 1, out: real }), (e: Error) => e instanceof RunFolderError && /127\.0\.0\.1_8000\.log, task3_node1\.txt/.test(e.message) && /nothing was deleted/.test(e.message));
    assert.deepEqual(fs.readdirSync(real).sort(), ['127.0.0.1_8000.log', 'task3_node1.txt']);
    assert.equal(fs.readFileSync(path.join(real, 'task3_node1.txt'), 'utf8'), 'LEADER -> 1\n');
  });

  it('a simulated run replaces its own earlier files, and refuses once the student adds one', async () => {
    const sim = path.join(dir, 'sim');
    await runLabInSim(3, { seed: 1, out: sim });
    assert.ok(fs.existsSync(path.join(sim, RUN_MARKER)));
    await runLabInSim(3, { seed: 2, out: sim }); // its own files: replaced
    fs.writeFileSync(path.join(sim, 'notes.md'), 'mine');
    await assert.rejects(runLabInSim(3, { seed: 3, out: sim }), /notes\.md/);
    assert.equal(fs.readFileSync(path.join(sim, 'notes.md'), 'utf8'), 'mine');
  });

  it('saveImpl never overwrites a different module: it writes raft-2.js; the same module is reused', () => {
    const file = path.join(dir, 'raft.js');
    fs.writeFileSync(file, '// the student wrote this by hand\n');
    function onHeartbeatTimeout(ctx: NodeContext): void {
      for (const peer of ctx.peers) ctx.sendAppendEntries(peer);
    }
    const first = saveImpl(file, { handlers: { onHeartbeatTimeout } });
    assert.equal(first.written, path.join(dir, 'raft-2.js'));
    assert.equal(fs.readFileSync(file, 'utf8'), '// the student wrote this by hand\n');
    const again = saveImpl(file, { handlers: { onHeartbeatTimeout } });
    assert.deepEqual([again.written, again.unchanged], [first.written, true]);
    assert.equal(typeof loadImplementation(first.written).handlers.onHeartbeatTimeout, 'function');
  });

  it('saveImpl refuses a module that does not stand alone, naming what is missing', () => {
    const helper = (n: number) => n;
    function onHeartbeatTimeout(ctx: NodeContext): void {
      for (const peer of ctx.peers.slice(helper(0))) ctx.sendAppendEntries(peer);
    }
    assert.throws(() => saveImpl(path.join(dir, 'r.js'), { handlers: { onHeartbeatTimeout } }), /fails when it runs: .*helper is not defined.*helpers: \{ helper: helper \}/);
    assert.ok(saveImpl(path.join(dir, 'ok.js'), { handlers: { onHeartbeatTimeout }, helpers: { helper } }).handlers.onHeartbeatTimeout);
  });

  it('--impl refuses a module that is missing or names something that is not Figure 2, naming the file and field', () => {
    assert.throws(() => loadImplementation(path.join(dir, 'nope.js')), (e: Error) => e instanceof ImplementationError && /nope\.js: no such file/.test(e.message));
    const bad = path.join(dir, 'bad.js');
    fs.writeFileSync(bad, 'exports.handlers = { onElectionTimeOut() {} };');
    assert.throws(() => loadImplementation(bad), /bad\.js: handlers\.onElectionTimeOut is not one of Figure 2's handlers/);
    const empty = path.join(dir, 'empty.js');
    fs.writeFileSync(empty, 'exports.x = 1;');
    assert.throws(() => loadImplementation(empty), /exports neither `handlers` nor `rules`/);
  });
});
