/**
 * Crash consistency of real nodes: three processes (lib/check/crash-worker.ts) on 127.0.0.1, UDP and files,
 * under a steady write load; one of them SIGKILLed at a random moment and started again on its files, many
 * times. What must hold:
 *  - right after every kill, the dead node's .log, .storage and .state_machine parse (raftos-files.ts), its
 *    .storage term is not below its last log term, and its log agrees with every acknowledged write it holds;
 *  - the restarted node loads its files (a RaftFileError would stop it and fail the run);
 *  - no acknowledged write is lost: at the end, every write acknowledged to a client (committed at index i in
 *    term t) is entry i, with term t and its command, in the committed log of every node, so in the order the
 *    acknowledgements gave; no write appears twice;
 *  - the logs agree (Log Matching): where two final logs have an entry with the same index and term, they are
 *    identical up to it, and the committed prefixes are equal;
 *  - garbage and tampered datagrams sent at the live nodes are dropped (their counters say so) while writes
 *    keep being acknowledged.
 * Waits are bounded; every process started is killed in `finally`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { encodeDatagram, type Security } from '../net/codec';
import { readRaftosFiles } from '../net/raftos-files';
import type { LogEntry, NodeId } from '../raft/types';
import { Rng } from '../sim/rng';

const WORKER = path.join(__dirname, 'crash-worker.ts');

export interface CrashTestOptions {
  /** How many SIGKILL + restart cycles. */
  readonly cycles: number;
  /** First of three consecutive free UDP ports. */
  readonly basePort: number;
  /** Folder for the nodes' files (default: a new temp folder, removed at the end unless keepDir). */
  readonly dir?: string;
  readonly keepDir?: boolean;
  /** Seeds the choice of victims and kill moments (the run is on the wall clock, so not replayable). */
  readonly seed?: number;
  /** Concurrent writers (default 4). */
  readonly writers?: number;
  /** Each writer pauses this long after an acknowledged write (default 0: as fast as the cluster commits). */
  readonly writePauseMs?: number;
  /** A victim lives this many wall ms (uniform) after the previous restart before being killed (default 50-400). */
  readonly upMs?: { readonly min: number; readonly max: number };
  /** Garbage and tampered datagrams sent to each node at the end, while writes continue (default 200). */
  readonly datagramsPerNode?: number;
  /** Every datagram authenticated with HMAC-SHA256 (default a fixed test secret). */
  readonly secret?: string;
  /** Called after every cycle (progress). */
  readonly onCycle?: (cycle: number, report: CrashTestReport) => void;
}

export interface CrashTestReport {
  cycles: number;
  leaderKills: number;
  acknowledged: number;
  /** Writes whose outcome the client could not know (the node was killed, or no majority in time). */
  unknown: number;
  refused: number;
  /** Files read and parsed right after a kill. */
  filesChecked: number;
  /** Final committed index (the same on every node). */
  committedIndex: number;
  /** Garbage / tampered datagrams sent at live nodes, and drops their counters show. */
  datagramsSent: number;
  datagramsDropped: Record<string, number>;
  /** Writes acknowledged while the datagrams were flying. */
  acknowledgedUnderGarbage: number;
  wallMs: number;
  /** Every violation found (empty: the run passed). */
  problems: string[];
  dir: string;
}

interface Reply { [key: string]: unknown }

class Worker {
  readonly child: ChildProcess;
  private readonly pending = new Map<number, (r: Reply | null) => void>();
  private nextId = 1;
  readonly started: Promise<Reply>;
  readonly exited: Promise<void>;
  readonly stderr: string[] = [];

