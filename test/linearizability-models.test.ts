import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { checkHistory, type LinearizabilityResult } from '../lib/check/linearizability/check';
import { generateHistory, type GeneratedModel, type Violation } from '../lib/check/linearizability/generate';
import type { Operation } from '../lib/check/linearizability/model';
import { checkHistoryParallel } from '../lib/check/linearizability/parallel';
import { HistoryFormatError, readHistory, writeEdnHistory } from '../lib/check/histories';
import { linearizabilityPicture, linearizabilitySvg } from '../lib/check/linearizability-picture';
import { kvModel, modelFromSpec, registerModel, setModel } from '../lib/check/models/index';
import type { RegisterInput, RegisterOutput } from '../lib/check/models/register';
import type { SetInput, SetOutput } from '../lib/check/models/set';

const ROOT = path.join(__dirname, '..');
const DATA = path.join(ROOT, 'datasets', 'histories');

const reg = (client: number, input: RegisterInput, output: RegisterOutput | undefined, call: number, ret: number | null): Operation<RegisterInput, RegisterOutput> => ({
  client,
  input,
  ...(output ? { output } : {}),
  call,
  return: ret,
});
const set = (client: number, input: SetInput, output: SetOutput | undefined, call: number, ret: number | null): Operation<SetInput, SetOutput> => ({
  client,
  input,
  ...(output ? { output } : {}),
  call,
  return: ret,
});

const verdict = (r: LinearizabilityResult) => (r.result === 'illegal' ? `illegal: ${r.failure.explanation}` : r.result === 'unknown' ? `unknown: ${r.reason}` : 'ok');

describe('linearizability models: the register (read, write, cas as etcd)', () => {
  const m = registerModel();
  it('accepts a cas that matched and one that failed, and reads in between', () => {
    const h = [
      reg(0, { f: 'write', value: 1 }, undefined, 0, 1),
      reg(1, { f: 'cas', from: 1, to: 2 }, { ok: true }, 2, 4),
      reg(2, { f: 'cas', from: 1, to: 3 }, { ok: false }, 5, 6),
      reg(0, { f: 'read' }, { value: 2 }, 7, 8),
    ];
    assert.equal(checkHistory(h, m).result, 'ok');
  });
  it('rejects a cas that claims success on a register holding another value', () => {
    const h = [reg(0, { f: 'write', value: 1 }, undefined, 0, 1), reg(1, { f: 'cas', from: 5, to: 2 }, { ok: true }, 2, 4)];
    assert.equal(checkHistory(h, m).result, 'illegal');
  });
  it('rejects a failed cas whose compare must have matched (nothing else could change the register)', () => {
    const h = [reg(0, { f: 'write', value: 1 }, undefined, 0, 1), reg(1, { f: 'cas', from: 1, to: 2 }, { ok: false }, 2, 4), reg(0, { f: 'read' }, { value: 1 }, 5, 6)];
    assert.equal(checkHistory(h, m).result, 'illegal');
  });
  it('a cas with an unknown outcome may have happened or not', () => {
    const h = [reg(0, { f: 'write', value: 1 }, undefined, 0, 1), reg(1, { f: 'cas', from: 1, to: 2 }, undefined, 2, null), reg(0, { f: 'read' }, { value: 2 }, 5, 6), reg(0, { f: 'read' }, { value: 2 }, 7, 8)];
    assert.equal(checkHistory(h, m).result, 'ok');
    const never = [reg(0, { f: 'write', value: 1 }, undefined, 0, 1), reg(1, { f: 'cas', from: 1, to: 2 }, undefined, 2, null), reg(0, { f: 'read' }, { value: 1 }, 5, 6)];
    assert.equal(checkHistory(never, m).result, 'ok');
  });
  it('a stale read after an overwrite is decided by the linear pass, with the writes in the failing subset', () => {
    const h = [reg(0, { f: 'write', value: 1 }, undefined, 0, 1), reg(1, { f: 'write', value: 2 }, undefined, 2, 3), reg(2, { f: 'read' }, { value: 1 }, 4, 5)];
    const r = checkHistory(h, m);
    assert.equal(r.result, 'illegal');
    if (r.result !== 'illegal') return;
    assert.equal(r.failure.decidedBy, 'impossible');
    assert.deepEqual([...r.failure.minimal!].sort(), [0, 1, 2]);
  });
  it('refuses malformed operations naming the field', () => {
    assert.throws(() => checkHistory([reg(0, { f: 'cas', from: 1 } as RegisterInput, { ok: true }, 0, 1)], m), /history\[0\]\.input\.from and input\.to/);
    assert.throws(() => checkHistory([reg(0, { f: 'cas', from: 1, to: 2 }, {} as RegisterOutput, 0, 1)], m), /history\[0\]\.output\.ok/);
    assert.throws(() => checkHistory([reg(0, { f: 'swap' } as unknown as RegisterInput, undefined, 0, 1)], m), /history\[0\]\.input\.f must be read, write or cas/);
  });
});

