/**
 * The real-network suite: three RealNodes, each in its own process (bench/real-worker.ts), on loopback UDP,
 * with raftos-style files in temp folders, 150-300 ms election timeouts and 50 ms heartbeats.
 *
 * - real.election_ms_p50: a cold start (three fresh processes, empty folders, told to start at the same moment)
 *   until all three know the same leader; measured from the moment the last of the three sockets is bound.
 * - real.reelection_ms_p50/_p99: the leader's process is killed with SIGKILL; time until both survivors know
 *   a new leader. The killed node is then restarted from its files, and the cluster writes one entry, before
 *   the next trial.
 * - real.commit_latency_ms_p50/_p99: one writer on the leader, one write at a time; propose() call to
 *   resolve (committed and applied on the leader), timed inside the leader's process.
 * - real.commit_per_s: many writes with many in flight on the leader, committed writes per wall second.
 * - real.commit_latency_ms_p50_write_then_send: the baseline, the leader writing its entries before it sends them
 *   (by default it sends them first and counts itself only once they are durable, dissertation 10.2.1).
 * - real.read_ms_p50: one linearizable read at a time on the leader through ReadIndex (no log entry, no fsync);
 *   real.read_ms_p50_log_barrier: the same read as an empty entry committed through the log, the old way.
 * - the same commit figures with fsync off (suffix _nofsync): what the disk costs.
 * - real.snapshot_install_ms: a follower 100,000 entries behind, restarted, until it has installed the leader's
 *   snapshot; real.catch_up_by_log_ms: the same follower without a snapshot, replaying the log by AppendEntries.
 *
 * Times across processes are compared as performance.timeOrigin + performance.now() taken in each process.
 * Every process started here is stopped (SIGKILL after a bounded wait) before runReal returns or throws.
 */
import { freeUdpPorts } from '../lib/net/free-ports';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import type { Metric } from './metrics';

export interface RealSuiteOptions {
  /** Election and re-election trials (default 20). */
  readonly trials?: number;
  /** Sequential writes timed for the commit latency (default 500, after 50 not-timed warm-up writes). */
  readonly sequentialWrites?: number;
  /** Writes for the throughput figure (default 20000). */
  readonly concurrentWrites?: number;
  /** Writes in flight for the throughput figure (default 200). */
  readonly concurrency?: number;
  /** Progress messages. */
  readonly log?: (message: string) => void;
  /** Called with the pid of every worker process started (the smoke test checks they are all gone). */
  readonly onWorker?: (pid: number) => void;
  /** Which measurements to run (default all); metrics of the others are left out. */
  readonly phases?: readonly RealPhase[];
  /** Extra node options for the workers, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] to profile them. */
  readonly workerNodeArgs?: readonly string[];
  /** How far behind the follower of the snapshot phase is (default 100,000 entries). */
  readonly snapshotEntries?: number;
}

export type RealPhase = 'election' | 'reelection' | 'commit' | 'read' | 'commit-serial' | 'commit-nofsync' | 'snapshot';
const allPhases: readonly RealPhase[] = ['election', 'reelection', 'commit', 'read', 'commit-serial', 'commit-nofsync', 'snapshot'];

const repoRoot = path.resolve(__dirname, '..');
const workerScript = path.join('bench', 'real-worker.ts');
const TIMINGS = { electionMin: 150, electionMax: 300, heartbeat: 50 };
/** Bound on anything that normally takes well under a second (a start, an election, a stop). */
const STEP_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 2_000;

const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}


type WorkerEvent = Record<string, unknown> & { readonly type: string };

class PortTakenError extends Error {}

/** One worker process and the parent's end of its protocol. */
class Worker {
  readonly id: string;
  readonly child: ChildProcess;
  readonly events: WorkerEvent[] = [];
  readonly exited: Promise<void>;
  private readonly stderr: string[] = [];
  private readonly replies = new Map<number, (reply: WorkerEvent) => void>();
  private readonly waiters = new Set<() => void>();
  private nextRequest = 1;