  constructor(readonly id: NodeId, peers: readonly NodeId[], dir: string, secret: string, running: Set<ChildProcess>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER, '--id', id, '--peers', peers.join(','), '--dir', dir, '--secret', secret], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', () => {
      running.delete(this.child);
      for (const settle of this.pending.values()) settle(null);
      this.pending.clear();
      resolve();
    }));
    this.child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.child.stdin!.on('error', () => undefined); // writes to a killed worker
    let onStarted!: (r: Reply) => void;
    let onFailed!: (e: Error) => void;
    this.started = new Promise<Reply>((resolve, reject) => { onStarted = resolve; onFailed = reject; });
    const lines = readline.createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      let msg: Reply;
      try {
        msg = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      if (msg['type'] === 'started') onStarted(msg);
      else if (msg['type'] === 'error' || msg['type'] === 'fatal') onFailed(new Error(`${id}: ${String(msg['message'])}`));
      else if (msg['type'] === 'reply') {
        const settle = this.pending.get(msg['id'] as number);
        this.pending.delete(msg['id'] as number);
        settle?.(msg);
      }
    });
    void this.exited.then(() => onFailed(new Error(`${id} exited before starting: ${this.stderr.join('').slice(-2000)}`)));
    this.started.catch(() => undefined);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Send a command; resolves with its reply, or null if the worker died or did not answer in time. */
  request(body: Record<string, unknown>, timeoutMs: number): Promise<Reply | null> {
    if (!this.alive) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.child.stdin!.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Ack { readonly seq: number; readonly index: number; readonly term: number }

/** Log Matching between two logs, and the first index where their committed prefixes differ. */
export function logMatchingProblems(a: { id: string; log: readonly LogEntry[] }, b: { id: string; log: readonly LogEntry[] }): string[] {
  const problems: string[] = [];
  const n = Math.min(a.log.length, b.log.length);
  let lastSameTerm = 0;
  for (let i = n; i >= 1; i--) {
    if (a.log[i - 1]!.term === b.log[i - 1]!.term) {
      lastSameTerm = i;
      break;
    }
  }
  for (let i = 1; i <= lastSameTerm; i++) {
    const x = a.log[i - 1]!;
    const y = b.log[i - 1]!;
    if (x.term !== y.term || JSON.stringify(x.command) !== JSON.stringify(y.command)) {
      problems.push(`Log Matching: ${a.id} and ${b.id} both hold term ${a.log[lastSameTerm - 1]!.term} at index ${lastSameTerm} but differ at index ${i} (${JSON.stringify(x)} vs ${JSON.stringify(y)})`);
      break;
    }
  }
  return problems;
}

/** Acknowledged writes that `log` does not hold where they were committed. */
export function lostAcks(acks: readonly Ack[], log: readonly LogEntry[], upTo: number): Ack[] {
  return acks.filter((a) => {
    if (a.index > upTo) return true;
    const e = log[a.index - 1];
    return !e || e.term !== a.term || e.command === null || e.command['w'] !== a.seq;
  });
}

export async function runCrashTest(options: CrashTestOptions): Promise<CrashTestReport> {
  const t0 = Date.now();
  const rng = new Rng(options.seed ?? 1);
  const ids = [0, 1, 2].map((i) => `127.0.0.1:${options.basePort + i}`);
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'raft-crash-'));
  fs.mkdirSync(dir, { recursive: true });
  const secret = options.secret ?? 'crash-consistency';
  const security: Security = { secret };
  const upMs = options.upMs ?? { min: 50, max: 400 };
  const running = new Set<ChildProcess>();
  const workers = new Map<NodeId, Worker>();
  const acks: Ack[] = [];
  const problems: string[] = [];
  const report: CrashTestReport = {
    cycles: 0, leaderKills: 0, acknowledged: 0, unknown: 0, refused: 0, filesChecked: 0, committedIndex: 0,
    datagramsSent: 0, datagramsDropped: {}, acknowledgedUnderGarbage: 0, wallMs: 0, problems, dir,
  };
  const start = async (id: NodeId) => {
    const w = new Worker(id, ids, dir, secret, running);
    workers.set(id, w);
    await withTimeout(w.started, 20_000, `${id} to start`);
    return w;
  };
  const status = (id: NodeId) => workers.get(id)!.request({ cmd: 'status' }, 2000);
  const leaderGuess = async (): Promise<NodeId | null> => {
    for (const id of ids) {
      const s = await status(id);
      if (s && s['role'] === 'leader') return id;
    }
    return null;
  };

  let loadOn = true;
  let seq = 0;
  const writer = async (lane: number): Promise<void> => {
    let target = ids[lane % ids.length]!;
    while (loadOn) {
      const w = workers.get(target);
      const mySeq = ++seq;
      const r = w ? await w.request({ cmd: 'put', seq: mySeq }, 3000) : null;
      if (r && r['ok'] === true) {
        acks.push({ seq: mySeq, index: r['index'] as number, term: r['term'] as number });
        report.acknowledged++;
        if (options.writePauseMs) await sleep(options.writePauseMs);
        continue;
      }
      if (r && r['error'] === 'NotLeaderError') {
        report.refused++;
        const hint = r['leader'] as string | null;
        target = hint && ids.includes(hint) ? hint : ids[(ids.indexOf(target) + 1) % ids.length]!;
      } else {
        report.unknown++;
        target = ids[(ids.indexOf(target) + 1) % ids.length]!;
      }
      await sleep(r && r['error'] === 'NotLeaderError' && r['leader'] ? 0 : 20);
    }
  };

  const checkDeadFiles = (id: NodeId) => {
    try {
      const files = readRaftosFiles(dir, id);
      report.filesChecked += 3;
      const lastTerm = files.log.length > 0 ? files.log[files.log.length - 1]!.term : 0;
      if (files.hardState && files.hardState.currentTerm < lastTerm) {
        problems.push(`cycle ${report.cycles}: ${id}'s .storage term ${files.hardState.currentTerm} is below its last log term ${lastTerm}`);
      }
      // Any acknowledged write this log holds at its index with its term must be that write (Log Matching with the leader).
      for (const a of acks) {
        const e = files.log[a.index - 1];
        if (e && e.term === a.term && (e.command === null || e.command['w'] !== a.seq)) {
          problems.push(`cycle ${report.cycles}: ${id}'s .log holds ${JSON.stringify(e)} at index ${a.index} where write ${a.seq} was acknowledged`);
        }
      }
    } catch (err) {
      problems.push(`cycle ${report.cycles}: ${id}'s files do not parse right after SIGKILL: ${(err as Error).message}`);
    }
  };

  let lanes: Promise<void>[] = [];
  try {
    await Promise.all(ids.map(start));
    lanes = Array.from({ length: options.writers ?? 4 }, (_, i) => writer(i));
    // Let a first leader be elected and writes flow.
    const firstAcks = Date.now();
    while (report.acknowledged === 0) {
      if (Date.now() - firstAcks > 15_000) throw new Error('no write was acknowledged within 15 s of starting');
      await sleep(20);
    }

    for (let cycle = 1; cycle <= options.cycles && problems.length === 0; cycle++) {
      await sleep(rng.int(upMs.min, upMs.max));
      // Half the time the leader (re-elections, in-flight writes), otherwise any node.
      const leader = rng.chance(0.5) ? await leaderGuess() : null;
      const victim = leader ?? rng.pick(ids);
      if (victim === leader) report.leaderKills++;
      await workers.get(victim)!.kill();
      checkDeadFiles(victim);
      await sleep(rng.int(0, 100));
      try {
        await start(victim);
      } catch (err) {
        problems.push(`cycle ${cycle}: ${victim} failed to restart on its files: ${(err as Error).message}`);
        break;
      }
      report.cycles = cycle;
      options.onCycle?.(cycle, report);
    }

    // ---- Garbage and tampered datagrams at every live node, while the writes go on. ----
    const perNode = options.datagramsPerNode ?? 200;
    const before = new Map<NodeId, Record<string, number>>();
    for (const id of ids) before.set(id, ((await status(id))?.['stats'] as { dropped: Record<string, number> } | undefined)?.dropped ?? {});
    const acksBefore = report.acknowledged;
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const send = (buf: Buffer, port: number) => new Promise<void>((resolve) => socket.send(buf, port, '127.0.0.1', () => resolve()));
    try {
      for (let i = 0; i < perNode; i++) {
        for (const id of ids) {
          const port = Number(id.split(':')[1]);
          const peer = ids.find((p) => p !== id)!;
          let buf: Buffer;
          switch (i % 4) {
            case 0: // random bytes
              buf = Buffer.from(Array.from({ length: rng.int(1, 300) }, () => rng.int(0, 255)));
              break;
            case 1: { // a real, authenticated datagram with one byte flipped
              buf = encodeDatagram(peer, { type: 'RequestVote', term: 1_000_000 + i, candidateId: peer, lastLogIndex: 1e9, lastLogTerm: 1e6 }, security);
              const at = rng.int(0, buf.length - 1);
              buf[at] = buf[at]! ^ (1 << rng.int(0, 7));
              break;
            }
            case 2: // a real datagram cut short
              buf = encodeDatagram(peer, { type: 'AppendEntries', term: 1_000_000, leaderId: peer, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1_000_000, command: { w: -1 } }], leaderCommit: 1 }, security);
              buf = buf.subarray(0, rng.int(1, buf.length - 1));
              break;
            default: // a well-formed message without the cluster's secret (forged)
              buf = encodeDatagram(peer, { type: 'AppendEntries', term: 1_000_000, leaderId: peer, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1_000_000, command: { w: -2 } }], leaderCommit: 1 });
          }
          await send(buf, port);
          report.datagramsSent++;
        }
        if (i % 20 === 19) await sleep(5);
      }
    } finally {
      socket.close();
    }
    await sleep(300);
    for (const id of ids) {
      const after = ((await status(id))?.['stats'] as { dropped: Record<string, number> } | undefined)?.dropped ?? {};
      for (const [reason, n] of Object.entries(after)) {
        report.datagramsDropped[reason] = (report.datagramsDropped[reason] ?? 0) + n - (before.get(id)![reason] ?? 0);
      }
    }
    report.acknowledgedUnderGarbage = report.acknowledged - acksBefore;
    const dropped = Object.values(report.datagramsDropped).reduce((a, b) => a + b, 0);
    if (dropped < report.datagramsSent * 0.9) problems.push(`only ${dropped} of ${report.datagramsSent} garbage datagrams were counted as dropped`);
    if (report.acknowledgedUnderGarbage === 0) problems.push('no write was acknowledged while garbage datagrams were flying');

    // ---- Stop the load; commit everything; check the final logs. ----
    loadOn = false;
    await withTimeout(Promise.all(lanes), 10_000, 'the writers to stop');
    // One more write in the current term commits everything before it (no leader no-op).
    let barrier: Ack | null = null;
    const barrierStart = Date.now();
    while (!barrier && Date.now() - barrierStart < 15_000) {
      const leader = await leaderGuess();
      const r = leader ? await workers.get(leader)!.request({ cmd: 'put', seq: ++seq }, 3000) : null;
      if (r && r['ok'] === true) barrier = { seq, index: r['index'] as number, term: r['term'] as number };
      else await sleep(50);
    }
    if (!barrier) throw new Error('the final write was not acknowledged within 15 s');
    acks.push(barrier);
    const settleStart = Date.now();
    let statuses: Reply[] = [];
    for (;;) {
      statuses = (await Promise.all(ids.map(status))).filter((s): s is Reply => s !== null);
      if (statuses.length === 3 && statuses.every((s) => (s['lastApplied'] as number) >= barrier!.index)) break;
      if (Date.now() - settleStart > 15_000) throw new Error(`the nodes did not all apply index ${barrier.index} within 15 s: ${JSON.stringify(statuses)}`);
      await sleep(50);
    }
    for (const id of ids) await workers.get(id)!.request({ cmd: 'stop' }, 5000);
    await withTimeout(Promise.all([...workers.values()].map((w) => w.exited)), 10_000, 'the workers to exit');

    const finals = ids.map((id) => ({ id, log: readRaftosFiles(dir, id).log }));
    report.committedIndex = barrier.index;
    const seen = new Map<number, number>();
    for (const { id, log } of finals) {
      const lost = lostAcks(acks, log, barrier.index);
      if (lost.length > 0) problems.push(`${id}: ${lost.length} acknowledged writes lost or misplaced, e.g. ${JSON.stringify(lost.slice(0, 3))}`);
      seen.clear();
      log.slice(0, barrier.index).forEach((e, i) => {
        const w = e.command?.['w'];
        if (typeof w !== 'number') return;
        if (seen.has(w)) problems.push(`${id}: write ${w} appears twice in the committed log (indices ${seen.get(w)} and ${i + 1})`);
        seen.set(w, i + 1);
      });
    }
    for (let i = 0; i < finals.length; i++) {
      for (let j = i + 1; j < finals.length; j++) {
        problems.push(...logMatchingProblems(finals[i]!, finals[j]!));
        const a = JSON.stringify(finals[i]!.log.slice(0, barrier.index));
        const b = JSON.stringify(finals[j]!.log.slice(0, barrier.index));
        if (a !== b) problems.push(`committed prefixes (1..${barrier.index}) of ${finals[i]!.id} and ${finals[j]!.id} differ`);
      }
    }
    return report;
  } finally {
    loadOn = false;
    for (const child of running) child.kill('SIGKILL');
    await Promise.all([...workers.values()].map((w) => w.exited));
    report.wallMs = Date.now() - t0;
    if (!options.dir && !options.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}