describe('linearizability models: the set (add, read)', () => {
  const m = setModel();
  it('accepts reads that see concurrent adds in either state, in any listed order', () => {
    const h = [set(0, { f: 'add', value: 1 }, undefined, 0, 10), set(1, { f: 'add', value: 2 }, undefined, 0, 10), set(2, { f: 'read' }, { value: [2] }, 1, 2), set(2, { f: 'read' }, { value: [2, 1] }, 11, 12)];
    assert.equal(checkHistory(h, m).result, 'ok');
  });
  it('rejects a read that misses a completed add, and one that sees a value before its add', () => {
    assert.equal(checkHistory([set(0, { f: 'add', value: 1 }, undefined, 0, 1), set(1, { f: 'read' }, { value: [] }, 2, 3)], m).result, 'illegal');
    assert.equal(checkHistory([set(1, { f: 'read' }, { value: [7] }, 0, 1), set(0, { f: 'add', value: 7 }, undefined, 2, 3)], m).result, 'illegal');
  });
});

describe('linearizability: seeded generated histories of every model', () => {
  const cases: { model: GeneratedModel; violations: Violation[] }[] = [
    { model: 'kv', violations: ['stale-read', 'lost-write', 'phantom-read'] },
    { model: 'register', violations: ['stale-read', 'lost-write', 'phantom-read', 'wrong-cas'] },
    { model: 'set', violations: ['lost-add'] },
  ];
  for (const { model, violations } of cases) {
    it(`${model}: legal histories are ok, each injected violation is illegal (10 seeds, 8 clients, 2 keys)`, () => {
      const m = modelFromSpec({ name: model });
      const operations = model === 'set' ? 120 : 300;
      for (let seed = 1; seed <= 10; seed++) {
        const legal = generateHistory({ seed, model, clients: 8, keys: 2, operations, unknownRatio: 0.05 });
        assert.equal(verdict(checkHistory(legal.history, m, { maxSteps: 200_000 })), 'ok', `${model} seed ${seed}`);
        for (const violation of violations) {
          const bad = generateHistory({ seed, model, clients: 8, keys: 2, operations, unknownRatio: 0.05, violation });
          const r = checkHistory(bad.history, m, { maxSteps: 200_000 });
          assert.equal(r.result, 'illegal', `${model} ${violation} seed ${seed}: ${verdict(r)}`);
        }
      }
    });
  }

  it('the same seed gives the same history', () => {
    assert.deepEqual(generateHistory({ seed: 7, model: 'register', clients: 5, keys: 2, operations: 100 }), generateHistory({ seed: 7, model: 'register', clients: 5, keys: 2, operations: 100 }));
  });
});

