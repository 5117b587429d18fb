import { strict as assert } from 'node:assert';
import { runReal } from '../bench/real';

/** True while a process with this pid exists (signal 0 only checks). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('bench: the real-network suite (smoke test, no timing assertions)', function () {
  // Spawns a dozen short-lived node processes; the bound is for a slow machine, not a measurement.
  this.timeout(180_000);

  it('runs three worker processes per cluster, reports every metric as a positive number, and leaves no process behind', async () => {
    const pids: number[] = [];
    const metrics = await runReal({
      trials: 2,
      sequentialWrites: 20,
      concurrentWrites: 300,
      concurrency: 30,
      snapshotEntries: 300,
      onWorker: (pid) => pids.push(pid),
    });

    assert.deepEqual(
      metrics.map((m) => m.metric),
      [
        'real.election_ms_p50',
        'real.reelection_ms_p50',
        'real.reelection_ms_p99',
        'real.commit_latency_ms_p50',
        'real.commit_latency_ms_p99',
        'real.commit_per_s',
        'real.read_ms_p50',
        'real.read_ms_p50_log_barrier',
        'real.commit_latency_ms_p50_write_then_send',
        'real.commit_per_s_write_then_send',
        'real.snapshot_install_ms',
        'real.catch_up_by_log_ms',
        'real.commit_latency_ms_p50_nofsync',
        'real.commit_latency_ms_p99_nofsync',
        'real.commit_per_s_nofsync',
      ],
    );
    for (const m of metrics) {
      assert.ok(Number.isFinite(m.value) && m.value > 0, `${m.metric} = ${m.value}`);
      assert.equal(m.unit, m.metric.includes('per_s') ? 'writes/s' : 'ms');
    }
    // 2 cold-start clusters, 1 cluster with fsync (+ 2 restarts of a killed leader), 1 writing then sending, 1 without fsync.
    // ... and 2 clusters whose follower is killed and restarted behind the leader.
    assert.ok(pids.length >= 3 * 2 + 3 + 2 + 3 + 3 + 2 * 4, `only ${pids.length} worker processes were started`);
    assert.deepEqual(pids.filter(processExists), [], 'worker processes still running after runReal');
  });
});
