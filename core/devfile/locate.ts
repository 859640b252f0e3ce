/**
 * Maps a field path (`services.api.port`) to LINE:COL in the Devfile's source, so a validation
 * message points at the text the author wrote rather than at the evaluated value. TypeScript's
 * parser is loaded only here, and only when there is something to locate: a valid Devfile never
 * pays for it.
 */
import type * as TS from 'typescript';
import type { ConfigIssue } from '../errors.js';
import { codeFrame } from './frame.js';
import type { ValidationIssue } from './issues.js';

type TypeScript = typeof TS;

/** Adds `location` (with a code frame) to each issue. `file` is the name the messages show. */
export async function locateIssues(source: string, file: string, issues: readonly ValidationIssue[]): Promise<ConfigIssue[]> {
  const ts = await loadTypeScript();
  if (!ts) return issues.map(({ path, message }) => ({ path, message }));
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, scriptKind(ts, file));
  const finder = new Finder(ts, sf);
  const root = finder.configObject();
  return issues.map(({ path, message, key }) => {
    const segments = path === '' ? [] : path.split('.');
    const node = root ? finder.walk(root, key === undefined ? segments : [...segments, key], key !== undefined) : sf;
    const { line, character } = sf.getLineAndCharacterOfPosition(node === sf ? 0 : node.getStart(sf));
    return { path, message, location: { file, line: line + 1, column: character + 1, frame: codeFrame(source, line + 1, character + 1) } };
  });
}

/** The 1-based position of `path` in `source`, or undefined when TypeScript is not installed. */
export async function locatePath(source: string, file: string, path: string, key?: string): Promise<{ line: number; column: number } | undefined> {
  const [issue] = await locateIssues(source, file, [{ path, message: '', key }]);
  return issue.location && { line: issue.location.line, column: issue.location.column };
}

async function loadTypeScript(): Promise<TypeScript | undefined> {
  try {
    const mod = (await import('typescript')) as TypeScript & { default?: TypeScript };
    return mod.default ?? mod;
  } catch {
    return undefined; // the messages still name the field, only without LINE:COL
  }
}

function scriptKind(ts: TypeScript, file: string): TS.ScriptKind {
  if (/\.[cm]?js$/.test(file)) return ts.ScriptKind.JS;
  if (/\.tsx$/.test(file)) return ts.ScriptKind.TSX;
  return ts.ScriptKind.TS;
}

class Finder {
  /** Identifiers followed so far; bounded so `const a = b; const b = a` cannot loop. */
  private follows = 0;

  constructor(private readonly ts: TypeScript, private readonly sf: TS.SourceFile) {}

  /** The object literal the Devfile exports, or the closest expression standing for it. */
  configObject(): TS.Node | undefined {
    const { ts, sf } = this;
    for (const st of sf.statements) {
      if (ts.isExportAssignment(st) && !st.isExportEquals) return this.resolve(st.expression);
      if (ts.isFunctionDeclaration(st) && hasModifier(ts, st, ts.SyntaxKind.DefaultKeyword)) return this.returned(st);
    }
    for (const st of sf.statements) {
      if (!ts.isVariableStatement(st) || !hasModifier(ts, st, ts.SyntaxKind.ExportKeyword)) continue;
      const decl = st.declarationList.declarations.find((d) => ts.isIdentifier(d.name) && d.name.text === 'devfile');
      if (decl?.initializer) return this.resolve(decl.initializer);
    }
    const call = this.find(sf, (n) => ts.isCallExpression(n) && calleeName(ts, n.expression) === 'defineDevfile');
    return call && (call as TS.CallExpression).arguments[0] ? this.resolve((call as TS.CallExpression).arguments[0]) : undefined;
  }

