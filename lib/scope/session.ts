import { ScopeRun } from './driver';
import type { ActionBody, ScopeSpec } from './spec';

/** One line of exploration: a spec (seed, settings, actions) and how far it has been run. */
export interface Branch {
  readonly id: number;
  spec: ScopeSpec;
  /** The furthest virtual time this branch has been run to (the slider's end). */
  end: number;
  /** The branch it was forked from, and at what time. */
  readonly parent: { readonly id: number; readonly at: number } | null;
}

/**
 * What the page holds: the branches explored so far and the run of the current one. Scrubbing back replays the
 * branch from its seed; acting with actions still ahead forks a new branch and keeps the old one.
 */
export class ScopeSession {
  readonly branches: Branch[] = [];
  private current: Branch;
  private runState: ScopeRun;

  constructor(spec: ScopeSpec, startAt = 0) {
    this.current = { id: 1, spec, end: 0, parent: null };
    this.branches.push(this.current);
    this.runState = new ScopeRun(spec);
    const lastAction = spec.actions.reduce((t, a) => Math.max(t, a.at), 0);
    this.seek(Math.max(startAt, lastAction));
    this.current.end = this.runState.now;
    this.seek(startAt);
  }

  get run(): ScopeRun {
    return this.runState;
  }

  get branch(): Branch {
    return this.current;
  }

  get spec(): ScopeSpec {
    return this.current.spec;
  }

  /** Go to virtual time `time` on this branch: forward by running on, backward by an exact replay. */
  seek(time: number): void {
    const target = Math.max(0, time);
    if (target < this.runState.now) this.runState = new ScopeRun(this.current.spec);
    this.runState.advanceTo(target);
    this.current.end = Math.max(this.current.end, this.runState.now);
  }

  stepEvent(): void {
    this.runState.stepEvent();
    this.current.end = Math.max(this.current.end, this.runState.now);
  }

  /** Act now. Earlier than this branch's end (we went back in time), the act starts a new branch. */
  act(body: ActionBody): Branch {
    const run = this.runState;
    if (run.hasActionsAhead || run.now < this.current.end) {
      const fork: Branch = {
        id: this.branches.length + 1,
        spec: { ...this.current.spec, actions: run.actionsSoFar() },
        end: run.now,
        parent: { id: this.current.id, at: run.now },
      };
      this.branches.push(fork);
      this.current = fork;
    }
    run.act(body);
    this.current.spec = { ...this.current.spec, actions: run.actionsSoFar() };
    return this.current;
  }

  /** Switch to another branch, at the same time if it got that far. */
  select(id: number): void {
    const b = this.branches.find((x) => x.id === id);
    if (!b) throw new RangeError(`no branch ${id}`);
    const time = Math.min(this.runState.now, b.end);
    this.current = b;
    this.runState = new ScopeRun(b.spec);
    this.runState.advanceTo(time);
  }
}
