import { execFile } from 'node:child_process';
import * as path from 'node:path';

const libCache = path.join(__dirname, '..', 'jupyter', 'kernels', 'raftlab', 'lib-cache.js');

/**
 * Compile the library for the notebook kernel now (once per version of its sources; see lib-cache.js), so that
 * the kernels of a batch start from the cache instead of each compiling it. Runs in a child process: it can take
 * many seconds the first time, and a queue worker must keep renewing its job locks meanwhile.
 */
export function precompileKernelLibrary(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [libCache], (error, _stdout, stderr) => (error ? reject(new Error(`compiling the library for the kernel failed: ${stderr.trim() || error.message}`)) : resolve()));
  });
}
