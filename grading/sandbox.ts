import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRunCgroup, type RunCgroup } from './cgroup';

/**
 * Runs one untrusted program under bubblewrap (Debian's `bubblewrap`, Linux namespaces): no network (a new net
 * namespace has only its own loopback), no other process visible (new pid namespace), a read-only view of an
 * allow-list of the course's paths at their usual place (solutions, hidden tests, the grader's output and other
 * submissions are simply not there), read-only /usr, a synthetic /etc (no passwd of the machine, no shadow), a
 * private /tmp, and one private writable folder. Limits: CPU seconds, memory and file size per process,
 * processes (RLIMIT_NPROC, counted for a uid of its own when the grader runs as root), wall time; and, where the
 * grader may create control groups (grading/cgroup.ts), totals for the whole tree: memory and processes. At a limit
 * or when the grader goes away the whole tree dies with bwrap (--die-with-parent, and the pid namespace's init).
 */

export interface SandboxLimits {
  /** CPU seconds per process (RLIMIT_CPU: SIGXCPU then, 5 s later, SIGKILL). */
  readonly cpuSeconds: number;
  /**
   * Memory per process in bytes (RLIMIT_DATA: writable private memory, the heap and every buffer). Not
   * RLIMIT_AS: V8 reserves many GiB of address space it never uses (code ranges, worker isolates, WebAssembly).
   */
  readonly memoryBytes: number;
  /** Processes and threads (RLIMIT_NPROC), beyond what the grader's user already runs. */
  readonly processes: number;
  /** Largest file it may write, in bytes (RLIMIT_FSIZE). */
  readonly fileBytes: number;
  /** Wall-clock seconds before the whole tree is killed. */
  readonly wallSeconds: number;
  /** Memory of the whole tree in bytes (a control group's limit, where one can be made). */
  readonly totalMemoryBytes: number;
  /** Processes and threads of the whole tree at once (a control group's pids.max, where one can be made). */
  readonly totalProcesses: number;
}

export const defaultLimits: SandboxLimits = {
  cpuSeconds: 600,
  memoryBytes: 4 * 1024 ** 3,
  processes: 512,
  fileBytes: 256 * 1024 ** 2,
  wallSeconds: 900,
  totalMemoryBytes: 6 * 1024 ** 3,
  totalProcesses: 512,
};

export interface SandboxRun {
  /** argv inside the sandbox (absolute program path). */
  readonly argv: readonly string[];
  /** The course checkout whose allow-listed paths are visible (read-only, at the same absolute path). */
  readonly root: string;
  /** Paths under `root` to show, read-only (files or folders). Anything else under `root` does not exist. */
  readonly allow: readonly string[];
  /** Files to put in the private folder first (path relative to it -> content). */
  readonly files?: Readonly<Record<string, string>>;
  /**
   * Called once the program has ended, with the private folder on the host (removed right after). Its content is
   * the program's: read it with readPrivateFile (regular files only, never through a symlink).
   */
  readonly collect?: (privateDir: string) => void;
  /** Where the private writable folder appears inside (an absolute path). */
  readonly privateAt: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly limits?: Partial<SandboxLimits>;
  /** Written to stdin, then stdin is closed. */
  readonly stdin?: string;
  /** Called with each chunk the program writes on fd 3 (a pipe only the grader reads). */
  readonly onFd3?: (chunk: Buffer) => void;
  /** Keep at most this many bytes of stdout and of stderr (the tail). Default 64 KiB. */
  readonly keepBytes?: number;
}

export type SandboxEnd =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'signal'; readonly signal: string; readonly limit: string | null }
  | { readonly kind: 'wall-time' }
  | { readonly kind: 'failed-to-start'; readonly message: string };

export interface SandboxResult {
  readonly end: SandboxEnd;
  readonly stdout: string;
  readonly stderr: string;
  /** A sentence a student can read, for anything but a normal exit. */
  readonly verdict: string | null;
  /** 'cgroup v2' or 'cgroup v1' (totals for the tree enforced), or 'per-process limits' (no group could be made). */
  readonly confinement: RunCgroup['kind'] | 'per-process limits';
}

