import { pathToFileURL } from 'node:url';

/**
 * Load an ESM-only package (vega, vega-lite) from CommonJS code.
 *
 * TypeScript (and tslab, which compiles every cell and module to CommonJS) turns `import()` into `require()`,
 * which cannot load an ES module with top-level await (ERR_REQUIRE_ASYNC_MODULE). A function built at run time
 * keeps a real dynamic import; the package is resolved from this checkout's node_modules first.
 */
const realImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

const cache = new Map<string, Promise<unknown>>();

export function importEsm<T>(name: string): Promise<T> {
  let loading = cache.get(name);
  if (!loading) {
    loading = realImport(pathToFileURL(require.resolve(name)).href);
    cache.set(name, loading);
  }
  return loading as Promise<T>;
}
