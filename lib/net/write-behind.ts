/**
 * A file rewritten behind the node, off the commit path. Replacing a file by rename costs a journal
 * transaction and, on ext4, a flush of its data (auto_da_alloc): after every apply that would block the event
 * loop for 0.2-1 ms and slow every other node's fsync on the same disk. So one write at a time, at most one per
 * `intervalMs`, rendering the state when the write starts: the latest state wins and a burst of changes costs
 * one write.
 */
export class WriteBehind<T> {
  private dirty = false;
  private writing: Promise<void> | null = null;
  private failed: Error | null = null;
  private lastStart = -Infinity;
  private hurry: (() => void) | null = null;

  constructor(
    private readonly render: () => T,
    private readonly write: (state: T) => Promise<void>,
    private readonly onError: (error: Error) => void,
    private readonly intervalMs = 0,
  ) {}

  /** The state changed: write it soon. */
  touch(): void {
    if (this.failed) return;
    this.dirty = true;
    if (this.writing === null) this.writing = this.run();
  }

  /** Resolves once every change so far is in the file (or a write failed: onError was told). No waiting out the interval. */
  async settle(): Promise<void> {
    while (this.writing !== null) {
      this.hurry?.();
      await this.writing;
    }
  }

  private async run(): Promise<void> {
    try {
      while (this.dirty && this.failed === null) {
        const wait = Math.max(0, this.lastStart + this.intervalMs - performance.now());
        // Always after the current turn (the client hears of its commit first), later to keep to the interval.
        await new Promise<void>((resolve) => {
          const timer = wait > 0 ? setTimeout(resolve, wait) : null;
          const immediate = timer === null ? setImmediate(resolve) : null;
          this.hurry = () => {
            if (timer) clearTimeout(timer);
            if (immediate) clearImmediate(immediate);
            resolve();
          };
        });
        this.hurry = null;
        this.dirty = false;
        this.lastStart = performance.now();
        await this.write(this.render());
      }
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
      this.onError(this.failed);
    } finally {
      this.writing = null;
    }
  }
}
