/**
 * npm run fuzz -- --seeds N [--from S] [--nodes 3-5] [--duration MS] [--json] [--replay SEED] [--zoo]
 *                 [--variant NAME] [--trace-out FILE] [--workers N] [--leader-write-ms MS]
 *
 * Randomized fault simulation: each seed is one whole run of a simulated cluster under a random fault schedule
 * with the safety monitor on every event, then a liveness check after the heal. A failing seed is printed with
 * the one command that replays it, its fault schedule shrunk to the fewest faults that still fail, and its
 * trace written as JSON for the notebooks' timeline plot. --zoo also hunts each bug-zoo variant and reports how
 * many seeds it took. With --json the last line is
 * {"seeds": N, "violations": N, "seeds_per_s": X, "zoo": {VARIANT: SEEDS_TO_CATCH or null}}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { runOptionsFor, seedsToCatch, type SeedOptions } from '../lib/fuzz/campaign';
import { defaultWorkers, fuzzParallel } from '../lib/fuzz/parallel';
import { runSchedule, type Failure, type RunResult } from '../lib/fuzz/run';
import { describeSchedule, generateSchedule, type ScheduleOptions } from '../lib/fuzz/schedule';
import { shrinkSchedule } from '../lib/fuzz/shrink';
import { zooVariant, zooVariants } from '../lib/fuzz/zoo';
import { formatEvent } from '../lib/sim/trace';

interface Options {
  seeds: number;
  from: number;
  nodes: { min: number; max: number };
  duration: number;
  json?: boolean;
  replay?: number;
  zoo?: boolean;
  zooBudget: number;
  variant?: string;
  traceOut?: string;
  workers: number;
  report: number;
  leaderWriteMs?: number;
}

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function nodeRange(value: string): { min: number; max: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(min >= 1 && max >= min && max <= 15)) throw new InvalidArgumentError('expected N or MIN-MAX with 1 <= MIN <= MAX <= 15, e.g. 3-5');
  return { min, max };
}

function variantName(value: string): string {
  zooVariant(value); // throws a clear error naming the known variants
  return value;
}

const log = (line = ''): void => {
  process.stderr.write(`${line}\n`);
};

function describeFailure(f: Failure): string {
  switch (f.kind) {
    case 'safety':
      return `${f.property} violated at event #${f.eventIndex} (t=${f.time.toFixed(3)} ms): ${f.detail}`;
    case 'liveness':
      return `liveness: ${f.detail}`;
    case 'error':
      return `error at t=${f.time.toFixed(3)} ms: ${f.detail}`;
  }
}

function replayCommand(seed: number, o: Options): string {
  const parts = ['npm run fuzz --', `--replay ${seed}`, `--nodes ${o.nodes.min}-${o.nodes.max}`];
  if (o.duration !== 10_000) parts.push(`--duration ${o.duration}`);
  if (o.variant) parts.push(`--variant ${o.variant}`);
  if (o.leaderWriteMs !== undefined) parts.push(`--leader-write-ms ${o.leaderWriteMs}`);
  return parts.join(' ');
}

function writeTrace(file: string, result: RunResult): void {
  mkdirSync(dirname(file), { recursive: true });
  const body = {
    seed: result.schedule.seed,
    schedule: result.schedule,
    failure: result.failure,
    nodes: result.cluster.ids,
    events: result.cluster.trace.toJSON(),
  };
  writeFileSync(file, `${JSON.stringify(body)}\n`);
  log(`  trace (${body.events.length} events) written to ${file}`);
}

/** Re-run a failing seed with the full trace, shrink its schedule, print how to replay it, write its traces. */
function reportFailure(seed: number, o: Options, seedOptions: SeedOptions, traceOut: string | undefined): RunResult {
  const schedule = generateSchedule(seed, seedOptions);
  const runOptions = runOptionsFor(seedOptions);
  const full = runSchedule(schedule, { ...runOptions, trace: 'all' });
  log(`\nseed ${seed} FAILED${o.variant ? ` (bug-zoo variant ${o.variant})` : ''}`);
  if (!full.failure) {
    log('  (but the replay with a full trace passed: the run is not deterministic, which is a bug of its own)');
    return full;
  }
  log(`  ${describeFailure(full.failure)}`);
  log('  last events:');
  log(full.cluster.trace.events.slice(-12).map((e) => `    ${formatEvent(e)}`).join('\n'));
  log(`  replay: ${replayCommand(seed, o)}`);
  const shrunk = shrinkSchedule(schedule, full.failure, (s) => runSchedule(s, runOptions).failure);
  log(
    `  shrunk from ${schedule.faults.length} to ${shrunk.schedule.faults.length} faults in ${shrunk.runs} runs` +
      `${shrunk.minimal ? ' (no single fault can be removed)' : ' (run budget reached)'}: ${describeFailure(shrunk.failure)}`,
  );
  log(describeSchedule(shrunk.schedule).replace(/^/gm, '    '));
  if (traceOut) {
    writeTrace(traceOut, full);
    writeTrace(traceOut.replace(/(\.json)?$/, '.shrunk.json'), runSchedule(shrunk.schedule, { ...runOptions, trace: 'all' }));
  }
  return full;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('fuzz')
    .description('Randomized fault simulation of Raft Lab clusters, with a liveness check and the bug zoo')
    .addOption(new Option('--seeds <n>', 'how many seeds to run').argParser(integer(0)).default(1000))
    .addOption(new Option('--from <s>', 'first seed').argParser(integer(0)).default(1))
    .addOption(new Option('--nodes <range>', 'cluster sizes, e.g. 3-5 or 7').argParser(nodeRange).default({ min: 3, max: 5 }, '3-5'))
    .addOption(new Option('--duration <ms>', 'virtual ms of faults per seed').argParser(integer(100)).default(10_000))
    .addOption(new Option('--leader-write-ms <ms>', 'leaders write in parallel with sending, each seed\'s writes taking 0 to this many virtual ms').argParser(integer(0)))
    .option('--json', 'print a JSON summary as the last line')
    .addOption(new Option('--replay <seed>', 'run one seed with a full trace, report it, and shrink it if it fails').argParser(integer(0)))
    .option('--zoo', 'also hunt each bug-zoo variant and report how many seeds it took')
    .addOption(new Option('--zoo-budget <n>', 'seeds allowed per zoo variant').argParser(integer(1)).default(1000))
    .addOption(
      new Option('--variant <name>', `fuzz a bug-zoo variant instead of Figure 2 (${zooVariants.map((z) => z.name).join(', ')})`).argParser(
        variantName,
      ),
    )
    .option('--trace-out <file>', 'write the (first) failing seed\'s trace as JSON, and its shrunk run beside it')
    .addOption(new Option('--workers <n>', 'worker threads').argParser(integer(1)).default(defaultWorkers()))
    .addOption(new Option('--report <n>', 'failing seeds to replay, shrink and print in full').argParser(integer(0)).default(3))
    .showHelpAfterError();
  program.parse(argv as string[]);
  const o = program.opts<Options>();
  const scheduleOptions: ScheduleOptions = {
    minNodes: o.nodes.min, maxNodes: o.nodes.max, durationMs: o.duration,
    ...(o.leaderWriteMs !== undefined ? { leaderWriteMs: o.leaderWriteMs } : {}),
  };
  const seedOptions: SeedOptions = { ...scheduleOptions, ...(o.variant ? { variant: zooVariant(o.variant) } : {}) };

  if (o.replay !== undefined) {
    const schedule = generateSchedule(o.replay, seedOptions);
    log(describeSchedule(schedule));
    const result = runSchedule(schedule, { ...runOptionsFor(seedOptions), trace: 'all' });
    if (!result.failure) {
      log(`\nseed ${o.replay} passed: ${result.proposed} writes accepted, ${result.acknowledged} acknowledged, all on every node after the heal`);
      if (o.traceOut) writeTrace(o.traceOut, result);
    } else {
      reportFailure(o.replay, o, seedOptions, o.traceOut);
    }
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ seeds: 1, violations: result.failure ? 1 : 0, seeds_per_s: null, zoo: {} })}\n`);
    }
    return result.failure ? 1 : 0;
  }

  const bar =
    process.stderr.isTTY && !o.json
      ? new SingleBar({ format: 'fuzz {bar} {value}/{total} seeds | {failed} failed | {rate} seeds/s | ETA {eta}s' }, Presets.shades_classic)
      : null;
  const started = performance.now();
  bar?.start(o.seeds, 0, { failed: 0, rate: '-' });
  // Without a terminal (CI logs), a line at every tenth of the way instead of the bar.
  let nextLine = Math.ceil(o.seeds / 10);
  const progress = (done: number, failed: number): void => {
    const rate = (done / ((performance.now() - started) / 1000)).toFixed(0);
    if (bar) bar.update(done, { failed, rate });
    else if (o.seeds >= 1000 && done >= nextLine) {
      log(`fuzz: ${done}/${o.seeds} seeds, ${failed} failed, ${rate} seeds/s`);
      nextLine += Math.ceil(o.seeds / 10);
    }
  };
  const summary = await fuzzParallel(
    o.from,
    o.seeds,
    { schedule: scheduleOptions, ...(o.variant ? { variant: o.variant } : {}), workers: o.workers },
    progress,
  );
  bar?.stop();
  const wallS = (performance.now() - started) / 1000;
  const rate = o.seeds / wallS;
  log(
    `fuzz: ${summary.seeds} seeds (${o.from}..${o.from + o.seeds - 1}, ${o.nodes.min}-${o.nodes.max} nodes, ${o.duration} virtual ms each` +
      `${o.variant ? `, variant ${o.variant}` : ''}) in ${wallS.toFixed(1)} s = ${rate.toFixed(1)} seeds/s on ${o.workers} worker${o.workers === 1 ? '' : 's'}; ` +
      `${summary.proposed} writes accepted, ${summary.acknowledged} acknowledged; ${summary.failed.length} failed`,
  );
  const kinds = new Map<string, number>();
  for (const f of summary.failed) {
    const key = f.failure.kind === 'safety' ? f.failure.property : f.failure.kind;
    kinds.set(key, (kinds.get(key) ?? 0) + 1);
  }
  if (kinds.size > 0) log(`  failures: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  summary.failed.slice(0, o.report).forEach((f, i) => reportFailure(f.seed, o, seedOptions, i === 0 ? o.traceOut : undefined));
  if (summary.failed.length > o.report) log(`\n(${summary.failed.length - o.report} more failing seeds: ${summary.failed.slice(o.report, o.report + 20).map((f) => f.seed).join(', ')}${summary.failed.length > o.report + 20 ? ', ...' : ''})`);

  const zoo: Record<string, number | null> = {};
  if (o.zoo) {
    log(`\nbug zoo: seeds until caught (from seed ${o.from}, budget ${o.zooBudget})`);
    for (const variant of zooVariants) {
      const caught = seedsToCatch(variant, { ...scheduleOptions, from: o.from, budget: o.zooBudget });
      zoo[variant.name] = caught ? caught.seeds : null;
      log(
        `  ${variant.name.padEnd(26)} ${caught ? `${String(caught.seeds).padStart(5)} seeds (seed ${caught.seed}: ${describeFailure(caught.failure).slice(0, 110)})` : `NOT caught in ${o.zooBudget} seeds`}`,
      );
    }
  }
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ seeds: summary.seeds, violations: summary.failed.length, seeds_per_s: Math.round(rate * 10) / 10, zoo })}\n`,
    );
  }
  const zooMissed = Object.values(zoo).some((v) => v === null);
  return summary.failed.length > 0 || zooMissed ? 1 : 0;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
