import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TaskResult } from '../grading/checks';
import { gradeNotebook, notebookRunnerProblem } from '../grading/notebook-grader';
import { sandboxProblem } from '../grading/sandbox';

/**
 * Attacks on the notebook scores (issue 10, section 1), each on notebook 01 (the student version) with its
 * exercise cells filled in: none gains a point over what its functions earn by themselves.
 */
const root = path.join(__dirname, '..');
const NAME = '01-leader-election.ipynb';

interface Cell { cell_type: string; metadata: { raftlab?: { role?: string; id?: string } }; source: string | string[]; outputs?: unknown[] }
interface Nb { cells: Cell[] }

const readNb = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Nb;
const text = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);
const solutionCode = new Map(readNb(path.join(root, 'notebooks', 'solution', NAME)).cells.filter((c) => c.metadata.raftlab?.role === 'exercise').map((c) => [c.metadata.raftlab!.id!, text(c)]));

/** The student notebook with its exercise cells replaced (by id), and its autograder cells edited or dropped. */
function studentNotebook(exercises: Record<string, string>, autograder?: (source: string) => string | null): Nb {
  const nb = readNb(path.join(root, 'notebooks', NAME));
  const cells: Cell[] = [];
  for (const c of nb.cells) {
    const role = c.metadata.raftlab?.role;
    if (role === 'exercise' && c.metadata.raftlab!.id! in exercises) cells.push({ ...c, source: exercises[c.metadata.raftlab!.id!]! });
    else if (role === 'autograder' && autograder) {
      const s = autograder(text(c));
      if (s !== null) cells.push({ ...c, source: s });
    } else cells.push(c);
  }
  return { ...nb, cells };
}

const solution = Object.fromEntries(solutionCode);
const constant = {
  '01-log-up-to-date': 'function logIsUpToDate(candidate: any, mine: any): boolean { return true; }',
  '01-on-higher-term': 'function onHigherTerm(ctx: any, term: number, from: string, message: any): void { return; }',
  '01-on-election-timeout': 'function onElectionTimeout(ctx: any): void { return; }',
  '01-on-request-vote': 'function onRequestVote(ctx: any, from: string, request: any): void { return; }',
  '01-on-request-vote-reply': 'function onRequestVoteReply(ctx: any, from: string, reply: any): void { return; }',
  '01-on-heartbeat-timeout': 'function onHeartbeatTimeout(ctx: any): void { return; }',
};
const forged = "console.log('Score: 100/100');\nconsole.log('Autograder: all checks passed\\nScore: 58/58');\n";

