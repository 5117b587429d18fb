/**
 * The long crash-consistency run: three real node processes under a steady write load, one SIGKILLed at a
 * random moment and restarted, N times (lib/check/crash-consistency.ts says what is checked).
 *   npm run crash-test -- [--cycles 1000] [--pause-ms 50] [--seed 1] [--base-port P] [--dir D] [--json]
 * Exit code 0: nothing lost, every file parsed, the logs agree. 1: a violation (printed). 2: the run broke.
 */
import { freeUdpBasePort } from '../lib/net/free-ports';
import { Command } from 'commander';
import { runCrashTest } from '../lib/check/crash-consistency';
import { positiveInteger } from '../lib/command-line';


const opts = new Command()
  .name('crash-test')
  .description('SIGKILL one of three real nodes at random moments under a write load, restart it, and check nothing acknowledged is lost.')
  .option('--cycles <n>', 'kill + restart cycles', positiveInteger, 1000)
  .option('--seed <n>', 'seeds the victims and moments (the run itself is on the wall clock)', positiveInteger, 1)
  .option('--base-port <port>', 'first of three UDP ports (default: three free ones)', positiveInteger)
  .option('--dir <dir>', 'keep the nodes\' files in this folder (default: a temp folder, removed)')
  .option('--pause-ms <ms>', 'each of the 4 writers pauses this long after an acknowledged write (keeps the log, and each restart, small)', positiveInteger, 50)
  .option('--json', 'print only one JSON line with the figures', false)
  .parse()
  .opts<{ cycles: number; pauseMs: number; seed: number; basePort?: number; dir?: string; json: boolean }>();

async function main(): Promise<number> {
  const basePort = opts.basePort ?? (await freeUdpBasePort(3));
  const started = Date.now();
  const report = await runCrashTest({
    cycles: opts.cycles,
    seed: opts.seed,
    basePort,
    writePauseMs: opts.pauseMs,
    ...(opts.dir ? { dir: opts.dir } : {}),
    onCycle: (cycle, r) => {
      if (!opts.json && (cycle % 50 === 0 || cycle === opts.cycles)) {
        const s = ((Date.now() - started) / 1000).toFixed(0);
        process.stderr.write(`cycle ${cycle}/${opts.cycles}  ${s} s  acknowledged ${r.acknowledged}  leader kills ${r.leaderKills}  files checked ${r.filesChecked}\n`);
      }
    },
  });
  const figures = {
    cycles: report.cycles,
    leader_kills: report.leaderKills,
    acknowledged: report.acknowledged,
    lost: report.problems.filter((p) => p.includes('lost')).length,
    unknown_outcome: report.unknown,
    refused_not_leader: report.refused,
    files_checked: report.filesChecked,
    committed_index: report.committedIndex,
    garbage_datagrams: report.datagramsSent,
    dropped: report.datagramsDropped,
    acknowledged_under_garbage: report.acknowledgedUnderGarbage,
    wall_s: +(report.wallMs / 1000).toFixed(1),
    problems: report.problems.length,
  };
  if (!opts.json) {
    for (const p of report.problems) console.log(`VIOLATION: ${p}`);
    console.log(report.problems.length === 0
      ? `OK: ${report.cycles} SIGKILL cycles (${report.leaderKills} of the leader), ${report.acknowledged} writes acknowledged, none lost; every file parsed after every kill; the logs agree up to index ${report.committedIndex}.`
      : `FAILED after ${report.cycles} cycles: ${report.problems.length} problems.`);
  }
  console.log(JSON.stringify(figures));
  return report.problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`crash-test: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
