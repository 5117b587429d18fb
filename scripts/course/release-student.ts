/**
 * The students' copy of the course (`npm run release -- --student DIR`): a folder and DIR.zip beside it, ready
 * to publish as the students' repository. It holds the student notebooks, the library, the grader's artifact
 * checks (the notebooks import them), the lab programs, the kernel, package.json and its lockfile, tsconfig and
 * the README; never notebooks/solution, notebooks/source, or anything else that carries a solution or a hidden
 * test. After writing, every file (and every zip entry) is scanned for the text of every SOLUTION and HIDDEN
 * TESTS region of the source notebooks; a leak deletes the output and fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yauzl from 'yauzl';
import * as yazl from 'yazl';
import { compileAnswerFiles, findAnswerFiles, type AnswerFile } from './compile-answers';
import { layout, listSources, markers, notebookName, readNotebook, sourceText } from './notebook-format';

/** What goes in, relative to the checkout (folders are taken whole, less `excluded`). */
const included = ['lib', 'grading', 'jupyter', 'scripts', 'bench', 'package.json', 'package-lock.json', 'tsconfig.json', 'README.md', '.gitignore'];
/** Authoring tools that need the instructor's copy. */
const excluded = new Set(['scripts/release.ts', 'scripts/course/release-notebook.ts', 'scripts/course/release-student.ts', 'scripts/notebooks-check.ts', 'scripts/course/judge.ts']);
/** npm scripts that need what the students' copy does not have. */
const instructorScripts = ['release', 'notebooks:check'];
const MARK = '.raftlab-student-release';

export interface Region {
  readonly kind: 'solution' | 'hidden tests';
  readonly notebook: string;
  readonly cell: string;
  /** Whitespace-normalized text of the region (marker lines excluded). */
  readonly text: string;
}

export const normalize = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Every SOLUTION and HIDDEN TESTS region of the source notebooks. */
export function secretRegions(root: string): Region[] {
  const out: Region[] = [];
  for (const file of listSources(root)) {
    const nb = readNotebook(file);
    nb.cells.forEach((cell, i) => {
      if (cell.cell_type !== 'code') return;
      let open: { kind: Region['kind']; lines: string[] } | null = null;
      for (const line of sourceText(cell).split('\n')) {
        const m = line.trim();
        if (m === markers.beginSolution || m === markers.beginHidden) open = { kind: m === markers.beginSolution ? 'solution' : 'hidden tests', lines: [] };
        else if ((m === markers.endSolution || m === markers.endHidden) && open) {
          const text = normalize(open.lines.join('\n'));
          if (text !== '') out.push({ kind: open.kind, notebook: path.basename(file), cell: cell.metadata.raftlab?.id ?? cell.id ?? `cell ${i}`, text });
          open = null;
        } else open?.lines.push(line);
      }
    });
  }
  return out;
}

function walk(root: string, rel: string, out: string[]): void {
  const full = path.join(root, rel);
  const st = fs.lstatSync(full);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    for (const e of fs.readdirSync(full).sort()) {
      if (e === 'node_modules' || e === 'out' || e === 'artifacts' || e === '__pycache__') continue;
      walk(root, path.posix.join(rel, e), out);
    }
  } else if (st.isFile() && !excluded.has(rel)) out.push(rel);
}

/** The files of the students' copy, relative to the checkout. */
export function studentFiles(root: string): string[] {
  const out: string[] = [];
  for (const rel of included) if (fs.existsSync(path.join(root, rel))) walk(root, rel, out);
  for (const e of fs.readdirSync(path.join(root, layout.student)).sort()) if (notebookName.test(e)) out.push(`${layout.student}/${e}`);
  return out;
}

