import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yazl from 'yazl';

/**
 * The manual's submission folder `<SRN>/`, assembled from what the student made, then zipped:
 *
 *   <SRN>/1.sh 2.sh 3.sh                     the node programs (the commands of the three terminals)
 *   <SRN>/task2_node1..3.txt, task3_node1..3.txt
 *   <SRN>/127.0.0.1_800N.log|.storage|.state_machine   every node's files from the real Task 3 run
 *   <SRN>/task2/127.0.0.1_800N.*              the Task 2 run's node files, when it ran in another folder
 *   <SRN>/raft.js                            the implementation the nodes ran (--impl)
 *   <SRN>/NN-name.ipynb                      the notebooks
 *   <SRN>/plots/*.svg                        the plots, in place of the manual's screenshots
 *
 * Nothing is moved or changed where it came from: files are copied. Each assembly goes to a fresh folder
 * (out/hand-in/1/, 2/, ...), so an earlier hand-in is never overwritten.
 */
export interface HandInOptions {
  /** The student's registration number: the folder's and the zip's name. */
  readonly srn: string;
  /** Folder of the real Task 2 run (task2_node*.txt, its node files). */
  readonly task2Dir: string;
  /** Folder of the real Task 3 run (task3_node*.txt, its node files). */
  readonly task3Dir: string;
  /** The implementation module the nodes ran (what saveImpl wrote). */
  readonly impl: string;
  /** The notebooks to include. Default: notebooks/NN-*.ipynb (the student versions, as saved). */
  readonly notebooks?: readonly string[];
  /** SVG files to include under plots/. */
  readonly plots?: readonly string[];
  /** Parent folder of the numbered assemblies. Default out/hand-in. */
  readonly out?: string;
}

export interface HandIn {
  readonly folder: string;
  readonly zip: string;
  /** Paths inside <SRN>/, sorted. */
  readonly files: readonly string[];
  /** What the manual asks for that was not found (the grader will say so too). */
  readonly missing: readonly string[];
}

export class HandInError extends Error {
  override readonly name = 'HandInError';
}

const nodeFile = /^127\.0\.0\.1_\d{1,5}\.(?:log|storage|state_machine)$/;
const notebookFile = /^\d\d-[a-z0-9-]+\.ipynb$/;

function listDir(dir: string, what: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new HandInError(`${what} ${dir} is not a folder: give the folder you ran it in`);
  return fs.readdirSync(dir).sort();
}

function nextFolder(parent: string): string {
  fs.mkdirSync(parent, { recursive: true });
  for (let n = 1; ; n++) {
    const dir = path.join(parent, String(n));
    try {
      fs.mkdirSync(dir); // fails if it exists: never reuse an earlier assembly
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function zipFolder(folder: string, prefix: string, names: readonly string[], zipPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const name of names) zip.addFile(path.join(folder, name), `${prefix}/${name}`);
    zip.end();
    const output = fs.createWriteStream(zipPath, { flags: 'wx' });
    output.on('error', reject);
    output.on('close', () => resolve());
    zip.outputStream.on('error', reject).pipe(output);
  });
}

export async function assembleHandIn(options: HandInOptions): Promise<HandIn> {
  const { srn } = options;
  if (typeof srn !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(srn) || srn.endsWith('.zip')) {
    throw new HandInError(`srn ${JSON.stringify(srn)}: use your registration number (letters, digits, - _ .), e.g. 'PES1UG21CS001'`);
  }
  if (!fs.existsSync(options.impl) || !fs.statSync(options.impl).isFile()) {
    throw new HandInError(`impl ${options.impl}: no such file; save your Raft with saveImpl(...) first and pass the path it printed`);
  }
  const task2 = listDir(options.task2Dir, 'task2Dir');
  const task3 = listDir(options.task3Dir, 'task3Dir');
  const sameRun = path.resolve(options.task2Dir) === path.resolve(options.task3Dir);
  const notebooks = options.notebooks ?? fs.readdirSync('notebooks').filter((n) => notebookFile.test(n)).sort().map((n) => path.join('notebooks', n));
  for (const nb of notebooks) if (!notebookFile.test(path.basename(nb))) throw new HandInError(`notebook ${nb}: the grader reads notebooks named NN-name.ipynb`);

  const copies = new Map<string, string>(); // name inside <SRN>/ -> source
  const add = (name: string, source: string) => {
    if (copies.has(name)) throw new HandInError(`two files would be ${srn}/${name}: ${copies.get(name)} and ${source}`);
    copies.set(name, source);
  };
  for (const name of task2) if (/^task2_node\d\.txt$/.test(name)) add(name, path.join(options.task2Dir, name));
  for (const name of task3) if (/^task3_node\d\.txt$/.test(name)) add(name, path.join(options.task3Dir, name));
  for (const name of task3) if (nodeFile.test(name)) add(name, path.join(options.task3Dir, name));
  if (!sameRun) for (const name of task2) if (nodeFile.test(name)) add(`task2/${name}`, path.join(options.task2Dir, name));
  add('raft.js', options.impl);
  for (const nb of notebooks) add(path.basename(nb), nb);
  for (const svg of options.plots ?? []) {
    if (!svg.endsWith('.svg')) throw new HandInError(`plot ${svg}: plots go in as SVG files (saveSvg writes them)`);
    add(`plots/${path.basename(svg)}`, svg);
  }
  for (const [name, source] of copies) {
    if (!fs.existsSync(source) || !fs.statSync(source).isFile()) throw new HandInError(`${source} (for ${srn}/${name}) is not a file`);
  }

  const missing: string[] = [];
  for (const n of [1, 2, 3]) {
    for (const t of [2, 3]) if (!copies.has(`task${t}_node${n}.txt`)) missing.push(`task${t}_node${n}.txt`);
  }
  if (![...copies.keys()].some((n) => nodeFile.test(n))) missing.push(`the node files (127.0.0.1_*.log, .storage, .state_machine) in ${options.task3Dir}`);

  const parent = nextFolder(options.out ?? path.join('out', 'hand-in'));
  const folder = path.join(parent, srn);
  fs.mkdirSync(folder);
  const implRelative = path.relative(process.cwd(), path.resolve(options.impl));
  for (const n of [1, 2, 3]) {
    add(`${n}.sh`, '');
    fs.writeFileSync(
      path.join(folder, `${n}.sh`),
      `# node ${n} of the lab, in its own terminal, from the Raft Lab folder (submitted as raft.js: ${implRelative})\n` +
        `npm run task2 -- --id ${n} --impl ${JSON.stringify(implRelative)}\n` +
        `npm run task3 -- --id ${n} --impl ${JSON.stringify(implRelative)}\n`,
      { flag: 'wx' },
    );
  }
  for (const [name, source] of copies) {
    if (source === '') continue;
    fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
    fs.copyFileSync(source, path.join(folder, name), fs.constants.COPYFILE_EXCL);
  }
  const files = [...copies.keys()].sort();
  const zip = path.join(parent, `${srn}.zip`);
  await zipFolder(folder, srn, files, zip);
  return { folder, zip, files, missing };
}
