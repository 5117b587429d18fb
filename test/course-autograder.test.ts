import { strict as assert } from 'node:assert';
import { AutograderFailure, autograder, check, runChecks } from '../lib/course/autograder';

/** Capture console.log and console.error while fn runs. */
async function captured(fn: () => Promise<unknown>): Promise<{ out: string; err: string; error: unknown }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...args: unknown[]) => void out.push(args.join(' '));
  console.error = (...args: unknown[]) => void err.push(args.join(' '));
  try {
    await fn();
    return { out: out.join('\n'), err: err.join('\n'), error: null };
  } catch (e) {
    return { out: out.join('\n'), err: err.join('\n'), error: e };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('notebook autograder (lib/course)', () => {
  it('prints a checklist on stdout and nothing on stderr when every check passes', async () => {
    const r = await captured(() =>
      autograder('demo', [check(1, 'a.one', 'one is one', () => assert.equal(1, 1), 'never'), check(2, 'a.two', 'async', async () => undefined, 'never')]),
    );
    assert.equal(r.error, null);
    assert.equal(r.err, '');
    assert.match(r.out, /^Autograder: demo\n\[x\] a\.one +1\/1  one is one\n\[x\] a\.two +2\/2  async\nScore: 3\/3 \(all checks passed\)$/);
  });

  it('runs every check, shows what was found and what to fix, and fails the cell', async () => {
    const r = await captured(() =>
      autograder('demo', [
        check(2, 'b.stale', 'refuses a stale term', () => assert.equal(true, false, 'granted a vote for term 1 in term 2'), 'return false when request.term < currentTerm'),
        check(1, 'b.todo', 'runs', () => { throw new Error('TODO: exercise 01-grant-vote'); }, 'write the function'),
        check(1, 'b.ok', 'passes', () => undefined, 'never'),
      ]),
    );
    assert.ok(r.error instanceof AutograderFailure);
    assert.match((r.error as Error).message, /2 checks failed \(b\.stale, b\.todo\); score 1\/4/);
    assert.match(r.out, /\[ \] b\.stale +0\/2  refuses a stale term/);
    assert.match(r.out, /found: granted a vote for term 1 in term 2/);
    assert.match(r.out, /fix: return false when request\.term < currentTerm/);
    assert.match(r.out, /found: TODO: exercise 01-grant-vote/);
    assert.match(r.out, /\[x\] b\.ok/);
    assert.match(r.out, /Score: 1\/4$/);
    assert.equal(r.err, '');
  });

  it('refuses duplicate ids and non-positive points', async () => {
    assert.throws(() => check(0, 'x', 'd', () => undefined, 'f'), /points must be positive/);
    await assert.rejects(runChecks([check(1, 'x', 'd', () => undefined, 'f'), check(1, 'x', 'd', () => undefined, 'f')]), /two checks are called x/);
  });
});