const bwrapPaths = ['/usr/bin/bwrap', '/bin/bwrap'];

function findBwrap(): string | null {
  return bwrapPaths.find((p) => fs.existsSync(p)) ?? null;
}

export const installHint = 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)';

let probed: string | null | undefined;

/** Why the sandbox cannot run here (bwrap missing, user namespaces off), or null. Probed once. */
export function sandboxProblem(): string | null {
  if (probed !== undefined) return probed;
  const bwrap = findBwrap();
  if (bwrap === null) return (probed = `bubblewrap (bwrap) is not installed: ${installHint}`);
  const r = spawnSync(...wrapper(bwrap, [...baseArgs(), '--', '/usr/bin/true'], defaultLimits), { encoding: 'utf8', timeout: 20_000 });
  probed = r.status === 0 ? null : `bubblewrap cannot create a sandbox here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}); user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)`;
  return probed;
}

let uidCounter = 0;
/** A uid of its own per run when the grader is root, so RLIMIT_NPROC counts only this run's processes. */
function sandboxUid(): number | null {
  if (process.geteuid?.() !== 0) return null;
  return 200_000 + ((process.pid % 4096) * 64) + (uidCounter++ % 64);
}

/** Processes and threads the user `uid` runs now (RLIMIT_NPROC counts them all). */
function tasksOf(uid: number): number {
  let n = 0;
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const status = fs.readFileSync(`/proc/${e}/status`, 'utf8');
      const u = /^Uid:\s+(\d+)/m.exec(status);
      const t = /^Threads:\s+(\d+)/m.exec(status);
      if (u && Number(u[1]) === uid) n += t ? Number(t[1]) : 1;
    } catch {
      // gone
    }
  }
  return n;
}

function baseArgs(): string[] {
  return [
    '--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin',
    '--proc', '/proc', '--dev', '/dev',
    '--tmpfs', '/tmp',
  ];
}

