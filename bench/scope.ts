/**
 * Raft Scope suite: how smoothly the explorer animates a 5-node cluster at 10x in headless Chromium. It reports
 * the frame rate the browser achieved and the page's own work per frame (simulating and redrawing), beside the
 * 60 frames per second goal (a 16.7 ms frame budget).
 */
import { launchChromium } from '../lib/scope/headless';
import { startScopeServer } from '../lib/scope/server';
import type { Metric } from './metrics';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runScope(options: { readonly log: (message: string) => void; readonly seconds?: number }): Promise<Metric[]> {
  const seconds = options.seconds ?? 5;
  const server = await startScopeServer({ port: 0 });
  const chromium = await launchChromium();
  try {
    const page = await chromium.browser.newPage();
    // Chaos keeps the cluster busy: crashes, restarts, isolations and client requests, so messages fly all along.
    await page.goto(`${server.url}#seed=1&n=5&chaos=1`, { waitUntil: 'load' });
    await page.waitForSelector('.raft-scope .node');
    // Plain page script (a string: tsx would wrap named functions in a helper the page does not have).
    const measure = async (play: boolean) => (await page.evaluate(`(async () => {
      const app = window.raftScope;
      app.speed = 10;
      app.frameTimes.length = 0;
      const intervals = [];
      let last = 0;
      let done = false;
      const tick = (t) => {
        if (last > 0) intervals.push(t - last);
        last = t;
        if (!done) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      const start = performance.now();
      const virtualStart = app.session.run.now;
      app.setPlaying(${play});
      await new Promise((r) => setTimeout(r, ${seconds * 1000}));
      done = true;
      app.setPlaying(false);
      const wall = performance.now() - start;
      return { intervals, work: [...app.frameTimes], wall, virtual: app.session.run.now - virtualStart, events: app.session.run.cluster.trace.count };
    })()`)) as { intervals: number[]; work: number[]; wall: number; virtual: number; events: number };
    // The natural baseline: the same page, paused (the browser's own frame rate here, nothing animated).
    const idle = await measure(false);
    const result = await measure(true);
    const idleFps = (idle.intervals.length / idle.wall) * 1000;
    const work = [...result.work].sort((a, b) => a - b);
    const intervals = [...result.intervals].sort((a, b) => a - b);
    const fps = (result.intervals.length / result.wall) * 1000;
    options.log(`${result.work.length} frames in ${(result.wall / 1000).toFixed(1)} s wall, ${(result.virtual / 1000).toFixed(1)} s virtual, ${result.events} trace events`);
    return [
      { metric: 'scope.fps_5nodes_10x', value: fps, unit: 'frames/s', paper: 60, paperNote: 'goal' },
      { metric: 'scope.fps_paused_baseline', value: idleFps, unit: 'frames/s' },
      { metric: 'scope.frame_interval_p95_ms', value: percentile(intervals, 95), unit: 'ms', paper: 16.7, paperNote: '60 fps budget' },
      { metric: 'scope.frame_work_p50_ms', value: percentile(work, 50), unit: 'ms', paper: 16.7, paperNote: '60 fps budget' },
      { metric: 'scope.frame_work_p95_ms', value: percentile(work, 95), unit: 'ms', paper: 16.7, paperNote: '60 fps budget' },
      { metric: 'scope.frame_work_max_ms', value: work[work.length - 1] ?? NaN, unit: 'ms' },
      { metric: 'scope.virtual_speed', value: result.virtual / result.wall, unit: 'x' },
    ];
  } finally {
    await chromium.close();
    await server.close();
  }
}