describe('linearizability: large histories (10,000 operations, 50 clients, 10 keys) decided within a fixed budget', () => {
  const budget = { maxSteps: 2_000_000, explain: false } as const;
  const large = (model: GeneratedModel, violation?: Violation) => generateHistory({ seed: 1, model, clients: 50, keys: 10, operations: 10_000, ...(violation ? { violation } : {}) });
  it('kv: legal, and with a stale read', () => {
    assert.equal(verdict(checkHistory(large('kv').history, kvModel(), budget)), 'ok');
    const bad = large('kv', 'stale-read');
    const r = checkHistory(bad.history, kvModel(), budget);
    assert.equal(r.result, 'illegal');
    if (r.result === 'illegal') assert.equal(r.failure.key, (bad.history[bad.violation!.index]!.input as { key: string }).key);
  });
  it('register: legal, and with a wrong cas (decided by the search)', () => {
    assert.equal(verdict(checkHistory(large('register').history, registerModel(), budget)), 'ok');
    const r = checkHistory(large('register', 'wrong-cas').history, registerModel(), budget);
    assert.equal(r.result, 'illegal');
    if (r.result === 'illegal') assert.equal(r.failure.decidedBy, 'search');
  });
});

describe('linearizability: budgets per key, first illegal key wins, worker threads', () => {
  // One key the search cannot settle in 1,000 steps: 40 concurrent writes, 40 concurrent reads, then two
  // sequential reads of different values with no write between (illegal, but only an exhaustive search knows).
  const hard = (key: string, client0: number): Operation<RegisterInput, RegisterOutput>[] => {
    const ops: Operation<RegisterInput, RegisterOutput>[] = [];
    for (let i = 0; i < 40; i++) ops.push(reg(client0 + i, { f: 'write', key, value: i }, undefined, 0, 1000));
    for (let i = 0; i < 40; i++) ops.push(reg(client0 + 100 + i, { f: 'read', key }, { value: 39 - i }, 0, 1000));
    ops.push(reg(client0 + 200, { f: 'read', key }, { value: 0 }, 1001, 1002), reg(client0 + 201, { f: 'read', key }, { value: 1 }, 1003, 1004));
    return ops;
  };
  const plainlyBad: Operation<RegisterInput, RegisterOutput>[] = [reg(500, { f: 'write', key: 'b', value: 1 }, undefined, 0, 1), reg(501, { f: 'write', key: 'b', value: 2 }, undefined, 2, 3), reg(502, { f: 'cas', key: 'b', from: 7, to: 8 }, { ok: true }, 4, 5)];

  it("'unknown' names the keys that ran out of budget, and only when no key is illegal", () => {
    const r = checkHistory([...hard('h1', 0), ...hard('h2', 1000)], registerModel(), { maxSteps: 1000 });
    assert.equal(r.result, 'unknown');
    if (r.result === 'unknown') {
      assert.deepEqual([...r.unknownKeys].sort(), ['h1', 'h2']);
      assert.match(r.reason, /keys "h1", "h2" exceeded 1000 steps/);
    }
    // A hard key first in the history does not starve a plainly illegal one.
    const mixed = checkHistory([...hard('h1', 0), ...plainlyBad], registerModel(), { maxSteps: 1000 });
    assert.equal(mixed.result, 'illegal');
    if (mixed.result === 'illegal') assert.equal(mixed.failure.key, 'b');
  });

  it('a key illegal only by search is found while a hard key is still running (round-robin slices)', () => {
    const bad = generateHistory({ seed: 4, model: 'register', clients: 5, keys: 1, operations: 200, violation: 'wrong-cas' }).history as Operation<RegisterInput, RegisterOutput>[];
    const renamed = bad.map((op) => ({ ...op, input: { ...op.input, key: 'w' } }) as Operation<RegisterInput, RegisterOutput>);
    const r = checkHistory([...hard('h1', 10_000), ...renamed], registerModel(), { maxSteps: 10_000_000, slice: 500, explain: false });
    assert.equal(r.result, 'illegal');
    if (r.result !== 'illegal') return;
    assert.equal(r.failure.key, 'w');
    const h1 = r.parts.find((p) => p.key === 'h1');
    assert.equal(h1, undefined, 'the hard key was never finished: the illegal key stopped the check');
  });

  it('worker threads give the same verdicts as one thread (legal, illegal, unknown)', async () => {
    const legal = generateHistory({ seed: 2, model: 'kv', clients: 20, keys: 4, operations: 2000 }).history;
    const one = checkHistory(legal, kvModel());
    const many = await checkHistoryParallel(legal, kvModel(), { parallel: true, threads: 2 });
    assert.equal(one.result, 'ok');
    assert.equal(many.result, 'ok');
    assert.equal(many.parts.length, one.parts.length);

    const illegal = generateHistory({ seed: 3, model: 'register', clients: 20, keys: 4, operations: 2000, violation: 'wrong-cas' }).history;
    const a = checkHistory(illegal, registerModel());
    const b = await checkHistoryParallel(illegal, registerModel(), { parallel: true, threads: 2 });
    assert.equal(a.result, 'illegal');
    assert.equal(b.result, 'illegal');
    if (a.result === 'illegal' && b.result === 'illegal') {
      assert.equal(b.failure.key, a.failure.key);
      assert.equal(b.failure.decidedBy, 'search', 'decided on a worker');
    }

    const unknown = await checkHistoryParallel([...hard('h1', 0), ...hard('h2', 1000)], registerModel(), { parallel: true, threads: 2, maxSteps: 1000 });
    assert.equal(unknown.result, 'unknown');
    if (unknown.result === 'unknown') assert.deepEqual([...unknown.unknownKeys].sort(), ['h1', 'h2']);
  });
});