function studentPackageJson(text: string): string {
  const pkg = JSON.parse(text) as { scripts?: Record<string, string> };
  for (const s of instructorScripts) delete pkg.scripts?.[s];
  if (pkg.scripts?.['test']) pkg.scripts['test'] = 'npm run typecheck';
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

export interface Leak {
  readonly file: string;
  readonly region: Region;
}

/**
 * Regions found in `files` (path -> content). A solution region that the instructor's own library holds
 * verbatim (the library is the course's reference implementation) is reported apart, as `inLibrary`, when found
 * only in the library's files.
 */
export function findLeaks(files: ReadonlyMap<string, string>, regions: readonly Region[], libraryText: string): { leaks: Leak[]; inLibrary: Region[] } {
  const leaks: Leak[] = [];
  const inLibrary = new Set<Region>();
  const normalized = [...files].map(([f, t]) => [f, normalize(t)] as const);
  const library = normalize(libraryText);
  for (const region of regions) {
    for (const [file, text] of normalized) {
      if (!text.includes(region.text)) continue;
      if (region.kind === 'solution' && file.startsWith('lib/') && library.includes(region.text)) inLibrary.add(region);
      else leaks.push({ file, region });
    }
  }
  return { leaks, inLibrary: [...inLibrary] };
}

/** The text of every .ts file under the checkout's lib/ (for findLeaks). */
export function libraryText(root: string): string {
  const files: string[] = [];
  walk(root, 'lib', files);
  return files.map((f) => fs.readFileSync(path.join(root, f), 'utf8')).join('\n');
}

/** Every entry of a zip, as text. */
export function readZip(file: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error(`cannot open ${file}`));
      const out = new Map<string, string>();
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error(`cannot read ${entry.fileName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

export interface StudentRelease {
  readonly dir: string;
  readonly zip: string;
  readonly files: readonly string[];
  readonly inLibrary: readonly Region[];
  /** Library files carried compiled, not as source, because they answer exercises (scripts/course/compile-answers.ts). */
  readonly compiled: readonly AnswerFile[];
}

/** The names of the functions the exercise cells of the source notebooks define. */
export function exerciseNames(root: string): Set<string> {
  const names = new Set<string>();
  for (const file of listSources(root)) {
    for (const cell of readNotebook(file).cells) {
      if (cell.cell_type !== 'code' || cell.metadata.raftlab?.role !== 'exercise') continue;
      for (const m of sourceText(cell).matchAll(/^(?:export\s+)?(?:function\s+(\w+)|(?:const|let)\s+(\w+)\s*=)/gm)) names.add((m[1] ?? m[2])!);
    }
  }
  return names;
}

/** Every regular file under `dir`, relative, with its text. */
export function readTree(dir: string): Map<string, string> {
  const files: string[] = [];
  walk(dir, '.', files);
  return new Map(files.map((f) => [path.posix.normalize(f), fs.readFileSync(path.join(dir, f), 'utf8')]));
}

/** Write the students' copy to `dir` and `dir`.zip; refuses to overwrite anything it did not write. */
export async function writeStudentRelease(root: string, target: string): Promise<StudentRelease> {
  const dir = path.resolve(target);
  const zipFile = `${dir}.zip`;
  const checkout = path.resolve(root);
  const insideCheckout = dir === checkout || dir.startsWith(checkout + path.sep);
  if (insideCheckout && !dir.startsWith(path.join(checkout, 'out') + path.sep)) {
    throw new Error(`--student ${target}: write the students' copy outside this checkout (or under out/)`);
  }
  const ours = fs.existsSync(path.join(dir, MARK));
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !ours) throw new Error(`--student ${target}: ${dir} exists and was not written by "npm run release -- --student"; choose another folder`);
  if (fs.existsSync(zipFile) && !ours) throw new Error(`--student ${target}: ${zipFile} exists; move it away first`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const regions = secretRegions(root);
  const sources = studentFiles(root);
  const answerFiles = findAnswerFiles(root, exerciseNames(root), sources);
  const compiled = compileAnswerFiles(root, answerFiles.map((a) => a.file));
  const asSource = new Set(answerFiles.map((a) => a.file));
  const entries: { rel: string; content: Buffer; mode: number }[] = [];
  for (const rel of sources) {
    if (asSource.has(rel)) continue;
    let content: Buffer = fs.readFileSync(path.join(root, rel));
    if (rel === 'package.json') content = Buffer.from(studentPackageJson(content.toString('utf8')));
    entries.push({ rel, content, mode: fs.statSync(path.join(root, rel)).mode & 0o777 });
  }
  for (const [rel, text] of compiled) entries.push({ rel, content: Buffer.from(text), mode: 0o644 });
  entries.sort((a, b) => (a.rel < b.rel ? -1 : 1));
  const files = entries.map((e) => e.rel);
  const zip = new yazl.ZipFile();
  const top = path.basename(dir);
  for (const { rel, content, mode } of entries) {
    const out = path.join(dir, rel);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, content, { mode });
    zip.addBuffer(content, `${top}/${rel}`);
  }
  fs.writeFileSync(path.join(dir, MARK), 'written by "npm run release -- --student": the students\' copy of Raft Lab\n');
  await new Promise<void>((resolve, reject) => {
    const stream = fs.createWriteStream(zipFile);
    zip.outputStream.pipe(stream).on('close', () => resolve()).on('error', reject);
    zip.end();
  });
  const lib = libraryText(root);
  const check = findLeaks(readTree(dir), regions, lib);
  const zipped = new Map([...(await readZip(zipFile))].map(([name, text]) => [name.startsWith(`${top}/`) ? name.slice(top.length + 1) : name, text]));
  const inZip = findLeaks(zipped, regions, lib);
  const leaks = [...check.leaks, ...inZip.leaks];
  if (leaks.length > 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(zipFile, { force: true });
    throw new Error(`the students' copy would hold ${leaks.length} secret region(s), nothing written: ${leaks.slice(0, 5).map((l) => `${l.region.kind} of ${l.region.notebook} ${l.region.cell} in ${l.file}`).join('; ')}`);
  }
  return { dir, zip: zipFile, files, inLibrary: check.inLibrary, compiled: answerFiles };
}
