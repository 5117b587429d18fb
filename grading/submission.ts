import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yauzl from 'yauzl';
import { GRADED_NAME } from './lab-files';

/**
 * One submission, a folder or a zip, read safely into memory: nothing is ever extracted or written.
 * Only the files the grader reads (task files, raftos files, programs) are decompressed, each within size
 * limits counted while streaming (headers are not trusted); links, paths that climb out, absolute paths,
 * duplicate names and too many entries make the whole submission an error.
 */

export interface LoadLimits {
  /** Entries in a zip, or files and folders under a submission folder. */
  readonly maxEntries: number;
  /** Bytes of one graded file, uncompressed. */
  readonly maxFileBytes: number;
  /** Bytes of all graded files of one submission, uncompressed. */
  readonly maxTotalBytes: number;
  /** Uncompressed / compressed size of one entry, checked once `ratioAfterBytes` have come out. */
  readonly maxRatio: number;
  readonly ratioAfterBytes: number;
  /** Folder depth walked under a submission folder. */
  readonly maxDepth: number;
}

export const defaultLimits: LoadLimits = {
  maxEntries: 10_000,
  maxFileBytes: 2 * 1024 * 1024,
  maxTotalBytes: 16 * 1024 * 1024,
  maxRatio: 100,
  ratioAfterBytes: 256 * 1024,
  maxDepth: 8,
};

export class SubmissionError extends Error {
  override readonly name = 'SubmissionError';
  constructor(readonly source: string, problem: string) {
    super(`${path.basename(source)}: ${problem}`);
  }
}

export interface LoadedSubmission {
  /** Student id: the folder's or zip's name without .zip (e.g. the SRN). */
  readonly id: string;
  readonly source: string;
  readonly kind: 'zip' | 'folder';
  /** The enclosing folder the lab files were found in ('' when at the top). */
  readonly root: string;
  /** 'manual': 1.py-3.py; 'course': 1.sh-3.sh; 'unknown': no program files. */
  readonly layout: 'manual' | 'course' | 'unknown';
  /** Graded file name -> raw bytes (decoded later, so that bad UTF-8 is reported by file and line). */
  readonly files: Map<string, Uint8Array>;
  /** How many other entries were ignored. */
  readonly ignored: number;
}

export function submissionId(source: string): string {
  return path.basename(source).replace(/\.zip$/i, '');
}

export async function loadSubmission(source: string, limits: LoadLimits = defaultLimits): Promise<LoadedSubmission> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(source);
  } catch (error) {
    throw new SubmissionError(source, `cannot read: ${(error as Error).message}`);
  }
  if (stat.isSymbolicLink()) throw new SubmissionError(source, 'is a symbolic link; submit the folder or zip itself');
  if (stat.isDirectory()) return loadFolder(source, limits);
  if (stat.isFile()) return loadZip(source, limits);
  throw new SubmissionError(source, 'is neither a folder nor a zip file');
}

// ---- Choosing the folder that holds the lab files ----

interface Candidate {
  readonly dir: string;
  readonly name: string;
}

function isIgnoredPath(rel: string): boolean {
  return rel.split('/').some((part) => part === '__MACOSX');
}

/** Among paths of graded files, the shallowest folder holding any; an error if two folders tie. */
function chooseRoot(source: string, paths: readonly string[]): { root: string; picked: Candidate[] } {
  const candidates: Candidate[] = [];
  for (const p of paths) {
    if (isIgnoredPath(p)) continue;
    const slash = p.lastIndexOf('/');
    const name = p.slice(slash + 1);
    if (GRADED_NAME.test(name)) candidates.push({ dir: slash < 0 ? '' : p.slice(0, slash), name });
  }
  if (candidates.length === 0) {
    throw new SubmissionError(source, 'holds none of the lab files (task2_node1.txt, 127.0.0.1_8000.log, 1.py, ...) at the top or in one enclosing folder');
  }
  const depth = (d: string) => (d === '' ? 0 : d.split('/').length);
  const shallowest = Math.min(...candidates.map((c) => depth(c.dir)));
  const dirs = [...new Set(candidates.filter((c) => depth(c.dir) === shallowest).map((c) => c.dir))];
  if (dirs.length > 1) {
    throw new SubmissionError(source, `lab files are in more than one folder (${dirs.slice(0, 4).map((d) => `${d}/`).join(', ')}): submit one folder`);
  }
  const root = dirs[0]!;
  return { root, picked: candidates.filter((c) => c.dir === root) };
}

