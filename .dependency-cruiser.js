/**
 * The layers the code keeps (npm run lint:layers, part of npm test). Imports point down only:
 *
 *   lib/raft (+ lib/errors.ts)            the core: imports nothing else, no Node builtin (runs in a browser)
 *   lib/sim, lib/net                      import lib/raft only
 *   lib/api                               imports lib/raft, lib/sim, lib/net
 *   lib/lab, lib/viz, lib/fuzz, lib/check, lib/scope, lib/course
 *                                         import the layers below and each other, except lib/course, the
 *                                         notebooks' helpers, which is the top of lib: nothing else in lib uses it
 *   lib/index.ts                          the notebooks' one entry point: nothing in lib imports it
 *   grading                               imports lib (and grading)
 *   scripts, bench                        import lib and grading, not each other
 *
 * Type-only imports count (tsPreCompilationDeps). No circular import anywhere.
 */
const PROJECT = '^(lib|grading|scripts|bench|test|notebooks)/';

/** A rule forbidding imports from `from` to project files under `to` but not under `allowed`. */
function onlyDown(name, comment, from, allowed) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: PROJECT, pathNot: allowed } };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Two modules import each other (directly or through others): move what both need into a module below them.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'raft-runs-in-a-browser',
      comment: 'lib/raft is the core and runs in a browser: no Node builtin (fs, path, crypto, ...). Pass what it needs in from a driver (lib/sim, lib/net).',
      severity: 'error',
      from: { path: '^lib/(raft/|errors\\.ts$)' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'raft-has-no-packages',
      comment: 'lib/raft is the core and imports no package.',
      severity: 'error',
      from: { path: '^lib/raft/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    onlyDown('raft-imports-only-raft', 'lib/raft (and lib/errors.ts beside it) import only lib/raft.',
      '^lib/(raft/|errors\\.ts$)', '^lib/raft/'),
    onlyDown('sim-imports-only-raft', 'lib/sim imports only lib/raft (and lib/errors.ts).',
      '^lib/sim/', '^lib/(raft/|sim/|errors\\.ts$)'),
    onlyDown('net-imports-only-raft', 'lib/net imports only lib/raft (and lib/errors.ts); what lib/net and lib/api both need belongs in lib/raft.',
      '^lib/net/', '^lib/(raft/|net/|errors\\.ts$)'),
    onlyDown('api-imports-raft-sim-net', 'lib/api imports only lib/raft, lib/sim and lib/net.',
      '^lib/api/', '^lib/(raft/|sim/|net/|api/|errors\\.ts$)'),
    onlyDown('tools-import-lower-layers', 'lib/lab, lib/viz, lib/fuzz, lib/check and lib/scope import lib/raft, lib/sim, lib/net, lib/api and each other; lib/course is above them.',
      '^lib/(lab|viz|fuzz|check|scope)/', '^lib/(raft|sim|net|api|lab|viz|fuzz|check|scope)/|^lib/errors\\.ts$'),
    onlyDown('course-imports-lib', 'lib/course imports lib only (not lib/index.ts, which is for notebooks).',
      '^lib/course/', '^lib/(raft|sim|net|api|lab|viz|fuzz|check|scope|course)/|^lib/errors\\.ts$'),
    onlyDown('lib-index-imports-lib', 'lib/index.ts re-exports lib only.',
      '^lib/index\\.ts$', '^lib/'),
    onlyDown('grading-imports-lib-only', 'grading imports lib and grading only (never scripts, bench or tests): move what scripts and grading share into grading or lib.',
      '^grading/', '^(lib|grading)/'),
    onlyDown('scripts-import-lib-and-grading', 'scripts import lib, grading and scripts only.',
      '^scripts/', '^(lib|grading|scripts)/'),
    onlyDown('bench-imports-lib-and-grading', 'bench imports lib, grading and bench only: an experiment a notebook also runs lives in lib.',
      '^bench/', '^(lib|grading|bench)/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|out|artifacts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
