/**
 * npm run lin -- FILE [--model kv|register|set] [--format edn|jepsen-log|json] [--out picture.html]
 *                     [--max-steps N] [--threads N] [--json]
 *
 * Checks a history for linearizability (lib/check/linearizability.ts) and prints the verdict. For an illegal
 * history it writes the picture (lib/check/linearizability-picture.ts) to --out (default
 * out/linearizability.html). Exit code: 0 linearizable, 1 not linearizable, 3 unknown (budget exceeded),
 * 2 bad input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { checkHistoryParallel } from '../lib/check/linearizability/parallel';
import type { LinearizabilityResult } from '../lib/check/linearizability/check';
import { HistoryFormatError, readHistory, type HistoryFormat, type ReadHistory } from '../lib/check/histories';
import { linearizabilityPicture } from '../lib/check/linearizability-picture';
import { MODEL_NAMES, modelFromSpec, type ModelName } from '../lib/check/models/index';
import { positiveInteger } from '../lib/command-line';

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('lin')
    .description('Check a history (Jepsen/Knossos EDN, Porcupine logs, or JSON) for linearizability')
    .argument('<file>', 'the history')
    .addOption(new Option('--model <name>', 'the sequential model (default: guessed from the operations)').choices(MODEL_NAMES as string[]))
    .addOption(new Option('--format <format>', 'the file format (default: guessed)').choices(['edn', 'jepsen-log', 'json']))
    .option('--out <file>', 'where the picture of a violation goes', 'out/linearizability.html')
    .addOption(new Option('--max-steps <n>', 'search steps per key before giving up (default 2000000)').argParser(positiveInteger))
    .addOption(new Option('--threads <n>', 'worker threads for the keys (default: the cores; 1: none)').argParser(positiveInteger))
    .option('--json', 'print the result as JSON')
    .showHelpAfterError();
  program.parse(argv as string[]);
  const opts = program.opts<{ model?: ModelName; format?: HistoryFormat; out: string; maxSteps?: number; threads?: number; json?: boolean }>();
  const file = program.args[0]!;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`lin: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  let read: ReadHistory;
  try {
    read = readHistory(text, { source: file, ...(opts.format ? { format: opts.format } : {}), ...(opts.model ? { model: opts.model } : {}) });
  } catch (err) {
    if (err instanceof HistoryFormatError) {
      process.stderr.write(`lin: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const model = modelFromSpec(opts.model ? { ...read.model, name: opts.model } : read.model);
  const t0 = performance.now();
  let result: LinearizabilityResult;
  try {
    result = await checkHistoryParallel(read.history, model, {
      ...(opts.maxSteps ? { maxSteps: opts.maxSteps } : {}),
      ...(opts.threads ? { threads: opts.threads, parallel: opts.threads > 1 ? true : false } : {}),
    });
  } catch (err) {
    process.stderr.write(`lin: ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const ms = performance.now() - t0;
  if (opts.json) process.stdout.write(`${JSON.stringify({ file, format: read.format, ms, ...result })}\n`);
  const summary = `${file}: ${read.history.length} operations, ${result.keys} keys, model ${model.name} (${read.format}), ${result.steps} search steps, ${ms.toFixed(1)} ms`;
  if (result.result === 'ok') {
    if (!opts.json) process.stdout.write(`linearizable\n${summary}\n`);
    return 0;
  }
  if (result.result === 'unknown') {
    if (!opts.json) process.stdout.write(`unknown: ${result.reason}\n${summary}\n`);
    return 3;
  }
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  const html = `<!doctype html><meta charset="utf-8"><title>${path.basename(file)}: not linearizable</title><body style="font-family:sans-serif">${linearizabilityPicture(result)}</body>`;
  fs.writeFileSync(opts.out, html);
  if (!opts.json) {
    const lineOf = (i: number) => read.lines[i];
    const stuck = result.failure.stuckAt === null ? '' : ` (the operation that cannot be placed is invoked on line ${lineOf(result.failure.stuckAt)})`;
    process.stdout.write(`NOT linearizable${stuck}\n${result.failure.explanation}\n${summary}\npicture: ${opts.out}\n`);
  }
  return 1;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`lin: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