/** The /etc a Python and a Node need: the loader cache, Python's site config, time zone; a synthetic passwd. */
const etcFromHost = ['ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'localtime', 'nsswitch.conf', 'alternatives', 'python3', 'python3.11', 'python3.12', 'mime.types'];

function etcArgs(setupDir: string, uid: number): string[] {
  fs.mkdirSync(setupDir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(setupDir, 'passwd'), `root:x:0:0:root:/root:/bin/sh\nstudent:x:${uid}:${uid}:student:/home/student:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`);
  fs.writeFileSync(path.join(setupDir, 'group'), `root:x:0:\nstudent:x:${uid}:\nnogroup:x:65534:\n`);
  fs.writeFileSync(path.join(setupDir, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  const args = ['--dir', '/etc'];
  for (const f of ['passwd', 'group', 'hosts']) args.push('--ro-bind', path.join(setupDir, f), `/etc/${f}`);
  for (const f of etcFromHost) if (fs.existsSync(`/etc/${f}`)) args.push('--ro-bind', `/etc/${f}`, `/etc/${f}`);
  return args;
}

/**
 * What must happen before the sandbox starts, as root, in the process that becomes it: join the run's control
 * group, and (when the sandbox runs as a uid of its own) make the checkout reachable for that uid.
 */
interface Prelude {
  readonly cgroup: RunCgroup | null;
  /**
   * The checkout, bound at `view` (a folder the sandbox's uid can reach) in a mount namespace of the run's own:
   * the checkout may sit under folders only the grader may enter (mktemp -d makes them 0700), and bwrap binds
   * paths as the uid it runs as. The mount disappears with the run.
   */
  readonly view: { readonly root: string; readonly at: string } | null;
}

function wrapper(bwrap: string, args: string[], limits: SandboxLimits, uid: number | null = sandboxUid(), prelude: Prelude = { cgroup: null, view: null }): [string, string[]] {
  const nproc = limits.processes + (uid === null ? tasksOf(process.geteuid?.() ?? -1) : 0);
  const prlimit = [
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 5}`, `--data=${limits.memoryBytes}`, `--nproc=${nproc}`, `--fsize=${limits.fileBytes}`, '--core=0',
  ];
  const drop = uid === null ? [] : ['/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
  const command: [string, string[]] = ['/usr/bin/prlimit', [...prlimit, '--', ...drop, bwrap, ...args]];
  const { cgroup, view } = prelude;
  if (cgroup === null && view === null) return command;
  // The first process joins the group (every later one is born in it) and binds the view, then becomes the
  // sandbox: nothing of the student's runs outside the group. The paths are arguments, never part of the script.
  const [first = '', second = first] = cgroup?.procsFiles ?? [];
  const script = [
    'a=$1; b=$2; r=$3; v=$4; shift 4',
    'if [ -n "$a" ]; then { echo $$ > "$a" && echo $$ > "$b"; } || { echo "raftlab-sandbox: cannot join the control group $a" >&2; exit 125; }; fi',
    'if [ -n "$v" ]; then mount --rbind "$r" "$v" || { echo "raftlab-sandbox: cannot bind the checkout at $v" >&2; exit 125; }; fi',
    'exec "$@"',
  ].join('\n');
  const shell = ['/bin/sh', '-c', script, 'sh', first, second, view?.root ?? '', view?.at ?? '', command[0], ...command[1]];
  if (view === null) return [shell[0]!, shell.slice(1)];
  return ['/usr/bin/unshare', ['--mount', '--propagation', 'private', ...shell]];
}

/** SIGKILL `pid` and every process descended from it (Linux /proc). */
export function killTree(pid: number): void {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone
    }
  }
  const all: number[] = [];
  const visit = (p: number) => {
    all.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

const limitOfSignal: Record<string, string> = {
  SIGXCPU: 'its CPU time limit',
  SIGXFSZ: 'its file size limit',
  SIGKILL: 'a limit (killed)',
  SIGSEGV: 'a crash (often memory: its address space limit)',
  SIGABRT: 'an abort (often memory: its address space limit)',
};

/** Run `spec.argv` in the sandbox; never throws for what the program does. */
export function runSandboxed(spec: SandboxRun): Promise<SandboxResult> {
  const bwrap = findBwrap();
  if (bwrap === null) return Promise.resolve({ end: { kind: 'failed-to-start', message: installHint }, stdout: '', stderr: '', verdict: `the sandbox is missing: ${installHint}`, confinement: 'per-process limits' });
  const limits: SandboxLimits = { ...defaultLimits, ...spec.limits };
  const uid = sandboxUid();
  // Under the system's temporary folder (which any uid may traverse), not the grader's own folders: as root, the
  // sandbox runs as a uid of its own that must be able to reach what it binds, and nothing else.
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlab-sandbox-'));
  fs.chmodSync(base, 0o711);
  const setupDir = path.join(base, 'setup');
  const privateDir = path.join(base, 'private');
  fs.mkdirSync(privateDir, { mode: 0o700 });
  for (const [rel, content] of Object.entries(spec.files ?? {})) {
    const file = path.join(privateDir, rel);
    if (!file.startsWith(privateDir + path.sep)) throw new Error(`sandbox: ${rel} is outside the private folder`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  if (uid !== null) chownTree(privateDir, uid);
  const args = [...baseArgs(), ...etcArgs(setupDir, uid ?? process.geteuid?.() ?? 1000)];
  const root = path.resolve(spec.root);
  const view = uid === null ? null : { root, at: path.join(base, 'view') };
  if (view) fs.mkdirSync(view.at, { mode: 0o755 });
  for (const rel of spec.allow) {
    const host = path.join(root, rel);
    if (fs.existsSync(host)) args.push('--ro-bind', view ? path.join(view.at, rel) : host, host);
  }
  args.push('--bind', privateDir, spec.privateAt, '--chdir', spec.cwd, '--clearenv');
  for (const [k, v] of Object.entries(spec.env)) args.push('--setenv', k, v);
  args.push('--', ...spec.argv);
  const cgroup = createRunCgroup({ memoryBytes: limits.totalMemoryBytes, processes: limits.totalProcesses });
  const confinement = cgroup?.kind ?? 'per-process limits';
  const [command, argv] = wrapper(bwrap, args, limits, uid, { cgroup, view });
  const keep = spec.keepBytes ?? 64 * 1024;
  return new Promise((resolve) => {
    const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: {} });
    let stdout = '';
    let stderr = '';
    let wall = false;
    child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-keep)));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-keep)));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => spec.onFd3?.(d));
    child.stdin!.on('error', () => undefined); // it may exit before reading
    child.stdin!.end(spec.stdin ?? '');
    const timer = setTimeout(() => {
      wall = true;
      if (child.pid !== undefined) killTree(child.pid);
    }, limits.wallSeconds * 1000);
    let started = true;
    child.on('error', (e) => {
      started = false;
      clearTimeout(timer);
      cgroup?.remove();
      fs.rmSync(base, { recursive: true, force: true });
      resolve({ end: { kind: 'failed-to-start', message: e.message }, stdout, stderr, verdict: `the sandbox could not start: ${e.message}`, confinement });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!started) return;
      const oom = cgroup?.oomKilled() ?? false;
      cgroup?.remove(); // and with it any process the run left behind
      try {
        spec.collect?.(privateDir);
      } finally {
        fs.rmSync(base, { recursive: true, force: true });
      }
      let end: SandboxEnd;
      if (wall) end = { kind: 'wall-time' };
      else if (signal !== null) end = { kind: 'signal', signal, limit: limitOfSignal[signal] ?? null };
      else if (code !== null && code > 128 && /^bwrap: /m.test(stderr) === false && signalName(code - 128)) end = { kind: 'signal', signal: signalName(code - 128)!, limit: limitOfSignal[signalName(code - 128)!] ?? null };
      else end = { kind: 'exit', code: code ?? -1 };
      // Only a run that did not end well is put down to the total: one that brushed the limit (the kernel reclaimed
      // cache, or killed a child the program outlived) and exited 0 keeps its exit.
      const endedBadly = end.kind === 'signal' || (end.kind === 'exit' && end.code !== 0);
      if (oom && endedBadly) end = { kind: 'signal', signal: end.kind === 'signal' ? end.signal : 'SIGKILL', limit: 'the memory limit of all its processes together' };
      resolve({ end, stdout, stderr, verdict: verdictOf(end, limits, stderr), confinement });
    });
  });
}

function signalName(n: number): string | null {
  const names: Record<number, string> = { 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 24: 'SIGXCPU', 25: 'SIGXFSZ' };
  return names[n] ?? null;
}

function verdictOf(end: SandboxEnd, limits: SandboxLimits, stderr: string): string | null {
  switch (end.kind) {
    case 'exit':
      if (/^(bwrap|raftlab-sandbox): /m.test(stderr)) return `the sandbox failed: ${/^(bwrap|raftlab-sandbox): .*$/m.exec(stderr)![0]}`;
      return null;
    case 'wall-time':
      return `ran longer than ${limits.wallSeconds} s and was stopped (every process of it killed)`;
    case 'signal':
      return `was stopped by ${end.signal}${end.limit ? `: ${end.limit}` : ''} (limits: ${limits.cpuSeconds} s CPU, ${Math.round(limits.memoryBytes / 1024 ** 2)} MiB memory per process and ${Math.round(limits.totalMemoryBytes / 1024 ** 2)} MiB in all, ${limits.processes} processes)`;
    case 'failed-to-start':
      return `the sandbox could not start: ${end.message}`;
  }
}

function chownTree(dir: string, uid: number): void {
  fs.chownSync(dir, uid, uid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid);
    else fs.lchownSync(p, uid, uid);
  }
}

/** A regular file of the private folder (never followed through a symlink), at most `maxBytes`; else null. */
export function readPrivateFile(privateDir: string, rel: string, maxBytes = 16 * 1024 * 1024): string | null {
  let fd: number;
  try {
    // Every component must be a real folder: a symlink anywhere on the way could lead out of the folder.
    let at = privateDir;
    for (const part of rel.split('/').slice(0, -1)) {
      at = path.join(at, part);
      if (!fs.lstatSync(at).isDirectory()) return null;
    }
    fd = fs.openSync(path.join(privateDir, rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return null;
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}