function layoutOf(files: ReadonlyMap<string, Uint8Array>): LoadedSubmission['layout'] {
  const names = [...files.keys()];
  if (names.some((n) => n.endsWith('.py'))) return 'manual';
  if (names.some((n) => n.endsWith('.sh'))) return 'course';
  return 'unknown';
}

// ---- Zip ----

/** Zips up to this size are read whole (one read instead of many small ones); larger ones are read in place. */
const READ_WHOLE_BYTES = 8 * 1024 * 1024;

async function openZip(file: string): Promise<yauzl.ZipFile> {
  const options: yauzl.Options = { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: false };
  const size = (await fs.promises.stat(file)).size;
  const buffer = size <= READ_WHOLE_BYTES ? await fs.promises.readFile(file) : null;
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, zip?: yauzl.ZipFile) => {
      if (error || !zip) reject(error ?? new Error('no zip file'));
      else resolve(zip);
    };
    if (buffer) yauzl.fromBuffer(buffer, options, done);
    else yauzl.open(file, options, done);
  });
}

function explainZipError(message: string): string {
  if (message.startsWith('invalid relative path')) return `zip entry path climbs out of its folder (${message}); nothing was extracted`;
  if (message.startsWith('absolute path')) return `zip entry has an absolute path (${message}); nothing was extracted`;
  if (message.startsWith('invalid characters in fileName')) return `zip entry name contains a backslash (${message})`;
  return `not a readable zip file (${message})`;
}

async function loadZip(source: string, limits: LoadLimits): Promise<LoadedSubmission> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(source);
  } catch (error) {
    throw new SubmissionError(source, explainZipError((error as Error).message));
  }
  try {
    if (zip.entryCount === 0) throw new SubmissionError(source, 'is an empty zip');
    if (zip.entryCount > limits.maxEntries) throw new SubmissionError(source, `has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`);
    const entries = await listEntries(source, zip, limits);
    const { root, picked } = chooseRoot(source, [...entries.keys()]);
    const files = new Map<string, Uint8Array>();
    let total = 0;
    for (const c of picked) {
      const entry = entries.get(c.dir === '' ? c.name : `${c.dir}/${c.name}`)!;
      const bytes = await readEntry(source, zip, entry, limits, limits.maxTotalBytes - total);
      total += bytes.length;
      files.set(c.name, bytes);
    }
    return { id: submissionId(source), source, kind: 'zip', root, layout: layoutOf(files), files, ignored: entries.size - picked.length };
  } catch (error) {
    if (error instanceof SubmissionError) throw error;
    throw new SubmissionError(source, explainZipError((error as Error).message));
  } finally {
    zip.close();
  }
}

function listEntries(source: string, zip: yauzl.ZipFile, limits: LoadLimits): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    let count = 0;
    const done = (error: unknown) => {
      zip.removeAllListeners('entry');
      zip.removeAllListeners('end');
      zip.removeAllListeners('error');
      zip.on('error', () => undefined);
      reject(error);
    };
    zip.on('error', done);
    zip.on('end', () => resolve(entries));
    zip.on('entry', (entry: yauzl.Entry) => {
      if (++count > limits.maxEntries) return done(new SubmissionError(source, `has more than ${limits.maxEntries} entries`));
      const name = entry.fileName;
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      const madeOnUnix = entry.versionMadeBy >> 8 === 3;
      if (madeOnUnix && mode === 0o120000) return done(new SubmissionError(source, `zip entry ${JSON.stringify(name)} is a symbolic link; links are not graded, submit the files themselves`));
      if (madeOnUnix && mode !== 0 && mode !== 0o100000 && mode !== 0o040000) return done(new SubmissionError(source, `zip entry ${JSON.stringify(name)} is not a regular file or folder`));
      if (name.split('/').some((part) => part === '..')) return done(new SubmissionError(source, `zip entry path ${JSON.stringify(name)} climbs out of its folder; nothing was extracted`));
      if (!name.endsWith('/')) {
        const key = name.replace(/^\.\//, '');
        if (entries.has(key)) return done(new SubmissionError(source, `zip holds ${JSON.stringify(key)} twice`));
        entries.set(key, entry);
      }
      zip.readEntry();
    });
    zip.readEntry();
  });
}

