/**
 * The files of one lab submission, by name, and what both layouts call them: the manual's (1.py 2.py 3.py)
 * and this course's (1.sh 2.sh 3.sh), both with task2_nodeN.txt, task3_nodeN.txt and raftos's
 * <host>_<port>.log|.storage|.state_machine. Node N is 127.0.0.1 port base + N - 1 (base 8000 in the manual), or,
 * for a cluster across machines (`--cluster`), the N-th member.
 */

/** File name (relative to the submission's folder) -> text, or raw bytes not yet decoded. */
export type SubmissionFiles = ReadonlyMap<string, string | Uint8Array>;

/** The nodes that start the lab's cluster; a grown cluster (npm run member -- add) has nodes 4, 5, ... beyond them. */
export const NODE_NUMBERS = [1, 2, 3] as const;
/** Largest cluster the grader reads (task files are task<T>_node1.txt .. task<T>_node9.txt). */
export const MAX_NODES = 9;
export const DEFAULT_BASE_PORT = 8000;
export const HOST = '127.0.0.1';

/** Names the grader reads (the lab files, and the course notebooks NN-name.ipynb); everything else is ignored (never decompressed). */
export const GRADED_NAME = /^(?:task[23]_node[1-9]\.txt|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?_\d{1,5}\.(?:log|storage|state_machine|snapshot)|[1-9]\.(?:py|sh)|\d\d-[a-z0-9-]+\.ipynb)$/;

/** A raftos file's name (or a snapshot beside them, log compaction's): the node's address (host_port) and which file. */
export const RAFTOS_FILE = /^([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)_(\d{1,5})\.(?:log|storage|state_machine|snapshot)$/;

export interface Cluster {
  /** Port of node 1 when the nodes are 127.0.0.1 ports basePort, basePort + 1, ... (the manual's layout), else null. */
  readonly basePort: number | null;
  /** addresses[0] is node 1. */
  readonly addresses: readonly string[];
}

export function clusterAt(basePort: number, size: number = NODE_NUMBERS.length): Cluster {
  return { basePort, addresses: Array.from({ length: size }, (_, i) => `${HOST}:${basePort + i}`) };
}

/** 1..N: every node of the cluster, the three it started with and any added since. */
export function nodeNumbers(cluster: Cluster): number[] {
  return cluster.addresses.map((_, i) => i + 1);
}

/** How the cluster's layout is worded for a student: "node N must run on ...". */
export function layoutRule(cluster: Cluster): string {
  return cluster.basePort !== null
    ? `node N must run on port ${cluster.basePort} + N - 1`
    : `node N is the N-th of ${cluster.addresses.join(', ')} (the --cluster of N.sh)`;
}

/**
 * The cluster a submission ran on: the ports of its raftos files when they are three (or, for a cluster grown with
 * npm run member, up to nine) consecutive 127.0.0.1 ports; as many other addresses (a cluster across machines) in
 * the order of the --cluster its N.sh scripts give, or by --listen, else sorted; else the manual's 8000-8002.
 */
export function inferCluster(files: SubmissionFiles, basePort?: number): Cluster {
  if (basePort !== undefined) return clusterAt(basePort);
  const addresses = new Set<string>();
  for (const name of files.keys()) {
    const m = RAFTOS_FILE.exec(name);
    if (m) addresses.add(`${m[1]}:${Number(m[2])}`);
  }
  const local = [...addresses].filter((a) => a.startsWith(`${HOST}:`)).map((a) => Number(a.slice(HOST.length + 1))).sort((a, b) => a - b);
  const size = addresses.size;
  if (size < NODE_NUMBERS.length || size > MAX_NODES) return clusterAt(DEFAULT_BASE_PORT);
  if (local.length === size && local.every((port, i) => port === local[0]! + i)) return clusterAt(local[0]!, size);
  if (local.length === 0) return { basePort: null, addresses: memberOrder(files, [...addresses]) };
  return clusterAt(DEFAULT_BASE_PORT);
}

/** The members in node order: the scripts' --cluster, or each N.sh's --listen, else sorted by host and port. */
function memberOrder(files: SubmissionFiles, members: readonly string[]): string[] {
  const script = (n: number) => {
    const t = textOf(files, `${n}.sh`);
    return t?.ok ? t.text : '';
  };
  const same = (list: readonly string[]) => list.length === members.length && members.every((m) => list.includes(m));
  const numbers = members.map((_, i) => i + 1);
  for (const n of numbers) {
    const listed = /--cluster[ =]([^\s]+)/.exec(script(n))?.[1]?.split(',');
    if (listed && same(listed)) return listed;
  }
  const byListen = numbers.map((n) => /--listen[ =]([^\s]+)/.exec(script(n))?.[1] ?? '');
  if (same(byListen)) return byListen;
  const key = (a: string) => {
    const [host, port] = [a.slice(0, a.lastIndexOf(':')), Number(a.slice(a.lastIndexOf(':') + 1))];
    return [...host.split('.').map((p) => (/^\d+$/.test(p) ? p.padStart(3, '0') : p)), String(port).padStart(5, '0')].join('.');
  };
  return [...members].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function nodeOf(cluster: Cluster, address: string): number | null {
  const i = cluster.addresses.indexOf(address);
  return i < 0 ? null : i + 1;
}

export function baseName(address: string): string {
  return address.replace(/:/g, '_');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export type TextResult = { ok: true; text: string } | { ok: false; problem: string; line: number | null };

/** A file's text; raw bytes are decoded as strict UTF-8, and a failure names the first bad line. */
export function textOf(files: SubmissionFiles, name: string): TextResult | null {
  const content = files.get(name);
  if (content === undefined) return null;
  if (typeof content === 'string') return { ok: true, text: content };
  try {
    return { ok: true, text: utf8.decode(content) };
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= content.length; i++) {
      if (i === content.length || content[i] === 0x0a) {
        try {
          utf8.decode(content.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    const binary = content.subarray(0, 4096).includes(0);
    return { ok: false, line, problem: binary ? 'is binary data, not text' : 'is not valid UTF-8 text' };
  }
}

/** Lines of a text file: '\r\n' accepted, trailing blank lines dropped. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n').map((l) => l.replace(/\r$/, ''));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

export function show(line: string, max = 60): string {
  const s = line.length > max ? `${line.slice(0, max)}...` : line;
  return JSON.stringify(s);
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
