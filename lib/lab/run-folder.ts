import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A folder a simulated run writes its files into, marked as such: a marker file lists what the run wrote, so
 * a later run may replace exactly those files and nothing else. A folder holding anything the marker does not
 * list (a real run's files, a notebook, the student's own work) is refused, never cleared.
 */
export const RUN_MARKER = '.raftlab-simulated-run.json';

interface Marker {
  readonly writtenBy: string;
  readonly files: readonly string[];
}

export class RunFolderError extends Error {
  override readonly name = 'RunFolderError';
}

function readMarker(dir: string): Marker | null {
  const file = path.join(dir, RUN_MARKER);
  if (!fs.existsSync(file)) return null;
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Marker;
    if (!Array.isArray(parsed.files) || !parsed.files.every((f) => typeof f === 'string')) throw new Error('no "files" list');
    return parsed;
  } catch (error) {
    throw new RunFolderError(`${file}: not a marker this library wrote (${(error as Error).message}); move the folder's files away or pick another folder`);
  }
}

/** Names in `dir` that a simulated run may not touch (not written by one). */
export function foreignFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const marker = readMarker(dir);
  const ours = new Set(marker?.files ?? []);
  return fs.readdirSync(dir).filter((name) => name !== RUN_MARKER && !ours.has(name)).sort();
}

/**
 * Replace the previous simulated run's files in `dir` with `files`. Refuses (throws, touching nothing) when
 * the folder holds anything a simulated run did not write.
 */
export function writeSimulatedRun(dir: string, files: ReadonlyMap<string, string>, writtenBy: string): void {
  for (const name of files.keys()) {
    if (name !== path.basename(name) || name === RUN_MARKER) throw new RunFolderError(`refusing to write ${JSON.stringify(name)}: not a plain file name`);
  }
  const foreign = foreignFiles(dir);
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 6).join(', ') + (foreign.length > 6 ? `, and ${foreign.length - 6} more` : '');
    throw new RunFolderError(
      `${dir} holds files a simulated run did not write (${shown}): they may be your real run or your work, so nothing was ` +
        'deleted or overwritten. Give the simulated run a folder of its own (e.g. out/notebooks/...), and grade a real run by ' +
        'reading its folder (readFolder), not by running the simulation into it.',
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const previous = readMarker(dir);
  // The manual's step 2 (`rm 127*`): the previous run's raftos files go; its other files (a task file of the
  // other task) stay, still listed as ours.
  const stale = (previous?.files ?? []).filter((name) => !files.has(name) && name.startsWith('127.'));
  const kept = (previous?.files ?? []).filter((name) => !stale.includes(name));
  const listed = [...new Set([...kept, ...files.keys()])].sort();
  // The marker first, so that an interrupted write still leaves every file accounted for.
  fs.writeFileSync(path.join(dir, RUN_MARKER), JSON.stringify({ writtenBy, files: [...listed, ...stale].sort() } satisfies Marker, null, 2) + '\n');
  for (const name of stale) fs.rmSync(path.join(dir, name), { force: true });
  for (const [name, content] of files) fs.writeFileSync(path.join(dir, name), content);
  fs.writeFileSync(path.join(dir, RUN_MARKER), JSON.stringify({ writtenBy, files: listed } satisfies Marker, null, 2) + '\n');
}
