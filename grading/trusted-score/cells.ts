import * as ts from 'typescript';

/**
 * Notebook cells (TypeScript, tslab style: top-level await, each cell sees the names of earlier cells) turned
 * into JavaScript the harness can run one cell at a time: top-level declarations become `var`s (so they outlive
 * their cell's block and later cells see them), function declarations are hoisted to the start of their cell,
 * imports become `require` calls. No type check (transpileModule).
 */

export class CellSyntaxError extends Error {}

function diagnosticText(d: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (d.file && d.start !== undefined) {
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `line ${line + 1}, column ${character + 1}: ${text}`;
  }
  return text;
}

const noExport = (mods: readonly ts.ModifierLike[] | undefined) =>
  mods?.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword && m.kind !== ts.SyntaxKind.DeclareKeyword && !ts.isDecorator(m)) as ts.Modifier[] | undefined;

function varStatement(f: ts.NodeFactory, name: string | ts.BindingName, init: ts.Expression): ts.VariableStatement {
  return f.createVariableStatement(undefined, f.createVariableDeclarationList([f.createVariableDeclaration(name, undefined, undefined, init)], ts.NodeFlags.None));
}

let importCounter = 0;

function importToVars(f: ts.NodeFactory, st: ts.ImportDeclaration): ts.Statement[] {
  const clause = st.importClause;
  if (clause?.isTypeOnly) return [];
  const req = f.createCallExpression(f.createIdentifier('require'), undefined, [st.moduleSpecifier]);
  if (!clause) return [f.createExpressionStatement(req)];
  const tmp = `__import${importCounter++}`;
  const out: ts.Statement[] = [varStatement(f, tmp, req)];
  const mod = f.createIdentifier(tmp);
  if (clause.name) {
    // default import: the CommonJS interop of tsc/tsx
    out.push(varStatement(f, clause.name.text, f.createConditionalExpression(
      f.createLogicalAnd(mod, f.createPropertyAccessExpression(mod, '__esModule')), undefined,
      f.createPropertyAccessExpression(mod, 'default'), undefined, mod)));
  }
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) out.push(varStatement(f, bindings.name.text, mod));
  if (bindings && ts.isNamedImports(bindings)) {
    for (const el of bindings.elements) {
      if (el.isTypeOnly) continue;
      out.push(varStatement(f, el.name.text, f.createPropertyAccessExpression(mod, (el.propertyName ?? el.name).text)));
    }
  }
  return out;
}

function hoistTopLevel(context: ts.TransformationContext): ts.Transformer<ts.SourceFile> {
  const f = context.factory;
  return (sf) => {
    const hoisted: ts.Statement[] = [];
    const body: ts.Statement[] = [];
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st)) body.push(...importToVars(f, st));
      else if (ts.isFunctionDeclaration(st)) {
        if (!st.body || !st.name) continue; // an overload signature
        hoisted.push(varStatement(f, st.name.text, f.createFunctionExpression(noExport(st.modifiers), st.asteriskToken, st.name, st.typeParameters, st.parameters, st.type, st.body)));
      } else if (ts.isClassDeclaration(st) && st.name) {
        body.push(varStatement(f, st.name.text, f.createClassExpression(noExport(st.modifiers), st.name, st.typeParameters, st.heritageClauses, st.members)));
      } else if (ts.isVariableStatement(st)) {
        if (st.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)) continue;
        body.push(f.createVariableStatement(noExport(st.modifiers), f.createVariableDeclarationList(st.declarationList.declarations, ts.NodeFlags.None)));
      } else if (ts.isExportDeclaration(st) || ts.isExportAssignment(st)) {
        continue;
      } else body.push(st);
    }
    return f.updateSourceFile(sf, [...hoisted, ...body]);
  };
}

/** One cell's TypeScript as JavaScript statements (see the module comment). Throws CellSyntaxError. */
export function cellToScript(source: string, where: string): string {
  const out = ts.transpileModule(source, {
    fileName: 'cell.ts',
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, isolatedModules: true, sourceMap: false, removeComments: false },
    transformers: { before: [hoistTopLevel] },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) throw new CellSyntaxError(`${where}: ${errors.map(diagnosticText).join('; ')}`);
  return out.outputText.replace(/^export \{\};?\s*$/m, '');
}

/** The functions a cell defines at top level (function declarations, and variables holding a function). */
export function functionsDefined(source: string): string[] {
  const sf = ts.createSourceFile('cell.ts', source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const names: string[] = [];
  for (const st of sf.statements) {
    if (ts.isFunctionDeclaration(st) && st.name && st.body) names.push(st.name.text);
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) names.push(d.name.text);
      }
    }
  }
  return [...new Set(names)];
}
