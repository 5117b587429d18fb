import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A control group for one sandboxed run: limits on the whole process tree (memory in total, processes in total),
 * where the per-process rlimits of grading/sandbox.ts cannot see a tree of processes each under its own limit.
 * cgroup v2 (a unified hierarchy with the memory and pids controllers enabled) or v1 (the memory and pids
 * hierarchies), when the grader may create groups (root, or a delegated subtree); otherwise none, and the
 * sandbox keeps its per-process limits only (the result says which).
 */
export interface RunCgroup {
  readonly kind: 'cgroup v2' | 'cgroup v1';
  /** The cgroup.procs files the run's first process writes its pid into, before it runs anything. */
  readonly procsFiles: readonly string[];
  /** True if the kernel killed a process of the group for passing the memory total. */
  oomKilled(): boolean;
  /** Kill whatever is still in the group, then remove it. */
  remove(): void;
}

export interface CgroupLimits {
  readonly memoryBytes: number;
  readonly processes: number;
}

/** The cgroup the current process is in, per hierarchy (from /proc/self/cgroup). */
function ownCgroups(): Map<string, string> {
  const out = new Map<string, string>();
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '') out.set('', m[2]!);
    else for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Where a new group may be made: v2 (unified, memory+pids delegated) first, then v1; null if neither. */
function parents(): { kind: RunCgroup['kind']; dirs: Record<'memory' | 'pids', string> } | null {
  const own = ownCgroups();
  for (const mount of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (!fs.existsSync(path.join(mount, 'cgroup.controllers'))) continue;
    // A v2 group with processes in it cannot give controllers to children ("no internal processes"): the run's
    // group goes beside the grader's, under its parent, when that parent delegates memory and pids.
    const mine = path.join(mount, own.get('') ?? '/');
    for (const dir of [mine, path.dirname(mine)]) {
      const enabled = read(path.join(dir, 'cgroup.subtree_control')).split(/\s+/);
      if (enabled.includes('memory') && enabled.includes('pids') && writable(dir)) return { kind: 'cgroup v2', dirs: { memory: dir, pids: dir } };
    }
  }
  const memory = path.join('/sys/fs/cgroup/memory', own.get('memory') ?? '/');
  const pids = path.join('/sys/fs/cgroup/pids', own.get('pids') ?? '/');
  if (fs.existsSync(path.join(memory, 'memory.limit_in_bytes')) && fs.existsSync(path.join(pids, 'cgroup.procs')) && writable(memory) && writable(pids)) {
    return { kind: 'cgroup v1', dirs: { memory, pids } };
  }
  return null;
}

let counter = 0;

/** What confinement a run here would get (for the grader's report). */
export function cgroupSupport(): RunCgroup['kind'] | null {
  return parents()?.kind ?? null;
}

/** A new group with these totals, or null where groups cannot be made (the sandbox then says so). */
export function createRunCgroup(limits: CgroupLimits): RunCgroup | null {
  const where = parents();
  if (where === null) return null;
  const name = `raftlab-sandbox-${process.pid}-${counter++}`;
  const made: string[] = [];
  try {
    if (where.kind === 'cgroup v2') {
      const dir = path.join(where.dirs.memory, name);
      fs.mkdirSync(dir);
      made.push(dir);
      fs.writeFileSync(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0');
      fs.writeFileSync(path.join(dir, 'pids.max'), String(limits.processes));
      return group('cgroup v2', made, [path.join(dir, 'cgroup.procs')], () => count(read(path.join(dir, 'memory.events')), 'oom_kill') > 0);
    }
    const memory = path.join(where.dirs.memory, name);
    const pids = path.join(where.dirs.pids, name);
    fs.mkdirSync(memory);
    made.push(memory);
    fs.mkdirSync(pids);
    made.push(pids);
    fs.writeFileSync(path.join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    if (fs.existsSync(path.join(memory, 'memory.memsw.limit_in_bytes'))) {
      try {
        fs.writeFileSync(path.join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      } catch {
        // swap accounting off: memory alone is limited
      }
    }
    fs.writeFileSync(path.join(pids, 'pids.max'), String(limits.processes));
    const oomControl = () => read(path.join(memory, 'memory.oom_control'));
    // Kernels before 4.13 have no oom_kill count: there, reaching the limit (failcnt) is the best sign there is.
    return group('cgroup v1', made, [path.join(memory, 'cgroup.procs'), path.join(pids, 'cgroup.procs')], () =>
      /^oom_kill /m.test(oomControl()) ? count(oomControl(), 'oom_kill') > 0 : Number(read(path.join(memory, 'memory.failcnt')).trim() || '0') > 0);
  } catch {
    for (const dir of made.reverse()) removeGroup(dir);
    return null;
  }
}

/** The number after `key` in a flat-keyed file such as memory.events ("oom_kill 1"). */
function count(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function group(kind: RunCgroup['kind'], dirs: string[], procsFiles: string[], oom: () => boolean): RunCgroup {
  return {
    kind,
    procsFiles,
    oomKilled: oom,
    remove: () => {
      for (const dir of [...dirs].reverse()) removeGroup(dir);
    },
  };
}

/** Kill every process left in the group (a daemon the run left behind), then remove the group. */
function removeGroup(dir: string): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = read(path.join(dir, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    try {
      fs.rmdirSync(dir);
      return;
    } catch {
      // busy while the killed processes exit: try again
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