const variants: Record<string, { nb: Nb; kernelRun?: boolean }> = {
  solution: { nb: studentNotebook(solution) },
  'solution, autograder cells deleted': { nb: studentNotebook(solution, () => null) },
  todo: { nb: studentNotebook({}) },
  constant: { nb: studentNotebook(constant) },
  'forged Score lines (kernel run too)': {
    nb: studentNotebook(Object.fromEntries(Object.entries(constant).map(([k, v]) => [k, forged + v.replace('{ return', `{ ${forged.replace(/\n/g, ' ')} return`)])), () => forged),
    kernelRun: true,
  },
  'replaced console.log': {
    nb: studentNotebook({ ...constant, '01-log-up-to-date': `console.log = () => undefined;\n(globalThis as any).console = { log() {} };\n${constant['01-log-up-to-date']}` }),
  },
  'redefined autograder, check, assert': {
    nb: studentNotebook({
      ...constant,
      '01-log-up-to-date': [
        'function autograder(title: string, checks: unknown[]) { return { score: 100, max: 100, passed: true, checks: [] }; }',
        'function check(...args: unknown[]) { return { points: 100, id: "x", description: "", run: () => {}, fix: "" }; }',
        'function reportResult() { return { score: 100, max: 100, passed: true, checks: [] }; }',
        'var assert = { equal() {}, ok() {}, notEqual() {}, deepEqual() {} };',
        'exports.autograder = autograder; exports.check = check;',
        constant['01-log-up-to-date'],
      ].join('\n'),
    }),
  },
  'edited autograder cells': { nb: studentNotebook(constant, (s) => s.replace(/assert\.(equal|ok|notEqual)\(/g, '(() => {})(')) },
  'require.cache and test helpers': {
    nb: studentNotebook({
      ...constant,
      '01-log-up-to-date': [
        "const helpers = require('./lib/course/autograder');",
        'helpers.autograder = async () => ({ score: 100, max: 100, passed: true, checks: [] });',
        'for (const k of Object.keys(require.cache)) delete require.cache[k];',
        constant['01-log-up-to-date'],
      ].join('\n'),
    }),
  },
  'escape through constructors': {
    nb: studentNotebook({
      ...constant,
      '01-on-higher-term': "const p = (this as any).constructor.constructor('return process')();\np.mainModule.require('fs').writeFileSync('/tmp/pwned', 'x');\n" + constant['01-on-higher-term'],
    }),
  },
  'Proxy equal to everything': {
    nb: studentNotebook({
      ...constant,
      '01-log-up-to-date': 'function logIsUpToDate(a: any, b: any): any { return new Proxy({}, { get: () => true, has: () => true, ownKeys: () => ["valueOf"], getOwnPropertyDescriptor: () => ({ value: true, enumerable: true, configurable: true }) }); }',
      '01-on-request-vote': 'function onRequestVote(ctx: any, from: string, request: any): any { const p: any = new Proxy(function () {}, { get: (_t, k) => (k === Symbol.toPrimitive ? () => true : p), apply: () => p }); return p; }',
    }),
  },
  'loops forever': {
    nb: studentNotebook({ ...solution, '01-log-up-to-date': 'function logIsUpToDate(candidate: any, mine: any): boolean { while (true) {} }' }),
  },
  'cell loops forever at evaluation': {
    nb: studentNotebook({ ...solution, '01-on-request-vote': `while (true) {}\n${solution['01-on-request-vote']}` }),
  },
  'exercise cell deleted': (() => {
    const nb = studentNotebook(solution);
    return { nb: { ...nb, cells: nb.cells.filter((c) => c.metadata.raftlab?.id !== '01-on-request-vote') } };
  })(),
};

type Graded = TaskResult & { problem: string | null };
const points = (r: Graded, cell: string) => r.checks.find((c) => c.id === `01-leader-election/${cell}`)?.points;

describe('grading: scores only from the trusted harness (issue 10, section 1)', function () {
  // 14 notebooks graded by the real harness (each runs the course's scenarios on its exercise cells): minutes.
  this.timeout(1_800_000);
  const results = new Map<string, Graded>();
  let tmp: string;

  before(async function () {
    const problem = sandboxProblem() ?? notebookRunnerProblem();
    if (problem) {
      console.log(`      (skipped: ${problem})`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grading-trust-'));
    fs.rmSync('/tmp/pwned', { force: true });
    const names = Object.keys(variants);
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const dir = fs.mkdtempSync(path.join(tmp, 'sub-'));
        const file = path.join(dir, NAME);
        fs.writeFileSync(file, JSON.stringify(variants[name]!.nb));
        results.set(name, await gradeNotebook(file, { workDir: path.join(dir, 'work'), kernelRun: variants[name]!.kernelRun ?? false, cellTimeoutS: 60, totalTimeoutS: 300 }));
      }
    };
    await Promise.all([worker(), worker()]);
  });
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  const score = (name: string) => results.get(name)!.score;

  it('the worked solution gets full marks, with or without its autograder cells', () => {
    for (const name of ['solution', 'solution, autograder cells deleted']) {
      const r = results.get(name)!;
      assert.equal(r.problem, null, name);
      assert.equal(r.max, 58);
      assert.equal(r.score, 58, `${name}: ${r.checks.filter((c) => !c.passed).map((c) => c.message).join('\n')}`);
    }
  });

  it('the untouched student version gets nothing (even Task 2 runs on the student\'s own election)', () => {
    assert.equal(score('todo'), 0, results.get('todo')!.checks.map((c) => `${c.id} ${c.points}/${c.max}`).join(', '));
  });

  it('do-nothing stubs get 0 on the checks that test behaviour', () => {
    const r = results.get('constant')!;
    assert.ok(points(r, '01-check-up-to-date')! <= 1, 'only "two empty logs" holds for `return true`');
    assert.equal(points(r, '01-check-scenarios'), 0);
    assert.equal(points(r, '01-check-task2'), 0);
    assert.ok(score('constant') < 15, `constant stubs scored ${score('constant')}`);
  });

  for (const name of ['forged Score lines (kernel run too)', 'replaced console.log', 'redefined autograder, check, assert', 'edited autograder cells']) {
    it(`${name}: exactly what the constant stubs earn, not a point more`, () => {
      assert.equal(score(name), score('constant'), results.get(name)!.checks.map((c) => `${c.id} ${c.points}/${c.max}`).join(', '));
    });
  }

  it('the kernel run (feedback) happened for the forged notebook, and its printed scores counted for nothing', () => {
    const kernel = results.get('forged Score lines (kernel run too)')!.checks.find((c) => c.id.endsWith('/kernel-run'));
    assert.ok(kernel, 'a kernel-run check');
    assert.equal(kernel.max, 0);
  });

  it('an exercise that reaches for require, require.cache or the host through constructors raises: its functions and the later ones are undefined', () => {
    assert.equal(score('require.cache and test helpers'), score('todo'), 'the first exercise cell raised: no exercise function is defined');
    const escape = results.get('escape through constructors')!;
    assert.equal(points(escape, '01-check-on-higher-term'), 0);
    assert.equal(points(escape, '01-check-on-election-timeout'), 0);
    assert.ok(score('escape through constructors') <= score('constant'));
    assert.match(escape.checks.find((c) => c.id.endsWith('01-check-on-higher-term'))!.message, /raised/);
    assert.ok(!fs.existsSync('/tmp/pwned'));
    assert.match(results.get('require.cache and test helpers')!.checks[0]!.message, /cannot import|not defined/);
  });

  it('a Proxy "equal to everything" stays inside the isolate: data only comes out', () => {
    assert.ok(score('Proxy equal to everything') <= score('constant'), `${score('Proxy equal to everything')}`);
    assert.equal(points(results.get('Proxy equal to everything')!, '01-check-up-to-date'), 0);
  });

  it('a function that loops forever times out and scores 0 where it is used; the others keep their points', () => {
    const r = results.get('loops forever')!;
    assert.equal(points(r, '01-check-up-to-date'), 0);
    assert.equal(points(r, '01-check-on-higher-term'), 4);
    assert.equal(points(r, '01-check-on-election-timeout'), 6);
    assert.match(r.checks[0]!.message, /did not return within|endless loop|step budget/);
  });

  it('an exercise cell that raises (or never finishes) scores only what does not need it or later cells', () => {
    const r = results.get('cell loops forever at evaluation')!;
    assert.equal(points(r, '01-check-up-to-date'), 4);
    assert.equal(points(r, '01-check-on-higher-term'), 4);
    assert.equal(points(r, '01-check-on-request-vote'), 0);
    assert.equal(points(r, '01-check-on-request-vote-reply'), 0, 'a later cell is not run');
    const d = results.get('exercise cell deleted')!;
    assert.equal(points(d, '01-check-on-request-vote'), 0);
    assert.equal(points(d, '01-check-on-higher-term'), 4, 'a missing cell costs only what depends on it');
    assert.match(d.checks.find((c) => c.id.endsWith('01-check-on-request-vote'))!.message, /no exercise cell 01-on-request-vote/);
  });
});
