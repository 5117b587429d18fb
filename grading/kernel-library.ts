import { execFile } from 'node:child_process';
import * as path from 'node:path';

const libCache = path.join(__dirname, '..', 'jupyter', 'kernels', 'raftlab', 'lib-cache.js');

/**
 * Compile the library for the notebook kernel now (once per version of its sources; see lib-cache.js), so that
 * the kernels of a batch start from the cache instead of each compiling it; the grader's trusted harness runs on
 * it too. Resolves to the compiled library's folder. Runs in a child process: it can take many seconds the first
 * time, and a queue worker must keep renewing its job locks meanwhile.
 */
export function precompileKernelLibrary(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [libCache], (error, stdout, stderr) => {
      if (error) return reject(new Error(`compiling the library for the kernel failed: ${stderr.trim() || error.message}`));
      try {
        resolve(String((JSON.parse(stdout) as { dir: unknown }).dir));
      } catch {
        reject(new Error(`compiling the library for the kernel: ${libCache} printed no folder: ${stdout.slice(0, 200)}`));
      }
    });
  });
}
