/**
 * npm run bench -- [--json] [--trials N] [--virtual-minutes M] [sim|real|all]
 *
 * Benchmarks measure and report; they never pass or fail. Without --json: a table with the paper's figures
 * beside ours. With --json: one line per metric, {"metric": NAME, "value": NUMBER, "unit": UNIT, ...}.
 */
import { Command, Option } from 'commander';
import { formatJsonLine, formatTable, type Metric } from './metrics';
import { positiveInteger, positiveNumber } from '../lib/command-line';

export interface SuiteOptions {
  /** Figure 16 trials per timeout range. */
  readonly trials?: number;
  /** Length of the "virtual hour" runs, in virtual minutes. */
  readonly virtualMinutes?: number;
  readonly log: (message: string) => void;
}

type Suite = (options: SuiteOptions) => Promise<Metric[]>;

/** The suites, in the order 'all' runs them. Adding one is one line. */
const suites: Record<string, Suite> = {
  sim: async (o) => (await import('./sim')).runSim(o),
  real: async (o) => (await import('./real')).runReal({ log: o.log }),
  grade: async (o) => (await import('./grade')).runGrade({ log: o.log }),
  fuzz: async (o) => (await import('./fuzz')).runFuzz({ log: o.log }),
  lin: async (o) => (await import('./lin')).runLin({ log: o.log }),
  scenarios: async (o) => (await import('./scenarios')).runScenarioBench({ log: o.log }),
  scope: async (o) => (await import('./scope')).runScope({ log: o.log }),
};

const known = ['sim', 'real', 'all'];

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('bench')
    .description('Raft Lab benchmarks: simulator speed and the paper\'s Figure 16 (they measure, never pass/fail)')
    .argument('[suite]', `which suite: ${known.join(' | ')}`, 'all')
    .option('--json', 'one JSON object per metric per line')
    .addOption(new Option('--trials <n>', "Figure 16 trials per timeout range (default: the paper's, 1000 and 100 for 150-150)").argParser(positiveInteger))
    .addOption(
      new Option('--virtual-minutes <m>', 'length of the virtual-hour runs (default 60; shorter runs are scaled to an hour)')
        .argParser(positiveNumber),
    )
    .showHelpAfterError();
  program.parse(argv as string[]);
  const opts = program.opts<{ json?: boolean; trials?: number; virtualMinutes?: number }>();
  const name = program.args[0] ?? 'all';

  if (!known.includes(name) && !(name in suites)) {
    program.error(`unknown suite ${JSON.stringify(name)} (expected ${known.join(', ')})`);
  }
  if (name !== 'all' && !(name in suites)) {
    process.stderr.write(`bench: the ${name} suite is not available yet (available: ${Object.keys(suites).join(', ')}, all)\n`);
    return 2;
  }
  const selected = name === 'all' ? Object.keys(suites) : [name];
  const log = opts.json ? () => {} : (message: string) => process.stderr.write(`  ${message}\n`);
  const options: SuiteOptions = {
    ...(opts.trials !== undefined ? { trials: opts.trials } : {}),
    ...(opts.virtualMinutes !== undefined ? { virtualMinutes: opts.virtualMinutes } : {}),
    log,
  };

  for (const suite of selected) {
    if (!opts.json) process.stderr.write(`bench: ${suite}\n`);
    const metrics = await suites[suite]!(options);
    if (opts.json) {
      for (const m of metrics) process.stdout.write(`${formatJsonLine(m)}\n`);
    } else {
      process.stdout.write(`${formatTable(metrics)}\n`);
    }
  }
  return 0;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