describe('linearizability: histories from other systems', () => {
  const read = (name: string) => readHistory(fs.readFileSync(path.join(DATA, name), 'utf8'), { source: name });
  const expected: Record<string, 'ok' | 'illegal'> = {
    'etcd-register-ok.log': 'ok',
    'etcd-register-stale-read.log': 'illegal',
    'kv-c5-ok.edn': 'ok',
    'kv-c5-stale-read.edn': 'illegal',
    'register-c5-ok.edn': 'ok',
    'register-c5-wrong-cas.edn': 'illegal',
    'set-c4-lost-add.edn': 'illegal',
  };
  it('every history in datasets/histories/ gets its expected verdict', () => {
    assert.deepEqual(fs.readdirSync(DATA).filter((f) => f !== 'README.md').sort(), Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      const h = read(name);
      assert.equal(checkHistory(h.history, modelFromSpec(h.model)).result, want, name);
    }
  });

  it("Jepsen's etcd log: :fail of a cas is a failed compare, :info an unknown outcome, a timed-out read is dropped", () => {
    const h = read('etcd-register-ok.log');
    assert.equal(h.format, 'jepsen-log');
    assert.equal(h.model.name, 'register');
    assert.equal(h.history.length, 7);
    assert.deepEqual(h.history.find((o) => (o.input as RegisterInput).f === 'cas' && o.client === 1)?.output, { ok: false });
    assert.equal(h.history.find((o) => o.client === 3)?.return, null);
  });

  it("Porcupine's kv format: :key, absent keys read as \"\"", () => {
    const text = ['{:process 0, :type :invoke, :f :get, :key "a", :value nil}', '{:process 0, :type :ok, :f :get, :key "a", :value ""}', '{:process 1, :type :invoke, :f :append, :key "a", :value "x"}', '{:process 1, :type :ok, :f :append, :key "a", :value "x"}', '{:process 0, :type :invoke, :f :get, :key "a", :value nil}', '{:process 0, :type :ok, :f :get, :key "a", :value "x"}'].join('\n');
    const h = readHistory(text);
    assert.deepEqual(h.model, { name: 'kv', initial: '' });
    assert.equal(checkHistory(h.history, modelFromSpec(h.model)).result, 'ok');
  });

  it('a history written as EDN reads back with the same verdict', () => {
    for (const violation of [undefined, 'wrong-cas'] as const) {
      const g = generateHistory({ seed: 9, model: 'register', clients: 6, keys: 2, operations: 200, ...(violation ? { violation } : {}) });
      const back = readHistory(writeEdnHistory(g.history));
      assert.equal(back.history.length, g.history.length);
      assert.equal(checkHistory(back.history, registerModel()).result, checkHistory(g.history, registerModel()).result);
    }
  });

  it('malformed lines: the error names the line and the field', () => {
    const bad = (text: string, pattern: RegExp) => {
      assert.throws(() => readHistory(text, { source: 'h.edn' }), (err: unknown) => err instanceof HistoryFormatError && pattern.test(err.message));
    };
    bad('{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :done, :f :read, :value 1}', /^h\.edn:2 \(:type\): expected :invoke, :ok, :fail or :info/);
    bad('{:process 0, :type :invoke, :f :cas, :value 3}', /^h\.edn:1 \(:value\): a cas needs \[from to\], got 3/);
    bad('{:process 1, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value 1}', /^h\.edn:2 \(:process\): a completion \(:ok\) of process 0 with no invocation/);
    bad('{:process 0, :type :invoke, :f :read, :value nil', /^h\.edn:1: missing \}/);
    bad('{:process 0, :type :invoke, :value nil}', /^h\.edn:1 \(:f\): expected a keyword, got null/);
    bad('{:process 0, :type :invoke, :f :read}\n{:process 0, :type :invoke, :f :read}', /^h\.edn:2 \(:process\): process 0 invokes again/);
    assert.throws(() => readHistory('INFO  jepsen.util - 0\t:invoke\t:write\t[1', { source: 'j.log' }), /^HistoryFormatError: j\.log:1 \(value\): .*missing \]/);
    assert.throws(() => readHistory('INFO  jepsen.util - 0\t:finish\t:write\t1', { source: 'j.log' }), /j\.log:1 \(type\)/);
    assert.throws(() => readHistory('[{"client": 1, "op": "inc", "key": "x", "value": "1", "call": 0}]', { source: 'h.json' }), /h\.json:1 \(\[0\]\.op\)/);
  });
});

