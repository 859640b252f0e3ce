/**
 * The tests expert: source modules no test touches, tests that cannot fail, and tests turned off.
 *
 * - untested source: a module with neither `foo.test.ts` (or `.spec`) beside it nor a test file
 *   importing it directly. Modules with no runtime code (only types, imports and re-exports) need
 *   no test and are left out, and so are Devfile.ts and `*.config.ts`. A module exercised only
 *   through another one is still reported, so confidence is medium.
 * - no assertion: an `it`/`test` callback with no call and no `new` at all in its body. Any call
 *   might be a helper that asserts or throws, so only a body that calls nothing is reported: such a
 *   test passes whatever the code does.
 * - skipped: `it.skip`, `describe.skip`, `xit`, `test.todo`, `{ skip: true }`, `{ todo: 'why' }`...
 *   A computed condition (`{ skip: !hasDocker }`) is a decision made at run time and is left alone.
 *
 * Test names follow node:test, Mocha, Jest and Vitest, which share `describe`/`it`/`test`.
 */
import path from 'node:path';
import ts from 'typescript';
import type { Expert, Finding, RepoView } from '../types.js';
import { byPlace, isTestFile, isTooling, isTsSource, moduleGraph, position } from './modules.js';

const EXPERT = 'tests';

export const TESTS_RULES: Record<string, string> = {
  'tests/untested-source': 'A source module with runtime code and no test: no foo.test.ts beside it and no test file imports it.',
  'tests/no-assertion': 'A test whose body calls nothing, so it cannot fail whatever the code does.',
  'tests/skipped-test': 'A test or suite turned off: .skip, .todo, xit/xdescribe, or { skip: true } / { todo: true }.',
};

const TEST_FNS = new Set(['it', 'test', 'specify']);
const SUITE_FNS = new Set(['describe', 'suite', 'context']);
const X_SKIPS = new Set(['xit', 'xtest', 'xdescribe', 'xspecify', 'xcontext']);
const OFF_MODIFIERS = new Set(['skip', 'todo']);

function finding(sf: ts.SourceFile, file: string, pos: number, ruleId: string, message: string, confidence: Finding['confidence'], severity: Finding['severity'] = 'warning'): Finding {
  return { ruleId, expert: EXPERT, message, severity, confidence, file, ...position(sf, pos) };
}

/** `it`, `test.only`, `describe.skip`... as `{ base, modifier }`; undefined for any other call. */
function testCallee(expr: ts.Expression): { base: string; modifier?: string } | undefined {
  if (ts.isIdentifier(expr)) return { base: expr.text };
  if (ts.isPropertyAccessExpression(expr) && ts.isIdentifier(expr.expression)) return { base: expr.expression.text, modifier: expr.name.text };
  return undefined;
}

function offOption(call: ts.CallExpression): string | undefined {
  for (const arg of call.arguments) {
    if (!ts.isObjectLiteralExpression(arg)) continue;
    for (const p of arg.properties) {
      if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name) || !OFF_MODIFIERS.has(p.name.text)) continue;
      const v = p.initializer;
      if (v.kind === ts.SyntaxKind.TrueKeyword || (ts.isStringLiteralLike(v) && v.text !== '')) return `{ ${p.name.text}: ${v.getText()} }`;
    }
  }
  return undefined;
}

function callsAnything(body: ts.Node): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) || ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node)) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(body);
  return found;
}

/** Skipped tests and tests without assertions in one test file. */
export function inspectTestFile(sf: ts.SourceFile, file: string): Finding[] {
  const out: Finding[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const c = testCallee(node.expression);
      const isTest = c && TEST_FNS.has(c.base);
      const isSuite = c && SUITE_FNS.has(c.base);
      if (c && (isTest || isSuite) && (c.modifier === undefined || c.modifier === 'only' || OFF_MODIFIERS.has(c.modifier))) {
        const option = offOption(node);
        if (c.modifier && OFF_MODIFIERS.has(c.modifier)) {
          out.push(finding(sf, file, node.getStart(sf), 'tests/skipped-test', `${c.base}.${c.modifier}: this ${isSuite ? 'suite' : 'test'} does not run`, 'high'));
        } else if (option) {
          out.push(finding(sf, file, node.getStart(sf), 'tests/skipped-test', `${c.base}(..., ${option}): this ${isSuite ? 'suite' : 'test'} does not run`, 'high'));
        } else if (isTest) {
          const fn = node.arguments.find((a): a is ts.ArrowFunction | ts.FunctionExpression => ts.isArrowFunction(a) || ts.isFunctionExpression(a));
          if (fn && !callsAnything(fn.body)) {
            out.push(finding(sf, file, node.getStart(sf), 'tests/no-assertion', `${c.base}(...) calls nothing: it passes whatever the code does; assert on an outcome`, 'medium'));
          }
        }
      } else if (c && X_SKIPS.has(c.base) && c.modifier === undefined) {
        out.push(finding(sf, file, node.getStart(sf), 'tests/skipped-test', `${c.base}: this ${c.base === 'xdescribe' || c.base === 'xcontext' ? 'suite' : 'test'} does not run`, 'high'));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** True when the module holds runtime code: anything beyond imports, re-exports, types and `declare`. */
function hasRuntimeCode(sf: ts.SourceFile): boolean {
  return sf.statements.some((s) => {
    if (ts.isImportDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) return false;
    if (ts.isExportDeclaration(s)) return false;
    if (ts.isModuleDeclaration(s) || (ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword))) return false;
    if (ts.isEmptyStatement(s)) return false;
    return true;
  });
}

const SOURCE_EXT = /\.(?:[cm]?tsx?)$/;
// Configuration read by tools (Devfile.ts, vite.config.ts): checked by loading it, not by a test.
const CONFIG_FILE = /(?:^|\/)(?:Devfile|[\w-]+\.config)\.[cm]?ts$/;

function besideTest(file: string, files: ReadonlySet<string>): boolean {
  const ext = path.posix.extname(file);
  const stem = file.slice(0, -ext.length);
  return ['test', 'spec'].some((kind) => ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs'].some((e) => files.has(`${stem}.${kind}${e}`)));
}

export const testsExpert: Expert = {
  id: EXPERT,
  description: 'Source modules with no test, tests that assert nothing, and skipped or todo tests.',
  rules: TESTS_RULES,
  async detect(repo: RepoView, signal: AbortSignal): Promise<Finding[]> {
    signal.throwIfAborted();
    const graph = moduleGraph(repo);
    signal.throwIfAborted();
    const files = new Set(repo.files);
    const tested = new Set<string>();
    const findings: Finding[] = [];
    for (const [file, { sf, imports }] of graph) {
      if (!isTestFile(file)) continue;
      for (const i of imports) if (i.target) tested.add(i.target);
      findings.push(...inspectTestFile(sf, file));
    }
    for (const [file, { sf }] of graph) {
      if (!SOURCE_EXT.test(file) || !isTsSource(file) || isTestFile(file) || isTooling(file) || CONFIG_FILE.test(file)) continue;
      if (tested.has(file) || besideTest(file, files) || !hasRuntimeCode(sf)) continue;
      findings.push({
        ruleId: 'tests/untested-source', expert: EXPERT, severity: 'note', confidence: 'medium', file, line: 1, column: 1,
        message: `${file} has no test: no ${path.posix.basename(file).replace(/\.[^.]+$/, '.test.ts')} beside it and no test file imports it`,
      });
    }
    return findings.sort(byPlace);
  },
};