  constructor(id: string, peers: readonly string[], dir: string, fsyncOn: boolean, nodeArgs: readonly string[], parallelWrite = true) {
    this.id = id;
    const args = [
      ...nodeArgs,
      '--import',
      'tsx',
      workerScript,
      '--id', id,
      '--peers', peers.join(','),
      '--dir', dir,
      '--fsync', fsyncOn ? 'on' : 'off',
      '--parallel-write', parallelWrite ? 'on' : 'off',
      '--election-min', String(TIMINGS.electionMin),
      '--election-max', String(TIMINGS.electionMax),
      '--heartbeat', String(TIMINGS.heartbeat),
    ];
    this.child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.on('error', () => {}); // writing to a killed worker is not an error worth a crash
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    readline.createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 40) this.stderr.shift();
    });
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', () => {
        this.wake();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private onLine(line: string): void {
    let event: WorkerEvent;
    try {
      event = JSON.parse(line) as WorkerEvent;
    } catch {
      this.stderr.push(`stdout: ${line}`);
      return;
    }
    if (event.type === 'reply' && typeof event['id'] === 'number') {
      const settle = this.replies.get(event['id']);
      this.replies.delete(event['id']);
      settle?.(event);
    } else {
      this.events.push(event);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  send(message: Record<string, unknown>): void {
    if (this.alive) this.child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /** The first event (from index `from` on) satisfying `match`. */
  waitForEvent(what: string, match: (e: WorkerEvent) => boolean, timeoutMs = STEP_TIMEOUT_MS, from = 0): Promise<WorkerEvent> {
    return new Promise<WorkerEvent>((resolve, reject) => {
      const check = () => {
        const error = this.events.find((e, i) => i >= from && e.type === 'error');
        if (error) {
          done();
          const message = `${this.id}: ${String(error['message'])}`;
          reject(error['code'] === 'EADDRINUSE' ? new PortTakenError(message) : new Error(message));
          return;
        }
        const hit = this.events.find((e, i) => i >= from && match(e));
        if (hit) {
          done();
          resolve(hit);
        } else if (!this.alive) {
          done();
          reject(new Error(`worker ${this.id} exited while waiting for ${what}${this.describeOutput()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`worker ${this.id}: no ${what} within ${timeoutMs} ms${this.describeOutput()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Send a command and wait for its reply. */
  request(cmd: string, fields: Record<string, unknown> = {}, timeoutMs = STEP_TIMEOUT_MS): Promise<WorkerEvent> {
    const id = this.nextRequest++;
    return new Promise<WorkerEvent>((resolve, reject) => {
      const check = () => {
        if (!this.alive) {
          done();
          reject(new Error(`worker ${this.id} exited before answering ${cmd}${this.describeOutput()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`worker ${this.id}: no answer to ${cmd} within ${timeoutMs} ms${this.describeOutput()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        this.replies.delete(id);
      };
      this.replies.set(id, (reply) => {
        done();
        if (typeof reply['error'] === 'string') reject(new Error(`worker ${this.id}: ${cmd}: ${reply['error']}`));
        else resolve(reply);
      });
      this.waiters.add(check);
      this.send({ cmd, id, ...fields });
      check();
    });
  }

  /** The leader this worker knows now (from its events), or null. */
  get leader(): string | null {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.type === 'leader') return (e['leader'] as string | null) ?? null;
    }
    return null;
  }

  /** When this worker first reported `leader` at or after wall time `since`. */
  firstKnew(leader: string, since: number): number | null {
    const e = this.events.find((x) => x.type === 'leader' && x['leader'] === leader && (x['t'] as number) >= since);
    return e ? (e['t'] as number) : null;
  }

  /** Ask to stop; SIGKILL if the process has not exited after `graceMs`. Resolves once it has exited. */
  async shutdown(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.alive) {
      this.send({ cmd: 'stop' });
      this.child.stdin!.end();
      const timer = setTimeout(() => this.kill(), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  private describeOutput(): string {
    return this.stderr.length > 0 ? `; its stderr:\n${this.stderr.join('\n')}` : '';
  }
}

/** Every worker this suite started, so that none outlives it. */
class Workers {
  private readonly all = new Set<Worker>();
  constructor(private readonly options: RealSuiteOptions) {}

  spawn(id: string, peers: readonly string[], dir: string, fsyncOn: boolean, parallelWrite = true): Worker {
    const w = new Worker(id, peers, dir, fsyncOn, this.options.workerNodeArgs ?? [], parallelWrite);
    this.all.add(w);
    if (w.child.pid !== undefined) this.options.onWorker?.(w.child.pid);
    void w.exited.then(() => this.all.delete(w));
    return w;
  }

  /** Stop them all: politely, then SIGKILL after a bounded wait. */
  async shutdownAll(): Promise<void> {
    await Promise.all([...this.all].map((w) => w.shutdown()));
  }
}

interface ClusterSpec {
  readonly ids: readonly string[];
  readonly dirs: readonly string[];
  readonly fsync: boolean;
  /** The leader writes its new entries while they travel (RealNodeOptions.leaderWritesWhileSending). */
  readonly parallelWrite?: boolean;
}

class RealCluster {
  readonly workers: Worker[];
  constructor(
    private readonly pool: Workers,
    readonly spec: ClusterSpec,
  ) {
    this.workers = spec.ids.map((id, i) => pool.spawn(id, spec.ids, spec.dirs[i]!, spec.fsync, spec.parallelWrite ?? true));
  }

  /** Wait for every worker to load, tell them all to start at once; the wall time the last socket was bound. */
  async startAll(): Promise<number> {
    return startTogether(this.workers);
  }

  /** Replace worker i (killed) by a new process on the same id and folder: a restart from its files. */
  async restart(i: number): Promise<Worker> {
    for (let attempt = 1; ; attempt++) {
      const w = this.pool.spawn(this.spec.ids[i]!, this.spec.ids, this.spec.dirs[i]!, this.spec.fsync, this.spec.parallelWrite ?? true);
      this.workers[i] = w;
      try {
        await startTogether([w]);
        return w;
      } catch (err) {
        await w.shutdown();
        // The kernel may take a moment to release the killed process's port.
        if (!(err instanceof PortTakenError) || attempt >= 20) throw err;
        await sleep(50);
      }
    }
  }

  /** Poll until every live worker names the same leader (one of the live ones). */
  async agreedLeader(timeoutMs = STEP_TIMEOUT_MS): Promise<Worker> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.workers.filter((w) => w.alive);
      const leader = live[0]?.leader ?? null;
      const leaderWorker = live.find((w) => w.id === leader);
      if (leader !== null && leaderWorker && live.every((w) => w.leader === leader)) return leaderWorker;
      if (Date.now() > deadline) {
        throw new Error(`no leader agreed on within ${timeoutMs} ms (they know: ${live.map((w) => `${w.id} -> ${w.leader}`).join(', ')})`);
      }
      await sleep(5);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.shutdown()));
  }
}

async function startTogether(workers: readonly Worker[]): Promise<number> {
  await Promise.all(workers.map((w) => w.waitForEvent('"loaded"', (e) => e.type === 'loaded')));
  for (const w of workers) w.send({ cmd: 'start' });
  const started = await Promise.all(workers.map((w) => w.waitForEvent('"started"', (e) => e.type === 'started')));
  return Math.max(...started.map((e) => e['t'] as number));
}

/** A fresh three-node cluster on new ports and empty folders, started; retried if a port was taken meanwhile. */
async function freshCluster(pool: Workers, tempDirs: string[], fsyncOn: boolean, parallelWrite = true): Promise<{ cluster: RealCluster; boundAt: number }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freeUdpPorts(3);
    const ids = ports.map((p) => `127.0.0.1:${p}`);
    const dirs = ids.map((id) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `raft-bench-${id.replace(/[.:]/g, '_')}-`));
      tempDirs.push(dir);
      return dir;
    });
    const cluster = new RealCluster(pool, { ids, dirs, fsync: fsyncOn, parallelWrite });
    try {
      return { cluster, boundAt: await cluster.startAll() };
    } catch (err) {
      await cluster.stop();
      if (!(err instanceof PortTakenError) || attempt >= 5) throw err;
    }
  }
}

// ---- The measurements ----

async function measureElections(pool: Workers, tempDirs: string[], trials: number, log: (m: string) => void): Promise<number[]> {
  const samples: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const { cluster, boundAt } = await freshCluster(pool, tempDirs, true);
    try {
      const leader = await cluster.agreedLeader();
      const knewAt = cluster.workers.map((w) => w.firstKnew(leader.id, 0)!);
      samples.push(Math.max(...knewAt) - boundAt);
    } finally {
      await cluster.stop();
    }
  }
  log(`election: ${trials} cold starts, p50 ${percentile(samples, 50).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`);
  return samples;
}

async function measureReelections(cluster: RealCluster, trials: number, log: (m: string) => void): Promise<number[]> {
  const samples: number[] = [];
  let leader = await cluster.agreedLeader();
  for (let trial = 0; trial < trials; trial++) {
    // A random phase against the heartbeats, as a crash would have.
    await sleep(20 + Math.random() * 80);
    leader = await cluster.agreedLeader();
    const victim = cluster.workers.indexOf(leader);
    const survivors = cluster.workers.filter((w) => w !== leader);
    const killedAt = wallNow();
    leader.kill();
    const newLeaderAt = await Promise.all(
      survivors.map(
        (w) =>
          w.waitForEvent(
            'a new leader',
            (e) => e.type === 'leader' && e['leader'] !== null && e['leader'] !== leader.id && (e['t'] as number) >= killedAt,
          ),
      ),
    );
    samples.push(Math.max(...newLeaderAt.map((e) => e['t'] as number)) - killedAt);
    await leader.exited;
    // Bring the killed node back from its files, and write one entry through the new leader, so that every
    // restart reads a log that keeps growing.
    await cluster.restart(victim);
    leader = await cluster.agreedLeader();
    await leader.request('propose-one', { count: 1, warmup: 0 });
  }
  log(
    `re-election: ${trials} leader kills, p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms, ` +
      `max ${Math.max(...samples).toFixed(1)} ms`,
  );
  return samples;
}

interface CommitFigures {
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly perSecond: number;
}

async function measureCommits(
  cluster: RealCluster,
  sequential: number,
  concurrent: number,
  concurrency: number,
  label: string,
  log: (m: string) => void,
): Promise<CommitFigures> {
  const leader = await cluster.agreedLeader();
  const timeout = 120_000 + concurrent * 10;
  const one = await leader.request('propose-one', { count: sequential, warmup: Math.min(50, sequential) }, timeout);
  const latencies = one['latenciesMs'] as number[];
  if ((one['failed'] as number) > 0 || latencies.length === 0) {
    throw new Error(`${label}: ${String(one['failed'])} of ${sequential} sequential writes failed (${String(one['firstError'])})`);
  }
  const many = await leader.request('propose-many', { count: concurrent, concurrency }, timeout);
  const committed = many['committed'] as number;
  const elapsedMs = many['elapsedMs'] as number;
  if ((many['failed'] as number) > 0) log(`${label}: ${String(many['failed'])} concurrent writes failed (${String(many['firstError'])})`);
  const figures = {
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    perSecond: committed / (elapsedMs / 1000),
  };
  log(
    `${label}: ${latencies.length} sequential writes p50 ${figures.latencyP50.toFixed(3)} ms p99 ${figures.latencyP99.toFixed(3)} ms; ` +
      `${committed} writes (${concurrency} in flight) in ${elapsedMs.toFixed(0)} ms = ${figures.perSecond.toFixed(0)}/s; ` +
      `leader ${JSON.stringify(many['stats'])} storage ${JSON.stringify(many['storage'])}`,
  );
  return figures;
}

/**
 * A follower `entries` behind, restarted from its files: time from its start until it holds the leader's state,
 * through InstallSnapshot (the leader compacted its log) or, without a snapshot, through AppendEntries.
 */
async function measureCatchUp(pool: Workers, tempDirs: string[], entries: number, withSnapshot: boolean, log: (m: string) => void): Promise<number> {
  const cluster = (await freshCluster(pool, tempDirs, true)).cluster;
  try {
    const leader = await cluster.agreedLeader();
    const i = cluster.workers.findIndex((w) => w !== leader);
    const follower = cluster.workers[i]!;
    follower.kill();
    await follower.exited;
    const wrote = await leader.request('propose-many', { count: entries, concurrency: 200 }, 600_000);
    if ((wrote['failed'] as number) > 0) throw new Error(`catch-up: ${String(wrote['failed'])} of ${entries} writes failed (${String(wrote['firstError'])})`);
    const target = ((await leader.request('status'))['lastApplied'] as number);
    if (withSnapshot && ((await leader.request('snapshot'))['index'] as number) < target) throw new Error('the leader did not snapshot what it applied');
    const back = await cluster.restart(i);
    const started = (back.events.find((e) => e.type === 'started')?.['t'] as number | undefined) ?? wallNow();
    let doneAt: number;
    if (withSnapshot) {
      const installed = await back.waitForEvent('the snapshot installed', (e) => e.type === 'snapshot' && e['installed'] === true && (e['index'] as number) >= target, 600_000);
      doneAt = installed['t'] as number;
    } else {
      const deadline = Date.now() + 600_000;
      for (;;) {
        if (((await back.request('status'))['lastApplied'] as number) >= target) break;
        if (Date.now() > deadline) throw new Error(`catch-up: the follower did not apply ${target} entries within 600 s`);
        await sleep(5);
      }
      doneAt = wallNow();
    }
    const ms = doneAt - started;
    log(`catch-up of a follower ${target} entries behind, ${withSnapshot ? 'through InstallSnapshot' : 'through AppendEntries'}: ${ms.toFixed(1)} ms`);
    return ms;
  } finally {
    await cluster.stop();
  }
}

/** p50 of one linearizable read at a time on the leader: ReadIndex, or the old empty entry through the log. */
async function measureReads(cluster: RealCluster, count: number, mode: 'readindex' | 'log', log: (m: string) => void): Promise<number> {
  const leader = await cluster.agreedLeader();
  const r = await leader.request('read-one', { count, warmup: Math.min(50, count), mode }, 120_000);
  const latencies = r['latenciesMs'] as number[];
  if ((r['failed'] as number) > 0 || latencies.length === 0) {
    throw new Error(`reads (${mode}): ${String(r['failed'])} of ${count} failed (${String(r['firstError'])})`);
  }
  if (mode === 'readindex' && r['entriesWritten'] !== 0) throw new Error(`ReadIndex reads wrote ${String(r['entriesWritten'])} log entries`);
  const p50 = percentile(latencies, 50);
  log(`reads (${mode}, fsync on): ${latencies.length} one at a time, p50 ${p50.toFixed(3)} ms, ${String(r['entriesWritten'])} log entries written`);
  return p50;
}

export async function runReal(options: RealSuiteOptions = {}): Promise<Metric[]> {
  const trials = options.trials ?? 20;
  const sequential = options.sequentialWrites ?? 500;
  const concurrent = options.concurrentWrites ?? 20_000;
  const concurrency = options.concurrency ?? 200;
  for (const [name, v] of Object.entries({ trials, sequential, concurrent, concurrency })) {
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  const log = options.log ?? (() => {});
  const pool = new Workers(options);
  const tempDirs: string[] = [];
  const phases = new Set(options.phases ?? allPhases);
  const metrics: Metric[] = [];
  try {
    if (phases.has('election')) {
      const elections = await measureElections(pool, tempDirs, trials, log);
      metrics.push({ metric: 'real.election_ms_p50', value: percentile(elections, 50), unit: 'ms' });
    }
    if (phases.has('reelection') || phases.has('commit') || phases.has('read')) {
      const durable = (await freshCluster(pool, tempDirs, true)).cluster;
      if (phases.has('reelection')) {
        const reelections = await measureReelections(durable, trials, log);
        metrics.push(
          { metric: 'real.reelection_ms_p50', value: percentile(reelections, 50), unit: 'ms' },
          { metric: 'real.reelection_ms_p99', value: percentile(reelections, 99), unit: 'ms' },
        );
      }
      if (phases.has('commit')) {
        const c = await measureCommits(durable, sequential, concurrent, concurrency, 'fsync on', log);
        metrics.push(
          { metric: 'real.commit_latency_ms_p50', value: c.latencyP50, unit: 'ms' },
          { metric: 'real.commit_latency_ms_p99', value: c.latencyP99, unit: 'ms' },
          { metric: 'real.commit_per_s', value: c.perSecond, unit: 'writes/s' },
        );
      }
      if (phases.has('read')) {
        const readIndex = await measureReads(durable, sequential, 'readindex', log);
        const viaLog = await measureReads(durable, sequential, 'log', log);
        metrics.push(
          { metric: 'real.read_ms_p50', value: readIndex, unit: 'ms' },
          { metric: 'real.read_ms_p50_log_barrier', value: viaLog, unit: 'ms' },
        );
      }
      await durable.stop();
    }
    if (phases.has('commit-serial')) {
      // The baseline: the leader writes its entries before sending them, like every other server.
      const serial = (await freshCluster(pool, tempDirs, true, false)).cluster;
      const c = await measureCommits(serial, sequential, concurrent, concurrency, 'fsync on, leader writes then sends', log);
      metrics.push(
        { metric: 'real.commit_latency_ms_p50_write_then_send', value: c.latencyP50, unit: 'ms' },
        { metric: 'real.commit_per_s_write_then_send', value: c.perSecond, unit: 'writes/s' },
      );
      await serial.stop();
    }
    if (phases.has('snapshot')) {
      const entries = options.snapshotEntries ?? 100_000;
      metrics.push(
        { metric: 'real.snapshot_install_ms', value: await measureCatchUp(pool, tempDirs, entries, true, log), unit: 'ms' },
        { metric: 'real.catch_up_by_log_ms', value: await measureCatchUp(pool, tempDirs, entries, false, log), unit: 'ms' },
      );
    }
    if (phases.has('commit-nofsync')) {
      const volatile = (await freshCluster(pool, tempDirs, false)).cluster;
      const c = await measureCommits(volatile, sequential, concurrent, concurrency, 'fsync off', log);
      metrics.push(
        { metric: 'real.commit_latency_ms_p50_nofsync', value: c.latencyP50, unit: 'ms' },
        { metric: 'real.commit_latency_ms_p99_nofsync', value: c.latencyP99, unit: 'ms' },
        { metric: 'real.commit_per_s_nofsync', value: c.perSecond, unit: 'writes/s' },
      );
      await volatile.stop();
    }
    return metrics;
  } finally {
    await pool.shutdownAll();
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}
