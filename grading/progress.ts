import { Presets, SingleBar } from 'cli-progress';
import type { SubmissionGrade } from './grade';

/**
 * The instructor's progress bar (on stderr, only on a terminal): done/total, results reused from an earlier run,
 * failures so far and the time left, estimated from the submissions graded by this run only (reused results
 * arrive at once and would make the estimate far too hopeful). At the end, one line per failure with its reason.
 */
export class ClassProgressBar {
  private readonly bar: SingleBar | null;
  private readonly started = Date.now();
  private readonly failed: SubmissionGrade[] = [];
  private done = 0;
  private reused = 0;

  constructor(private readonly total: number, show: boolean) {
    this.bar = show && total > 0
      ? new SingleBar({
        stream: process.stderr,
        format: 'grading {bar} {value}/{total} | {failures} failed | {reused} reused | {left} left | {id}',
        hideCursor: true,
        clearOnComplete: true,
      }, Presets.shades_classic)
      : null;
    this.bar?.start(total, 0, { failures: 0, reused: 0, left: '?', id: '' });
  }

  /** One submission finished; `reused` when its result came from the store. */
  finished(grade: SubmissionGrade, reused: boolean): void {
    this.done++;
    if (reused) this.reused++;
    if (grade.error !== undefined) this.failed.push(grade);
    this.bar?.update(this.done, { failures: this.failed.length, reused: this.reused, left: this.timeLeft(), id: grade.submission });
  }

  private timeLeft(): string {
    const graded = this.done - this.reused;
    if (graded === 0) return '?';
    const s = Math.round(((Date.now() - this.started) / 1000 / graded) * (this.total - this.done));
    return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  }

  /** Stop the bar; the failure lines ("FAILED id: reason"), for stderr. */
  stop(): string[] {
    this.bar?.stop();
    return this.failed.map((g) => `FAILED ${g.submission}: ${(g.error ?? '').split('\n')[0]}`);
  }
}
