// The library, compiled once per version of its sources, for the Raft Lab kernel.
//
// tslab compiles (and type-checks, for declarations) every local .ts file a notebook imports, on every kernel
// start: about 3 s of CPU for lib/. Instead, the sources under lib/ and grading/ are compiled once to
// CommonJS and .d.ts files in node_modules/.cache/raftlab-kernel/<hash of the sources>/. The kernel then shows
// tslab's compiler the .d.ts files in place of the .ts files (types for the cells) and runs the compiled .js
// (with the original file names, so __dirname and stack traces are unchanged).
//
// Usage: node jupyter/kernels/raftlab/lib-cache.js   compiles the cache now (the grader does this before a batch)
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');
// What notebooks import (the grader's sandbox shows the kernel these folders and not scripts/, so the key must not
// depend on anything else, or every sandboxed kernel would miss the cache and compile lib/ itself).
const SOURCE_DIRS = ['lib', 'grading'];
const FORMAT = '1';
// The explorer's page runs in the browser (DOM types, its own tsconfig and bundle): never in the kernel.
const NOT_FOR_THE_KERNEL = new Set([path.join(root, 'lib', 'scope', 'page')]);

function tsSources(dir, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && !NOT_FOR_THE_KERNEL.has(full)) tsSources(full, out);
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function loadTs() {
  const tslab = path.join(root, 'node_modules', 'tslab', 'dist', 'main.js');
  return require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.dirname(tslab)] }));
}

/** The compiler options of the project (tsconfig.json), as tslab's compiler takes them. */
function compilerOptions(ts, outDir) {
  return {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    declaration: true,
    noImplicitOverride: true,
    rootDir: root,
    outDir,
  };
}

/** Where the compiled library for the current sources lives (it may not exist yet). */
function cacheDir(ts = loadTs()) {
  const h = crypto.createHash('sha256').update(`${FORMAT}\0${ts.version}\0`);
  for (const dir of SOURCE_DIRS) {
    for (const file of tsSources(path.join(root, dir))) {
      h.update(`${path.relative(root, file)}\0`);
      h.update(fs.readFileSync(file));
    }
  }
  return path.join(root, 'node_modules', '.cache', 'raftlab-kernel', h.digest('hex').slice(0, 24));
}

/**
 * The compiled library for the current sources, compiled now if it is not there yet. Written to a temporary
 * folder and renamed, so kernels starting at the same time never see half a cache.
 */
function ensureCache(ts = loadTs()) {
  const dir = cacheDir(ts);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const rootNames = SOURCE_DIRS.flatMap((d) => tsSources(path.join(root, d)));
  const program = ts.createProgram({ rootNames, options: compilerOptions(ts, tmp) });
  const emitted = [];
  const result = program.emit(undefined, (file, text) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    emitted.push(path.relative(tmp, file));
  });
  if (result.emitSkipped) throw new Error(`Raft Lab kernel: compiling the library failed: ${ts.formatDiagnostics(result.diagnostics.slice(0, 5), { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" })}`);
  fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({ typescript: ts.version, files: emitted.sort() }));
  try {
    fs.renameSync(tmp, dir);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw error; // else another kernel won the race
  }
  pruneOld(dir);
  return dir;
}

/** Keep the newest few caches (other branches or versions), remove the rest. */
function pruneOld(keep) {
  const parent = path.dirname(keep);
  const others = fs.readdirSync(parent)
    .filter((n) => path.join(parent, n) !== keep && !n.endsWith('.tmp') && !n.endsWith('.building'))
    .map((n) => ({ n, t: fs.statSync(path.join(parent, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const o of others.slice(3)) fs.rmSync(path.join(parent, o.n), { recursive: true, force: true });
}

/** p relative to the checkout, with forward slashes, or null outside it. */
function rel(p) {
  const r = path.relative(root, p);
  return r.startsWith('..') || path.isAbsolute(r) ? null : r.split(path.sep).join('/');
}

/**
 * Make `ts` (tslab's compiler) see <cache>/X.d.ts at <root>/X.d.ts instead of <root>/X.ts, and make Node run
 * <cache>/X.js when <root>/X.ts is required.
 */
function install(ts, dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const declarations = new Set(manifest.files.filter((f) => f.endsWith('.d.ts')));
  const compiledSource = (p) => {
    const r = rel(p);
    return r !== null && r.endsWith('.ts') && !r.endsWith('.d.ts') && declarations.has(r.replace(/\.ts$/, '.d.ts')) ? r : null;
  };
  const servedDeclaration = (p) => {
    const r = rel(p);
    return r !== null && r.endsWith('.d.ts') && declarations.has(r) ? path.join(dir, r) : null;
  };
  const { fileExists, readFile } = ts.sys;
  ts.sys.fileExists = (p) => (compiledSource(p) !== null ? false : servedDeclaration(p) !== null ? true : fileExists.call(ts.sys, p));
  ts.sys.readFile = (p, encoding) => {
    const d = servedDeclaration(p);
    return d !== null ? fs.readFileSync(d, 'utf8') : readFile.call(ts.sys, p, encoding);
  };

  installCompiledScripts(dir);
}

/**
 * Make Node run <cache>/X.js when <root>/X.ts is required (no compiler involved: the grader's trusted harness
 * starts this way, without tsx).
 */
function installCompiledScripts(dir) {
  const scripts = compiledScripts(dir);
  const Module = require('node:module');
  const previous = Module._extensions['.ts'];
  Module._extensions['.ts'] = function (module, filename) {
    const r = rel(filename);
    const js = r === null ? null : r.replace(/\.ts$/, '.js');
    if (js !== null && scripts.has(js)) return module._compile(fs.readFileSync(path.join(dir, js), 'utf8'), filename);
    if (previous) return previous(module, filename);
    throw new Error(`Raft Lab kernel: ${filename} is not part of the compiled library (${dir}); restart the kernel`);
  };
}

function compiledScripts(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  return new Set(manifest.files.filter((f) => f.endsWith('.js')));
}

function isReady(dir) {
  return fs.existsSync(path.join(dir, 'manifest.json'));
}

/**
 * Compile the cache in a detached process, for the kernels that start after this one (a kernel whose cache is
 * missing compiles lib/ itself, as tslab does, rather than wait for the whole library to be compiled). At most
 * one such process at a time: a marker file, ignored once older than ten minutes.
 */
function buildInBackground(dir) {
  const marker = `${dir}.building`;
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
  } catch {
    return; // a read-only checkout (the grader's sandbox): this kernel compiles lib/ itself
  }
  try {
    if (Date.now() - fs.statSync(marker).mtimeMs < 10 * 60 * 1000) return;
    fs.rmSync(marker, { force: true });
  } catch {
    // no marker
  }
  try {
    fs.writeFileSync(marker, String(process.pid), { flag: 'wx' });
  } catch {
    return; // another kernel just started it
  }
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, [__filename, '--marker', marker], { detached: true, stdio: 'ignore' });
  child.unref();
}

module.exports = { cacheDir, ensureCache, install, installCompiledScripts, isReady, buildInBackground, loadTs };

if (require.main === module) {
  const started = Date.now();
  const marker = process.argv[2] === '--marker' ? process.argv[3] : null;
  try {
    const dir = ensureCache();
    console.log(JSON.stringify({ dir, ms: Date.now() - started }));
  } finally {
    if (marker) fs.rmSync(marker, { force: true });
  }
}
