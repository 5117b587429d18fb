import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkTask2 } from '../grading';
import { isUnknown, readPython, type PythonProgram } from '../grading/python';

const manualDir = path.join(__dirname, '..', 'datasets', 'submissions', 'manual-example', 'PES120180XXXX');

function program(text: string): PythonProgram {
  const r = readPython(text);
  if (!r.ok) assert.fail(`expected valid Python, got line ${r.line} ${r.problem}`);
  return r.program;
}

function value(text: string, name: string): unknown {
  const a = program(text).globals.get(name);
  if (a === undefined) return undefined;
  return isUnknown(a.result) ? a.result : a.result.value;
}

function manual(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(manualDir)) files.set(name, fs.readFileSync(path.join(manualDir, name), 'utf8'));
  return files;
}

describe('grading: node programs read as Python (grading/python.ts)', () => {
  it('a trailing comment, a semicolon, CRLF and tabs', () => {
    assert.equal(value('PORT = 8001  # node 2\n', 'PORT'), 8001);
    assert.equal(value('PORT = 8000; NODE_ID = 1\n', 'NODE_ID'), 1);
    assert.equal(value('PORT = 8000; NODE_ID = 1\n', 'PORT'), 8000);
    assert.equal(value('import raftos\r\nPORT = 8002\r\nNODE_ID = 3\r\n', 'NODE_ID'), 3);
    assert.equal(value('if __name__ == "__main__":\n\tPORT = 8001\n\tNODE_ID = 2\n', 'PORT'), 8001);
  });

  it('simple expressions: 8000 + 1, names, tuples, string concatenation, f-strings, lists and comprehensions', () => {
    assert.equal(value('PORT = 8000 + 1\n', 'PORT'), 8001);
    assert.equal(value('BASE = 8000\nPORT = BASE + 2\nNODE_ID = PORT - BASE + 1\n', 'NODE_ID'), 3);
    assert.equal(value('PORT, NODE_ID = 8002, 3\n', 'PORT'), 8002);
    assert.equal(value('A = B = 7\n', 'B'), 7);
    assert.equal(value('PORT = 8000\nPORT += 1\n', 'PORT'), 8001);
    assert.equal(value("H = '127.0.0.1' + ':' \"80\" '01'\n", 'H'), '127.0.0.1:8001');
    assert.equal(value("P = 8001\nA = f'127.0.0.1:{P}'\n", 'A'), '127.0.0.1:8001');
    assert.deepEqual(value('P = 8001\nO = [i for i in [8000, 8001, 8002] if i != P]\n', 'O'), [8000, 8002]);
    assert.deepEqual(value("C = ['127.0.0.1:8001', '127.0.0.1:8002']\n", 'C'), ['127.0.0.1:8001', '127.0.0.1:8002']);
    assert.equal(value('O = [8000, 8002]\nX = str(O[-1])\n', 'X'), '8002');
    assert.match(String((value('import sys\nPORT = int(sys.argv[1])\n', 'PORT') as { unknown: string }).unknown), /sys\.argv/);
  });

  it('the last module-level assignment wins; one in a comment, a string, a def or a class does not count', () => {
    assert.equal(value('PORT = 8000\nPORT = 8001\n', 'PORT'), 8001);
    assert.equal(value('PORT = 8000\n# PORT = 8001\n', 'PORT'), 8000);
    assert.equal(value('PORT = 8000\nS = "PORT = 8001"\nT = """\nPORT = 8002\n"""\n', 'PORT'), 8000);
    assert.equal(value('PORT = 8000\ndef f():\n    PORT = 8001\n    return PORT\n', 'PORT'), 8000);
    assert.equal(value('PORT = 8000\nclass C:\n    PORT = 8001\n', 'PORT'), 8000);
    assert.equal(value('def f():\n    PORT = 8001\n', 'PORT'), undefined);
    assert.equal(value('try:\n    PORT = 8001\nexcept Exception:\n    pass\n', 'PORT'), 8001);
  });

  it('invalid Python names its line', () => {
    const cases: [string, number, RegExp][] = [
      ['PORT = 8000\nNODE_ID = = 1\n', 2, /not valid Python/],
      ['PORT = 8000\nasync def run(loop)\n    pass\n', 2, /not valid Python/],
      ['PORT = (8000,\n', 1, /not valid Python/],
      ['PORT = 8000\n  NODE_ID = 1\n', 2, /unexpected indentation/],
      ['if True:\n\tPORT = 1\n        NODE_ID = 2\n', 3, /tabs and spaces/],
      ['print "hi"\n', 1, /Python 2 print/],
    ];
    for (const [text, line, problem] of cases) {
      const r = readPython(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) {
        assert.equal(r.line, line, `${JSON.stringify(text)}: ${r.problem}`);
        assert.match(r.problem, problem);
      }
    }
  });

  it("the manual's program: its constants, its raftos cluster and its f.write() lines", () => {
    const p = program(fs.readFileSync(path.join(manualDir, '2.py'), 'utf8'));
    assert.deepEqual(p.registers.map((r) => [r.address, r.cluster]), [[{ value: '127.0.0.1:8001' }, { value: ['127.0.0.1:8000', '127.0.0.1:8002'] }]]);
    assert.deepEqual(p.writes.map((w) => w.template), ['LEADER => {leader}\n', 'LEADER -> {NODE_ID}\n', 'done writing data_id\n', 'done writing data\n']);
  });
});

