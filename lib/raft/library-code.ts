/**
 * Marks functions written as part of the library (the reference handlers and rules, the bug zoo's variants):
 * they may run in the caller's process, while a student's code runs isolated (lib/course/student-node.ts).
 */
export const LIBRARY_CODE = Symbol.for('raftlab.library-code');

/** Mark every function of `parts` as library code; returns `parts`. */
export function markLibraryCode<T extends object>(parts: T): T {
  for (const f of Object.values(parts)) if (typeof f === 'function') Object.defineProperty(f, LIBRARY_CODE, { value: true });
  return parts;
}

export function isLibraryCode(f: unknown): boolean {
  return typeof f === 'function' && (f as unknown as Record<symbol, unknown>)[LIBRARY_CODE] === true;
}
