/**
 * npm run lint:layers (second half): the source notebooks import only './lib/index' and './grading/index' (and node: builtins).
 * Exits 1 naming each notebook, cell, line and import that breaks the rule.
 */
import * as path from 'node:path';
import { checkNotebookImports, describeImport } from './course/notebook-imports';

const root = path.resolve(__dirname, '..');
const { violations, tolerated } = checkNotebookImports(root);
if (tolerated.length > 0) {
  process.stderr.write(`notebooks: ${tolerated.length} direct import${tolerated.length === 1 ? '' : 's'} allowed by exception:\n`);
  for (const imp of tolerated) process.stderr.write(`  warn ${describeImport(imp)}\n`);
}
for (const imp of violations) process.stderr.write(`  error ${describeImport(imp)}\n`);
if (violations.length > 0) {
  process.stderr.write(`x ${violations.length} notebook import${violations.length === 1 ? '' : 's'} break the layers\n`);
  process.exitCode = 1;
} else {
  process.stderr.write('notebooks: every import is from ./lib/index or ./grading/index\n');
}
