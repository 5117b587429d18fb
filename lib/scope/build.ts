/**
 * Bundles the explorer (lib/scope/page/main.ts with the core and the simulator it runs) for the browser with
 * esbuild: one self-contained script, written to out/scope/ and kept in memory for the notebooks' scope().
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const bundleFile = path.join(repoRoot, 'out', 'scope', 'scope.js');
const entry = path.join(__dirname, 'page', 'main.ts');

let cached: { script: string; stamp: string } | null = null;

/** Newest modification time among the sources the bundle is made from (a cheap staleness check). */
function sourcesStamp(): string {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else if (name.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const dir of ['raft', 'sim', 'scope', 'fuzz']) walk(path.join(repoRoot, 'lib', dir));
  return String(newest);
}

export interface BrowserBuildResult {
  readonly ok: boolean;
  readonly errors: readonly string[];
  readonly code: string;
}

/** Bundle `entries` for platform 'browser' with no Node built-ins allowed; errors name the file and line. */
export async function buildForBrowser(entries: readonly string[], options: { minify?: boolean } = {}): Promise<BrowserBuildResult> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [...entries],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['es2020'],
    minify: options.minify ?? true,
    write: false,
    logLevel: 'silent',
    outdir: path.join(repoRoot, 'out', 'scope'),
    // A Node built-in reached from the page is an error, never a silent shim.
    plugins: [{
      name: 'no-node-builtins',
      setup(build) {
        build.onResolve({ filter: /^(node:|fs$|path$|os$|crypto$|child_process$|worker_threads$|dgram$|net$|http$|events$|util$|stream$)/ }, (args) => ({
          errors: [{ text: `Node-only import ${JSON.stringify(args.path)} in ${path.relative(repoRoot, args.importer)}: the browser bundle cannot use it` }],
        }));
      },
    }],
  }).catch((error: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => ({ error }));
  if ('error' in result) {
    const errors = (result.error.errors ?? [{ text: String(result.error), location: null }]).map((e) =>
      e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text);
    return { ok: false, errors, code: '' };
  }
  return { ok: true, errors: [], code: result.outputFiles.map((f) => f.text).join('\n') };
}

/** The explorer's script: built when missing or older than its sources, written to out/scope/scope.js. */
export async function scopeBundle(): Promise<string> {
  const stamp = sourcesStamp();
  if (cached && cached.stamp === stamp) return cached.script;
  const built = await buildForBrowser([entry]);
  if (!built.ok) throw new Error(`building Raft Scope failed:\n${built.errors.join('\n')}`);
  fs.mkdirSync(path.dirname(bundleFile), { recursive: true });
  fs.writeFileSync(bundleFile, built.code);
  cached = { script: built.code, stamp };
  return built.code;
}