  /**
   * Follows `segments` through object and array literals. Returns the deepest node reached: the
   * value of the last property found, or its name when `atName` (an unknown key is its name).
   */
  walk(root: TS.Node, segments: readonly string[], atName: boolean): TS.Node {
    const { ts } = this;
    let node = root;
    for (let i = 0; i < segments.length; i++) {
      const value = this.resolve(node);
      const last = i === segments.length - 1;
      if (ts.isObjectLiteralExpression(value)) {
        const prop = this.property(value, segments[i]);
        if (!prop) return value;
        if (last && atName && prop.name) return prop.name;
        node = ts.isPropertyAssignment(prop) ? prop.initializer : prop.name ?? prop;
      } else if (ts.isArrayLiteralExpression(value) && /^\d+$/.test(segments[i])) {
        const index = Number(segments[i]);
        // A spread before the element shifts indexes by an unknown amount.
        if (value.elements.slice(0, index + 1).some((e) => ts.isSpreadElement(e)) || index >= value.elements.length) return value;
        node = value.elements[index];
      } else {
        return value;
      }
    }
    return node;
  }

  /** The last property with this name wins, as it does when the object is evaluated. */
  private property(obj: TS.ObjectLiteralExpression, name: string): TS.ObjectLiteralElementLike | undefined {
    const { ts } = this;
    for (let i = obj.properties.length - 1; i >= 0; i--) {
      const prop = obj.properties[i];
      if (ts.isSpreadAssignment(prop) || !prop.name) continue;
      const key = ts.isComputedPropertyName(prop.name) ? prop.name.expression : prop.name;
      if ((ts.isIdentifier(key) || ts.isStringLiteralLike(key) || ts.isNumericLiteral(key)) && propertyText(ts, key) === name) return prop;
    }
    return undefined;
  }

  /** Sees through wrappers to the expression that produces the value. */
  private resolve(node: TS.Node): TS.Node {
    const { ts } = this;
    for (;;) {
      if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node) ||
        ts.isNonNullExpression(node) || ts.isTypeAssertionExpression(node)) {
        node = node.expression;
      } else if (ts.isCallExpression(node) && calleeName(ts, node.expression) === 'defineDevfile' && node.arguments[0]) {
        node = node.arguments[0];
      } else if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) {
        return this.returned(node);
      } else if (ts.isIdentifier(node) && this.follows < 8) {
        const target = this.declaration(node.text);
        if (!target) return node;
        this.follows++;
        if (ts.isFunctionDeclaration(target)) return this.returned(target);
        node = target;
      } else {
        return node;
      }
    }
  }

  /** What a function returns: its expression body, or the last `return` with a value. */
  private returned(fn: TS.FunctionLikeDeclaration): TS.Node {
    const { ts } = this;
    if (!fn.body) return fn;
    if (!ts.isBlock(fn.body)) return this.resolve(fn.body);
    let found: TS.Expression | undefined;
    const visit = (n: TS.Node): void => {
      if (ts.isReturnStatement(n) && n.expression) found = n.expression;
      else if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
    };
    ts.forEachChild(fn.body, visit);
    return found ? this.resolve(found) : fn;
  }

  /** The initializer of `const name = ...` or a `function name() {}`, first one in the file. */
  private declaration(name: string): TS.Expression | TS.FunctionDeclaration | undefined {
    const { ts } = this;
    const decl = this.find(this.sf, (n) =>
      (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === name && n.initializer !== undefined) ||
      (ts.isFunctionDeclaration(n) && n.name?.text === name));
    if (!decl) return undefined;
    return ts.isVariableDeclaration(decl) ? decl.initializer : (decl as TS.FunctionDeclaration);
  }

  private find(root: TS.Node, test: (n: TS.Node) => boolean): TS.Node | undefined {
    let found: TS.Node | undefined;
    const visit = (n: TS.Node): void => {
      if (found) return;
      if (test(n)) found = n;
      else this.ts.forEachChild(n, visit);
    };
    visit(root);
    return found;
  }
}

function propertyText(ts: TypeScript, key: TS.Identifier | TS.StringLiteralLike | TS.NumericLiteral): string {
  return ts.isNumericLiteral(key) ? String(Number(key.text)) : key.text;
}

function calleeName(ts: TypeScript, callee: TS.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

function hasModifier(ts: TypeScript, node: TS.Node, kind: TS.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}