function readEntry(source: string, zip: yauzl.ZipFile, entry: yauzl.Entry, limits: LoadLimits, totalLeft: number): Promise<Uint8Array> {
  const name = entry.fileName;
  if ((entry.generalPurposeBitFlag & 1) !== 0) return Promise.reject(new SubmissionError(source, `${name} is encrypted; submit an unencrypted zip`));
  const cap = Math.min(limits.maxFileBytes, totalLeft);
  const tooBig = (size: number) => (limits.maxFileBytes <= totalLeft
    ? new SubmissionError(source, `${name} is ${size > limits.maxFileBytes ? 'larger than' : 'at least'} ${limits.maxFileBytes} bytes uncompressed, over the limit for one file`)
    : new SubmissionError(source, `the graded files add up to more than ${limits.maxTotalBytes} bytes uncompressed (at ${name})`));
  if (entry.uncompressedSize > cap) return Promise.reject(tooBig(entry.uncompressedSize));
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return reject(error ?? new Error('cannot read entry'));
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      const stop = (problem: Error) => {
        if (failed) return;
        failed = true;
        stream.destroy();
        reject(problem);
      };
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > cap) return stop(tooBig(size));
        if (size > limits.ratioAfterBytes && size / Math.max(1, entry.compressedSize) > limits.maxRatio) {
          return stop(new SubmissionError(source, `${name} expands more than ${limits.maxRatio} times (${entry.compressedSize} bytes compressed, over ${size} out): refused as a zip bomb`));
        }
        chunks.push(chunk);
      });
      stream.on('error', (e: Error) => stop(new SubmissionError(source, `${name}: ${e.message}`)));
      stream.on('end', () => {
        if (!failed) resolve(Buffer.concat(chunks, size));
      });
    });
  });
}

// ---- Folder ----

async function loadFolder(source: string, limits: LoadLimits): Promise<LoadedSubmission> {
  const paths: string[] = [];
  let count = 0;
  const walk = async (rel: string, depth: number): Promise<void> => {
    const dir = rel === '' ? source : path.join(source, rel);
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch (error) {
      throw new SubmissionError(source, `cannot read folder ${rel || '.'}: ${(error as Error).message}`);
    }
    for (const name of names.sort()) {
      if (++count > limits.maxEntries) throw new SubmissionError(source, `holds more than ${limits.maxEntries} files and folders`);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = await fs.promises.lstat(path.join(source, childRel));
      if (st.isSymbolicLink()) throw new SubmissionError(source, `${childRel} is a symbolic link; links are not graded, submit the files themselves`);
      if (st.isDirectory()) {
        if (depth + 1 > limits.maxDepth) throw new SubmissionError(source, `folders nest deeper than ${limits.maxDepth} levels (at ${childRel})`);
        await walk(childRel, depth + 1);
      } else if (st.isFile()) {
        paths.push(childRel);
      } else if (GRADED_NAME.test(name)) {
        throw new SubmissionError(source, `${childRel} is not a regular file`);
      }
    }
  };
  await walk('', 0);
  const { root, picked } = chooseRoot(source, paths);
  const files = new Map<string, Uint8Array>();
  let total = 0;
  for (const c of picked) {
    const rel = c.dir === '' ? c.name : `${c.dir}/${c.name}`;
    const bytes = readBounded(source, rel, Math.min(limits.maxFileBytes, limits.maxTotalBytes - total), limits);
    total += bytes.length;
    files.set(c.name, bytes);
  }
  return { id: submissionId(source), source, kind: 'folder', root, layout: layoutOf(files), files, ignored: paths.length - picked.length };
}

function readBounded(source: string, rel: string, cap: number, limits: LoadLimits): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(path.join(source, rel), fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new SubmissionError(source, `cannot read ${rel}: ${(error as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new SubmissionError(source, `${rel} is not a regular file`);
    const over = () => (cap === limits.maxFileBytes
      ? new SubmissionError(source, `${rel} is larger than ${limits.maxFileBytes} bytes, over the limit for one file`)
      : new SubmissionError(source, `the graded files add up to more than ${limits.maxTotalBytes} bytes (at ${rel})`));
    if (st.size > cap) throw over();
    const buf = Buffer.alloc(cap + 1);
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
      if (size > cap) throw over();
    }
    return buf.subarray(0, size);
  } finally {
    fs.closeSync(fd);
  }
}
