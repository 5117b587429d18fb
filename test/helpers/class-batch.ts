import * as fs from 'node:fs';
import * as path from 'node:path';

const datasets = path.join(__dirname, '..', '..', 'datasets', 'submissions');

/** A class of `count` artifact submissions in `dir` (PES0000 ... ), cycling through datasets/submissions/. */
export function makeClass(dir: string, count: number): string[] {
  const samples = fs.readdirSync(datasets).sort();
  fs.mkdirSync(dir, { recursive: true });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `PES${String(i).padStart(4, '0')}`;
    fs.cpSync(path.join(datasets, samples[i % samples.length]!), path.join(dir, id), { recursive: true });
    ids.push(id);
  }
  return ids;
}

/** The gradebook and every feedback file of an OUT folder, by name (to compare two runs). */
export function reports(out: string): Map<string, string> {
  const files = new Map<string, string>([['gradebook.csv', fs.readFileSync(path.join(out, 'gradebook.csv'), 'utf8')]]);
  for (const name of fs.readdirSync(path.join(out, 'feedback')).sort()) files.set(`feedback/${name}`, fs.readFileSync(path.join(out, 'feedback', name), 'utf8'));
  return files;
}

/** Resolves when `condition()` holds (checked every `everyMs`), rejects after `timeoutMs`. */
export function until(condition: () => boolean, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }
    }, everyMs);
  });
}
