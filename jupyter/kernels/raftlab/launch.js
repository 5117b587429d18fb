// Starts tslab for Raft Lab with the repository root as working directory, so notebooks can
// `import { Cluster } from './lib'` (tslab only compiles .ts files under its working directory).
// Usage (from kernel.json): node launch.js <connection file>
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..', '..', '..');
const connectionFile = path.resolve(process.argv[2] || '');
const tslab = path.join(root, 'node_modules', 'tslab', 'dist', 'main.js');
if (!process.argv[2]) {
  console.error('Raft Lab kernel: usage: node launch.js <connection file>');
  process.exit(2);
}
if (!fs.existsSync(tslab)) {
  console.error(`Raft Lab kernel: ${tslab} is missing; run "npm install" in ${root} first.`);
  process.exit(2);
}
process.chdir(root);

// tslab ignores tsconfig.json and compiles without `strict`, which breaks the narrowing of lib/'s
// discriminated unions (`if (!r.ok) r.conflictIndex`). Give its compiler the project's settings.
const tsPath = require.resolve('@tslab/typescript-for-tslab', { paths: [path.dirname(tslab)] });
const ts = require(tsPath);
const descriptors = Object.getOwnPropertyDescriptors(ts);
descriptors.createWatchCompilerHost = {
  enumerable: true,
  value(rootFiles, options, ...rest) {
    const project = { strict: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'] };
    return ts.createWatchCompilerHost(rootFiles, { ...options, ...project }, ...rest);
  },
};
// The library's own files are type-checked by `npm test` (tsc, with the project's settings); checking them again
// for every cell that imports them costs seconds per notebook. Report only the cell's own diagnostics.
if (process.env.RAFTLAB_CHECK_LIBRARY !== '1' && typeof ts.getPreEmitDiagnosticsOfFiles === 'function') {
  descriptors.getPreEmitDiagnosticsOfFiles = {
    enumerable: true,
    value(program, files, ...rest) {
      return ts.getPreEmitDiagnosticsOfFiles(program, files.slice(0, 1), ...rest);
    },
  };
}
// tslab watches (polls) every imported .ts file and recompiles on change: about 5% of a core for an idle kernel.
// That is only useful while editing lib/, so it is off unless RAFTLAB_WATCH=1 asks for it. Without watching,
// the kernel runs the library compiled once per version of its sources (lib-cache.js) instead of compiling
// lib/ again at every start.
const watch = process.env.RAFTLAB_WATCH === '1' || process.env.RAFTLAB_KERNEL_WATCH === '1';
if (!watch) {
  ts.sys.watchFile = () => ({ close() {} });
  ts.sys.watchDirectory = () => ({ close() {} });
  if (process.env.RAFTLAB_PRECOMPILED !== '0') {
    try {
      const libCache = require('./lib-cache.js');
      const dir = libCache.cacheDir(ts);
      if (libCache.isReady(dir)) libCache.install(ts, dir);
      else libCache.buildInBackground(dir);
    } catch (error) {
      // The cache is a speed-up only: without it tslab compiles lib/ itself.
      console.error(`Raft Lab kernel: no compiled library (${error && error.message}); compiling lib/ instead`);
    }
  }
}
require.cache[tsPath].exports = Object.defineProperties({}, descriptors);
process.argv = [process.argv[0], path.join(root, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', connectionFile];
require(tslab).main();