describe('grading: t2.programs and t2.f-writes on Python programs', () => {
  const check = (files: Map<string, string>, id: string) => checkTask2(files).checks.find((c) => c.id === id)!;

  it('real raftos programs in other spellings keep full marks', () => {
    const files = manual();
    files.set('1.py', files.get('1.py')!.replace('PORT = 8000\nNODE_ID = 1\n', 'PORT = 8000; NODE_ID = 1  # node 1\n').replace(/\n/g, '\r\n'));
    files.set('2.py', files.get('2.py')!.replace('PORT = 8001\n', 'PORT = 8000 + 1  # node 2\n').replace(/    /g, '\t'));
    files.set('3.py', `PORT = 1\ndef f():\n    PORT = 2\n${files.get('3.py')!}`);
    const r = checkTask2(files);
    assert.equal(r.score, 10, r.checks.map((c) => c.message).join('\n'));
    assert.ok(r.passed);
  });

  it('a PORT only in a comment or a function, or a wrong cluster, loses the point with the reason', () => {
    const files = manual();
    files.set('2.py', files.get('2.py')!.replace('PORT = 8001\n', '# PORT = 8001\ndef g():\n    PORT = 8001\n'));
    files.set('3.py', files.get('3.py')!.replace("f'127.0.0.1:{other_nodes[1]}'", "'127.0.0.1:9000'"));
    const c = check(files, 't2.programs');
    assert.equal(c.passed, false);
    assert.match(c.message, /2\.py must set PORT = 8001 \(no module-level assignment of PORT/);
    assert.match(c.message, /3\.py line \d+ registers the cluster \['127\.0\.0\.1:8000', '127\.0\.0\.1:9000'\]/);
  });

  it('invalid Python loses the point and names the line', () => {
    const files = manual();
    files.set('3.py', files.get('3.py')!.replace('async def run(loop):', 'async def run(loop)'));
    const c = check(files, 't2.programs');
    assert.equal(c.passed, false);
    assert.match(c.message, /3\.py line 36 is not valid Python/);
  });

  it("f.write() lines that differ from the manual's are reported, at no cost in points", () => {
    const files = manual();
    assert.equal(check(files, 't2.f-writes').passed, true);
    files.set('2.py', files.get('2.py')!.replace("f.write('done writing data\\n')", "f.write('finished\\n')"));
    files.set('3.py', files.get('3.py')!.replace("f.write(f'LEADER => {leader}\\n')", "f.write('LEADER => ' + str(leader) + '\\n')"));
    const c = check(files, 't2.f-writes');
    assert.equal(c.passed, false);
    assert.equal(c.max, 0);
    assert.match(c.message, /2\.py \(TASK_NO 3\): line 54 writes "finished\\n"; no f\.write\(\) writes "done writing data\\n"/);
    assert.match(c.message, /3\.py \(TASK_NO 3\): line 44 writes .*no f\.write\(\) writes "LEADER => \{leader\}\\n"/);
    assert.equal(checkTask2(files).score, 10);
  });

  it("a Task 2 program (TASK_NO = 2) is held to the manual's Task 2 writes", () => {
    const files = manual();
    const t2 = files.get('1.py')!.replace('TASK_NO = 3', 'TASK_NO = 2');
    files.set('1.py', t2);
    const c = check(files, 't2.f-writes');
    assert.equal(c.passed, false);
    assert.match(c.message, /1\.py \(TASK_NO 2\): line 49 writes "LEADER -> \{NODE_ID\}\\n"/);
    assert.match(c.message, /no f\.write\(\) writes "LEADER IS NOW NODE \{NODE_ID\}\\n"/);
  });
});

describe('grading: hostile programs', () => {
  it('brackets nested past Python\'s limit of 200 are refused at once, naming the line', () => {
    const r = readPython(`PORT = 8000\nNODE_ID = ${'('.repeat(100_000)}1${')'.repeat(100_000)}\n`);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.line, 2);
      assert.match(r.problem, /too many nested parentheses/);
    }
    // brackets in strings and comments do not count
    assert.equal(value(`S = "${'('.repeat(300)}"  # ${'['.repeat(300)}\nPORT = (8001)\n`, 'PORT'), 8001);
  });
});
