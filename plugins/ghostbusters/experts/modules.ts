/**
 * What the quality, tests and architecture experts share: which files are code, which are tests,
 * and the imports of a module resolved to files of the repository.
 *
 * Imports are read from the syntax tree alone (ts.createSourceFile, no Program): an import graph
 * of a few hundred files takes milliseconds that way. Relative specifiers are resolved the way
 * NodeNext and bundlers do for TypeScript sources (`./x.js` is `./x.ts` on disk), against the
 * RepoView's file list, so nothing outside the view is ever read.
 */
import path from 'node:path';
import ts from 'typescript';
import type { Finding, RepoView } from '../types.js';

const CODE = /\.(?:[cm]?tsx?|[cm]?jsx?)$/;
const TS_CODE = /\.(?:[cm]?ts|tsx)$/;
const DECLARATION = /\.d\.[cm]?ts$/;
const TEST_NAME = /\.(?:test|spec)\.[cm]?[jt]sx?$/;
const TEST_DIRS = new Set(['test', 'tests', '__tests__']);
// Fixture projects hold deliberately broken code for other tests; an expert run over the repository
// holding them must not report their planted problems. Run an expert on the fixture's own folder to see them.
const FIXTURE_DIRS = new Set(['fixtures', '__fixtures__']);
// Code that prints or measures on purpose: console.log is its output, and it needs no test of its own.
const TOOLING_DIRS = new Set(['bench', 'scripts']);

function segments(file: string): string[] {
  return file.split('/').slice(0, -1);
}

export function isFixture(file: string): boolean {
  return segments(file).some((s) => FIXTURE_DIRS.has(s));
}

/** TypeScript sources the experts analyse (declarations and fixtures left out). */
export function isTsSource(file: string): boolean {
  return TS_CODE.test(file) && !DECLARATION.test(file) && !isFixture(file);
}

/** A file of tests or of test helpers: `*.test.ts`, `*.spec.ts`, or anything under test/, tests/, __tests__/. */
export function isTestFile(file: string): boolean {
  return TEST_NAME.test(file) || segments(file).some((s) => TEST_DIRS.has(s));
}

export function isTooling(file: string): boolean {
  return segments(file).some((s) => TOOLING_DIRS.has(s));
}

export function scriptKind(file: string): ts.ScriptKind {
  if (file.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (file.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(file)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

export function parse(repo: RepoView, file: string): ts.SourceFile {
  return ts.createSourceFile(file, repo.read(file), ts.ScriptTarget.Latest, true, scriptKind(file));
}

/** 1-based line and column of an offset, as findings carry them. */
export function position(sf: ts.SourceFile, pos: number): { line: number; column: number } {
  const lc = sf.getLineAndCharacterOfPosition(pos);
  return { line: lc.line + 1, column: lc.character + 1 };
}

export type ImportKind = 'value' | 'type' | 'dynamic';

export interface ModuleImport {
  specifier: string;
  kind: ImportKind;
  /** Offset of the import statement (or the `import(` call), for file:line:col. */
  pos: number;
  /** The repository file it resolves to; undefined for packages and unresolved paths. */
  target?: string;
}

/** Every import, re-export, `import()` and `require()` with a string literal in a module. */
export function importsOf(sf: ts.SourceFile): Omit<ModuleImport, 'target'>[] {
  const out: Omit<ModuleImport, 'target'>[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, kind: importIsTypeOnly(node) ? 'type' : 'value', pos: node.getStart(sf) });
      return;
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = node.isTypeOnly || (!!node.exportClause && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      out.push({ specifier: node.moduleSpecifier.text, kind: typeOnly ? 'type' : 'value', pos: node.getStart(sf) });
      return;
    }
    if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push({ specifier: node.moduleReference.expression.text, kind: node.isTypeOnly ? 'type' : 'value', pos: node.getStart(sf) });
      return;
    }
    if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteralLike(node.arguments[0])) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        out.push({ specifier: node.arguments[0].text, kind: 'dynamic', pos: node.getStart(sf) });
      } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
        out.push({ specifier: node.arguments[0].text, kind: 'value', pos: node.getStart(sf) });
      }
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ specifier: node.argument.literal.text, kind: 'type', pos: node.getStart(sf) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function importIsTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x.js'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const b = clause.namedBindings;
  return !!b && ts.isNamedImports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
}

const EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.d.ts', '.js', '.jsx', '.mjs', '.cjs'];
const JS_TO_TS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.jsx': ['.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] };

/** The repository file a relative specifier names, or undefined (a package, or nothing there). */
export function resolveRelative(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../') && specifier !== '.' && specifier !== '..') return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  if (base.startsWith('../')) return undefined;
  const ext = path.posix.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  const candidates = [...(JS_TO_TS[ext] ?? []).map((e) => stem + e), base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => `${base}/index${e}`)];
  return candidates.find((c) => files.has(c));
}

/** The imports of every code file in the view (fixtures left out), resolved where relative. */
export function moduleGraph(repo: RepoView): Map<string, { sf: ts.SourceFile; imports: ModuleImport[] }> {
  const files = new Set(repo.files);
  const graph = new Map<string, { sf: ts.SourceFile; imports: ModuleImport[] }>();
  for (const file of repo.files) {
    if (!CODE.test(file) || DECLARATION.test(file) || isFixture(file)) continue;
    const sf = parse(repo, file);
    graph.set(file, { sf, imports: importsOf(sf).map((i) => ({ ...i, target: resolveRelative(file, i.specifier, files) })) });
  }
  return graph;
}

/** The package a bare specifier names: `react/jsx-runtime` -> `react`, `@scope/pkg/x` -> `@scope/pkg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Findings in reading order: file, line, column, rule. */
export function byPlace(a: Finding, b: Finding): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId);
}
