import { strict as assert } from 'node:assert';
import type { Page } from 'puppeteer-core';
import { ScopeRun } from '../lib/scope/driver';
import { chromiumProblem, launchChromium, type HeadlessChromium } from '../lib/scope/headless';
import { startScopeServer, type ScopeServer } from '../lib/scope/server';
import { defaultSpec } from '../lib/scope/spec';

/** What the page shows about the cluster, read from the DOM. */
async function shown(page: Page): Promise<{ time: number; leader: string; term: number; branch: string; violation: string; nodes: string[]; logs: string[] }> {
  return page.evaluate(() => {
    const root = document.querySelector<HTMLElement>('.raft-scope')!;
    return {
      time: Number(root.dataset.time),
      leader: root.dataset.leader ?? '',
      term: Number(root.dataset.term),
      branch: root.dataset.branch ?? '',
      violation: root.dataset.violation ?? '',
      nodes: [...document.querySelectorAll<SVGGElement>('.node')].map((g) => `${g.dataset.node}:${g.dataset.role}:${g.dataset.term}`),
      logs: [...document.querySelectorAll<HTMLElement>('.logrow')].map((r) => r.textContent ?? ''),
    };
  });
}

async function setRange(page: Page, test: string, value: number): Promise<void> {
  await page.$eval(`[data-test=${test}]`, (el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

async function click(page: Page, selector: string): Promise<void> {
  await page.$eval(selector, (el) => el.dispatchEvent(new MouseEvent('click', { bubbles: true })));
}

/** Play at 100x until `condition` holds in the page (bounded), then pause. */
async function playUntil(page: Page, condition: string, timeoutMs = 20_000): Promise<void> {
  await setRange(page, 'speed', 2);
  await click(page, '[data-test=play]');
  await page.waitForFunction(condition, { timeout: timeoutMs, polling: 'raf' });
  const playing = await page.$eval('[data-test=play]', (b) => b.textContent?.includes('pause') ?? false);
  if (playing) await click(page, '[data-test=play]');
}

describe('Raft Scope in Chromium', function () {
  this.timeout(120_000);
  let chromium: HeadlessChromium | null = null;
  let server: ScopeServer | null = null;
  let page: Page;
  const problems: string[] = [];

  before(async function () {
    const problem = chromiumProblem();
    if (problem) throw new Error(problem);
    server = await startScopeServer({ port: 0 });
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  async function open(hash: string): Promise<Page> {
    const p = await chromium!.browser.newPage();
    p.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    await p.goto(`${server!.url}${hash}`, { waitUntil: 'load' });
    await p.waitForSelector('.raft-scope .node', { timeout: 10_000 });
    return p;
  }

  it('loads and shows a 5-node cluster at time 0', async () => {
    page = await open('');
    const s = await shown(page);
    assert.equal(s.nodes.length, 5);
    assert.equal(s.time, 0);
    assert.ok(s.nodes.every((n) => n.endsWith(':follower:0')), s.nodes.join());
    assert.match(await page.$eval('[data-test=monitor]', (m) => m.textContent ?? ''), /All five properties hold/);
  });

  let firstLeader = '';
  let firstTerm = 0;
  it('runs a seed: play elects a leader, and the page says who', async () => {
    page = await open('#seed=7&n=5');
    await playUntil(page, "document.querySelector('.raft-scope').dataset.leader !== ''");
    const s = await shown(page);
    firstLeader = s.leader;
    firstTerm = s.term;
    assert.match(firstLeader, /^S[1-5]$/);
    assert.ok(s.nodes.includes(`${firstLeader}:leader:${firstTerm}`), s.nodes.join());
    assert.ok(s.time > 0);
  });

  let crashedAt = 0;
  it('crash the leader: a new leader in a higher term', async () => {
    crashedAt = (await shown(page)).time;
    await click(page, `.node[data-node=${firstLeader}]`);
    await click(page, '[data-test=crash]');
    let s = await shown(page);
    assert.ok(s.nodes.includes(`${firstLeader}:down:${firstTerm}`), s.nodes.join());
    await playUntil(page, `(() => { const l = document.querySelector('.raft-scope').dataset.leader; return l !== '' && l !== ${JSON.stringify(firstLeader)}; })()`);
    s = await shown(page);
    assert.notEqual(s.leader, firstLeader);
    assert.ok(s.term > firstTerm, `term ${s.term} after ${firstTerm}`);
  });

  it('scrub back: the earlier state, exactly as the same run in Node', async () => {
    const target = Math.floor(crashedAt / 2 + 1);
    await setRange(page, 'scrub', target);
    const s = await shown(page);
    assert.equal(s.time, target);
    const reference = new ScopeRun({ ...defaultSpec, seed: 7 });
    reference.advanceTo(target);
    assert.deepEqual(s.nodes, reference.nodes().map((n) => `S${n.index + 1}:${n.role}:${n.term}`));
    await setRange(page, 'scrub', crashedAt - 0.001);
    assert.equal((await shown(page)).leader, firstLeader, 'just before the crash the first leader leads');
  });

  let forkLink = '';
  let forkState: Awaited<ReturnType<typeof shown>>;
  it('fork: acting in the past starts a new branch and keeps the old one', async () => {
    const other = ['S1', 'S2', 'S3', 'S4', 'S5'].find((n) => n !== firstLeader)!;
    await click(page, `.node[data-node=${other}]`);
    await click(page, '[data-test=crash]');
    assert.equal((await shown(page)).branch, '2');
    const options = await page.$$eval('[data-test=branch] option', (os) => os.map((o) => o.textContent));
    assert.equal(options.length, 2, options.join());
    await click(page, '[data-test=request]');
    await playUntil(page, `Number(document.querySelector('.raft-scope').dataset.time) > ${crashedAt + 400}`);
    forkState = await shown(page);
    forkLink = await page.evaluate(() => location.hash);
    assert.match(forkLink, /a=.*:c\d.*:q/);
    // The old branch is still there, with its crash of the first leader.
    await page.select('[data-test=branch]', '1');
    await setRange(page, 'scrub', crashedAt + 1);
    assert.ok((await shown(page)).nodes.includes(`${firstLeader}:down:${firstTerm}`));
  });

  it('reopen from the URL: the same state', async () => {
    const again = await open(forkLink);
    const s = await shown(again);
    assert.deepEqual({ ...s, branch: '' }, { ...forkState, branch: '' });
    await again.close();
  });

  it('a bug-zoo variant from the menu: the monitor stops the run and names the property', async () => {
    // The seed whose chaos catches vote-twice soonest among the first few, found with the same driver in Node.
    let best = { seed: 0, time: Infinity };
    for (let seed = 1; seed <= 10; seed++) {
      const run = new ScopeRun({ ...defaultSpec, seed, zoo: 'vote-twice', chaos: true });
      run.advanceTo(30_000);
      if (run.violation && run.violation.time < best.time) best = { seed, time: run.violation.time };
    }
    assert.ok(Number.isFinite(best.time), 'chaos catches vote-twice on some seed');
    page = await open('');
    await page.$eval('[data-test=seed]', (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, best.seed);
    await page.$eval('[data-test=chaos]', (el) => {
      (el as HTMLInputElement).checked = true;
      el.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await page.select('[data-test=zoo]', 'vote-twice');
    await playUntil(page, "document.querySelector('.raft-scope').dataset.violation !== ''", 60_000);
    const s = await shown(page);
    assert.equal(s.violation, 'Election Safety');
    assert.ok(Math.abs(s.time - best.time) < 1e-6, `stopped at ${s.time}, the violation is at ${best.time}`);
    assert.match(await page.$eval('[data-test=banner]', (b) => b.textContent ?? ''), /Election Safety violated at event #\d+/);
    assert.equal(await page.$eval('[data-prop="Election Safety"]', (p) => p.classList.contains('bad')), true);
    assert.ok((await page.$$('[data-test=events] .hl')).length >= 1, 'the event is highlighted');
    assert.equal(await page.$eval('[data-test=play]', (b) => (b as HTMLButtonElement).disabled), true);
  });

  it('no errors in the browser console', () => {
    assert.deepEqual(problems, []);
  });
});
