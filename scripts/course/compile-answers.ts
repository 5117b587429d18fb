/**
 * The library is the course's reference implementation, so some of its files hold the answers to the
 * exercises: `lib/raft/handlers.ts` is Figure 2 written out, `lib/raft/rules.ts` its small rules. The students'
 * copy carries those files compiled instead of as source: minified JavaScript (`X.js`, locals renamed, comments
 * gone) that runs exactly as the source does, and the declarations (`X.d.ts`) that type-check the code importing
 * it. Nothing else changes: every import of `./handlers` resolves to the pair, under tsx, tsc, tslab and esbuild.
 * This is a deterrent, not secrecy (minified code can be read with effort); what keeps grades honest is that
 * scores come only from the grader's own run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as ts from 'typescript';

/** A library file the students' copy carries compiled, and the exercises it answers. */
export interface AnswerFile {
  /** Relative to the checkout, e.g. 'lib/raft/handlers.ts'. */
  readonly file: string;
  /** The exercise functions it exports (`export function NAME`). */
  readonly answers: readonly string[];
}

/** The files under lib/ that export a function of the same name as an exercise's (found, not listed by hand). */
export function findAnswerFiles(root: string, exerciseNames: ReadonlySet<string>, libraryFiles: readonly string[]): AnswerFile[] {
  const out: AnswerFile[] = [];
  for (const file of libraryFiles) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts') || !file.startsWith('lib/')) continue;
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const answers = [...text.matchAll(/^export function (\w+)\s*\(/gm)].map((m) => m[1]!).filter((n) => exerciseNames.has(n));
    if (answers.length > 0) out.push({ file, answers: [...new Set(answers)].sort() });
  }
  return out;
}

/** Each file compiled: `{ 'lib/raft/handlers.js': minified, 'lib/raft/handlers.d.ts': declarations }`. */
export function compileAnswerFiles(root: string, files: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (files.length === 0) return out;
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
  if (config.error) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(config.error.messageText, '\n')}`);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: false, declaration: true, emitDeclarationOnly: true, removeComments: false };
  const program = ts.createProgram(files.map((f) => path.join(root, f)), options);
  for (const file of files) {
    const source = program.getSourceFile(path.join(root, file));
    if (!source) throw new Error(`${file}: not found`);
    const errors = ts.getPreEmitDiagnostics(program, source);
    if (errors.length > 0) throw new Error(`${file}: ${ts.formatDiagnostics(errors.slice(0, 3), { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' })}`);
    let declaration: string | undefined;
    const emitted = program.emit(source, (name, text) => {
      if (name.endsWith('.d.ts')) declaration = text;
    }, undefined, true);
    if (emitted.emitSkipped || declaration === undefined) throw new Error(`${file}: no declarations emitted`);
    const js = esbuild.transformSync(fs.readFileSync(path.join(root, file), 'utf8'), {
      loader: 'ts', format: 'cjs', target: 'es2022', minify: true, legalComments: 'none', sourcefile: file,
    }).code;
    const base = file.replace(/\.ts$/, '');
    const header = `// ${path.basename(file)} of Raft Lab, compiled: its functions are the course's exercises, which you write.\n`;
    out.set(`${base}.js`, `${header}${js}`);
    out.set(`${base}.d.ts`, `${header}${declaration}`);
  }
  return out;
}
