import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RaftFileError, RealNode, fileNamesFor } from '../lib';
import { lostAcks, logMatchingProblems, runCrashTest, type CrashTestReport } from '../lib/check/crash-consistency';
import { parseLogText, parseStorageText } from '../lib/net/raftos-files';
import { Rng } from '../lib/sim/rng';
import { freeBasePort } from './helpers/processes';

const repoRoot = path.join(__dirname, '..');

describe('crash consistency of real nodes (3 processes, SIGKILL under a write load)', function () {
  this.timeout(180_000);
  let dir: string;
  let report: CrashTestReport;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-crash-test-'));
    report = await runCrashTest({ cycles: 12, basePort: await freeBasePort(3), dir, seed: 7, datagramsPerNode: 100 });
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('12 kill cycles: no acknowledged write lost, every file parsed after every kill, the logs agree', () => {
    assert.deepEqual(report.problems, []);
    assert.equal(report.cycles, 12);
    assert.equal(report.filesChecked, 36);
    assert.ok(report.acknowledged > 50, `writes were acknowledged throughout (${report.acknowledged})`);
    assert.ok(report.committedIndex >= report.acknowledged);
  });

  it('garbage, truncated, bit-flipped and forged datagrams are dropped and counted; writes go on', () => {
    assert.equal(report.datagramsSent, 300);
    const dropped = Object.values(report.datagramsDropped).reduce((a, b) => a + b, 0);
    assert.ok(dropped >= 270, `drops counted: ${JSON.stringify(report.datagramsDropped)}`);
    assert.ok(report.acknowledgedUnderGarbage > 0);
  });

  it('random truncations and byte flips of a real .log: the node refuses with the parser\'s file and line, or loads exactly what the parser reads; the file is never changed', async () => {
    const source = fileNamesFor(dir, `127.0.0.1:${await portOfFirstNode(dir)}`);
    const original = fs.readFileSync(source.log);
    const storage = fs.readFileSync(source.storage);
    assert.ok(original.length > 1000, 'a real log of some size');
    const rng = new Rng(11);
    let refused = 0;
    let loaded = 0;
    for (let i = 0; i < 40; i++) {
      const base = await freeBasePort(3);
      const nodeId = `127.0.0.1:${base}`;
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-mutant-'));
      try {
        const files = fileNamesFor(work, nodeId);
        let bytes: Buffer;
        if (i % 2 === 0) {
          bytes = original.subarray(0, rng.int(1, original.length - 1)); // torn: cut anywhere
        } else {
          bytes = Buffer.from(original);
          for (let k = rng.int(1, 3); k > 0; k--) {
            const at = rng.int(0, bytes.length - 1);
            bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
          }
        }
        fs.writeFileSync(files.log, bytes);
        fs.writeFileSync(files.storage, storage);
        let expected: { entries: number } | RaftFileError;
        try {
          const parsed = parseLogText(new TextDecoder('utf-8', { fatal: true }).decode(bytes), files.log);
          const hard = parseStorageText(storage.toString('utf8'), files.storage);
          const lastTerm = parsed.entries.at(-1)?.term ?? 0;
          expected = hard.currentTerm < lastTerm ? new RaftFileError(files.storage, 1, 'term below the log') : { entries: parsed.entries.length };
        } catch (err) {
          expected = err instanceof RaftFileError ? err : new RaftFileError(files.log, null, String(err));
        }
        let node: RealNode | null = null;
        let wasRefused = false;
        try {
          node = await RealNode.start({ id: nodeId, peers: [`127.0.0.1:${base + 1}`, `127.0.0.1:${base + 2}`], dir: work });
          assert.ok(!(expected instanceof RaftFileError), `mutation ${i}: the node started although the parser refuses: ${expected instanceof RaftFileError ? expected.message : ''}`);
          assert.equal(node.log.length, (expected as { entries: number }).entries, `mutation ${i}: the node loaded what the parser reads`);
          loaded++;
        } catch (err) {
          if (!(err instanceof RaftFileError)) throw err;
          assert.ok(expected instanceof RaftFileError, `mutation ${i}: refused (${err.message}) although the parser accepts`);
          assert.equal(err.file, expected.file, err.message);
          if (expected.line !== null && err.file === files.log) assert.equal(err.line, expected.line, err.message);
          assert.ok(err.message.startsWith(err.file), err.message);
          refused++;
          wasRefused = true;
        } finally {
          await node?.stop();
        }
        if (wasRefused) assert.deepEqual(fs.readFileSync(files.log), bytes, `mutation ${i}: a refused .log is left as it was`);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
    assert.ok(refused >= 20, `most mutations break the file (${refused} refused, ${loaded} loaded)`);
  });

  it('a node process started on a torn last line refuses, naming the file and line, and leaves the file as it was', async () => {
    const base = await freeBasePort(3);
    const nodeId = `127.0.0.1:${base}`;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-torn-'));
    try {
      const files = fileNamesFor(work, nodeId);
      const good = '{"term": 1, "command": {"w": 1}}\n{"term": 1, "command": {"w": 2}}\n';
      const torn = `${good}{"term": 2, "comm`;
      fs.writeFileSync(files.log, torn);
      fs.writeFileSync(files.storage, '{"term": 2, "voted_for": null}');
      const output = await runWorker(['--id', nodeId, '--peers', [0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(','), '--dir', work]);
      assert.equal(output.code, 3, output.text);
      const line = JSON.parse(output.text.split('\n').find((l) => l.includes('"type":"error"'))!) as Record<string, unknown>;
      assert.equal(line['name'], 'RaftFileError');
      assert.equal(line['file'], files.log);
      assert.equal(line['line'], 3);
      assert.match(String(line['message']), /line 3: not valid JSON/);
      assert.equal(fs.readFileSync(files.log, 'utf8'), torn);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('crash-consistency checks themselves', () => {
  const e = (term: number, w: number | null) => ({ term, command: w === null ? null : { w } });

  it('lostAcks finds a missing, moved or overwritten acknowledged write', () => {
    const log = [e(1, 1), e(1, 2), e(2, 3)];
    assert.deepEqual(lostAcks([{ seq: 1, index: 1, term: 1 }, { seq: 3, index: 3, term: 2 }], log, 3), []);
    assert.equal(lostAcks([{ seq: 2, index: 3, term: 1 }], log, 3).length, 1);
    assert.equal(lostAcks([{ seq: 4, index: 4, term: 2 }], log, 3).length, 1);
    assert.equal(lostAcks([{ seq: 3, index: 3, term: 2 }], log, 2).length, 1, 'past the committed index');
  });

  it('logMatchingProblems finds logs that share an entry but not what precedes it', () => {
    assert.deepEqual(logMatchingProblems({ id: 'a', log: [e(1, 1), e(2, 2)] }, { id: 'b', log: [e(1, 1), e(3, 9)] }), []);
    const p = logMatchingProblems({ id: 'a', log: [e(1, 1), e(2, 2)] }, { id: 'b', log: [e(1, 5), e(2, 2)] });
    assert.equal(p.length, 1);
    assert.match(p[0]!, /a and b both hold term 2 at index 2 but differ at index 1/);
  });
});

async function portOfFirstNode(dir: string): Promise<number> {
  const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  const m = /_(\d+)\.log$/.exec(logs[0]!);
  return Number(m![1]);
}

function runWorker(args: readonly string[]): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'lib', 'check', 'crash-worker.ts'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the worker did not exit within 20 s: ${text}`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
}