describe('linearizability: the picture and the command line', () => {
  const bad = generateHistory({ seed: 2, model: 'kv', clients: 5, keys: 1, operations: 120, violation: 'stale-read' });
  const result = checkHistory(bad.history, kvModel());

  it('draws one row per client, the longest order numbered, the stuck operation red, the failing subset outlined', () => {
    assert.equal(result.result, 'illegal');
    if (result.result !== 'illegal') return;
    const svg = linearizabilitySvg(result);
    const clients = new Set(result.failure.operations.map((o) => String(o.client)));
    for (const c of clients) assert.ok(svg.includes(`>client ${c}</text>`), `row for client ${c}`);
    assert.equal((svg.match(/fill="#cf222e"/g) ?? []).length, 1, 'one stuck operation');
    assert.equal((svg.match(/stroke-width="2\.5"/g) ?? []).length, result.failure.minimal!.length);
    assert.equal((svg.match(/\[linearized \d+\]/g) ?? []).length, result.failure.longestPrefix.length);
    const html = linearizabilityPicture(result);
    assert.match(html, /^<div class="linearizability">/);
    assert.ok(html.includes('cannot be placed'));
    assert.match(linearizabilityPicture(checkHistory(generateHistory({ seed: 1, model: 'kv', clients: 3, keys: 1, operations: 20 }).history, kvModel())), /linearizable: 20 operations over 1 keys/);
  });

  it('npm run lin: exit 1 and a picture for an illegal history, 0 for a legal one, 2 naming the line for a malformed one', async () => {
    const run = promisify(execFile);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lin-cli-'));
    try {
      const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
      const out = path.join(dir, 'p.html');
      const illegal = await run(tsx, ['scripts/lin.ts', 'datasets/histories/kv-c5-stale-read.edn', '--out', out], { cwd: ROOT }).then(() => null, (e: { code: number; stdout: string }) => e);
      assert.equal(illegal?.code, 1);
      assert.match(illegal!.stdout, /NOT linearizable/);
      assert.match(fs.readFileSync(out, 'utf8'), /<svg/);
      const ok = await run(tsx, ['scripts/lin.ts', 'datasets/histories/etcd-register-ok.log', '--out', out, '--model', 'register'], { cwd: ROOT });
      assert.match(ok.stdout, /^linearizable/);
      const broken = path.join(dir, 'broken.edn');
      fs.writeFileSync(broken, '{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write :value}\n');
      const malformed = await run(tsx, ['scripts/lin.ts', broken, '--out', out], { cwd: ROOT }).then(() => null, (e: { code: number; stderr: string }) => e);
      assert.equal(malformed?.code, 2);
      assert.match(malformed!.stderr, /broken\.edn:2: a map needs an even number of forms/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
