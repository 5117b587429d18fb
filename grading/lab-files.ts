/**
 * The files of one lab submission, by name, and what both layouts call them: the manual's (1.py 2.py 3.py)
 * and this course's (1.sh 2.sh 3.sh), both with task2_nodeN.txt, task3_nodeN.txt and raftos's
 * 127.0.0.1_<port>.log|.storage|.state_machine. Node N is port base + N - 1 (base 8000 in the manual).
 */

/** File name (relative to the submission's folder) -> text, or raw bytes not yet decoded. */
export type SubmissionFiles = ReadonlyMap<string, string | Uint8Array>;

export const NODE_NUMBERS = [1, 2, 3] as const;
export const DEFAULT_BASE_PORT = 8000;
export const HOST = '127.0.0.1';

/** Names the grader reads (the lab files, and the course notebooks NN-name.ipynb); everything else is ignored (never decompressed). */
export const GRADED_NAME = /^(?:task[23]_node[1-9]\.txt|127\.0\.0\.1_\d{1,5}\.(?:log|storage|state_machine)|[1-9]\.(?:py|sh)|\d\d-[a-z0-9-]+\.ipynb)$/;

export interface Cluster {
  readonly basePort: number;
  /** addresses[0] is node 1. */
  readonly addresses: readonly string[];
}

export function clusterAt(basePort: number): Cluster {
  return { basePort, addresses: NODE_NUMBERS.map((n) => `${HOST}:${basePort + n - 1}`) };
}

/**
 * The cluster a submission ran on: the ports of its raftos files when they are three consecutive ports,
 * else the manual's 8000-8002.
 */
export function inferCluster(files: SubmissionFiles, basePort?: number): Cluster {
  if (basePort !== undefined) return clusterAt(basePort);
  const ports = new Set<number>();
  for (const name of files.keys()) {
    const m = /^127\.0\.0\.1_(\d{1,5})\.(?:log|storage|state_machine)$/.exec(name);
    if (m) ports.add(Number(m[1]));
  }
  const sorted = [...ports].sort((a, b) => a - b);
  if (sorted.length === 3 && sorted[1] === sorted[0]! + 1 && sorted[2] === sorted[0]! + 2) return clusterAt(sorted[0]!);
  return clusterAt(DEFAULT_BASE_PORT);
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
