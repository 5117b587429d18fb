// Starts the trusted harness (harness.ts) on the library compiled once per version of its sources
// (jupyter/kernels/raftlab/lib-cache.js), with no TypeScript compiler in the process: tsx would transform every
// file of lib/ again in each sandbox, whose /tmp (tsx's cache) is new every time.
// Usage: node harness-boot.js <compiled library folder>
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
if (!dir || !fs.existsSync(path.join(dir, 'manifest.json'))) {
  process.stderr.write(`harness-boot: no compiled library at ${dir}\n`);
  process.exit(2);
}
require('../../jupyter/kernels/raftlab/lib-cache.js').installCompiledScripts(dir);
require('./harness.ts');
