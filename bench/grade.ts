/**
 * The grader's throughput: a batch of zipped artifact submissions (the manual's example and the crafted
 * broken ones from datasets/, cycled) written to a temp folder, then graded as `npm run grade -- --batch` does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { gradeBatch, listBatch } from '../grading';
import type { Metric } from './metrics';

function zipFolder(dir: string, prefix: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (name !== 'EXPECTED.json' && fs.statSync(full).isFile()) zip.addBuffer(fs.readFileSync(full), `${prefix}${name}`);
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

export async function runGrade(options: { readonly submissions?: number; readonly log: (message: string) => void }): Promise<Metric[]> {
  const count = options.submissions ?? 1000;
  const datasets = path.join(__dirname, '..', 'datasets', 'submissions');
  const sources = fs.readdirSync(datasets).sort().map((name) => {
    const dir = path.join(datasets, name);
    const inner = fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isDirectory());
    return inner.length === 1 ? path.join(dir, inner[0]!) : dir;
  });
  const zips = await Promise.all(sources.map((dir, i) => zipFolder(dir, i % 2 === 0 ? 'SRN/' : '')));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-grade-'));
  try {
    for (let i = 0; i < count; i++) fs.writeFileSync(path.join(tmp, `PES${String(i).padStart(10, '0')}.zip`), zips[i % zips.length]!);
    options.log(`grading ${count} zips (${zips.length} distinct submissions, cycled) in ${tmp}`);
    const batch = listBatch(tmp);
    const start = process.hrtime.bigint();
    const grades = await gradeBatch(batch);
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const errors = grades.filter((g) => g.error !== undefined).length;
    if (errors > 0) options.log(`${errors} submissions could not be read`);
    return [
      { metric: 'grade.submissions_per_s', value: count / wall, unit: 'submissions/s' },
      { metric: `grade.batch_${count}_wall_s`, value: wall, unit: 's' },
    ];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
