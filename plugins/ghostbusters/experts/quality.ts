/**
 * The code-quality expert: the TypeScript compiler's own diagnostics, plus a few lint patterns
 * read off the syntax tree.
 *
 * One Program over the repository, built as `tsc -p tsconfig.json --noEmit` would build it (the
 * repository's tsconfig.json when there is one, else strict NodeNext defaults over every .ts/.tsx),
 * so its diagnostics are exactly the ones the user's own type check gives. `noUnusedLocals` is
 * switched on for this Program only, to find unused imports without a second pass; the other
 * "unused" diagnostics that switch brings are dropped unless the project asked for them.
 *
 * The lint rules walk each file's tree once and never ask the type checker, so they cost a parse
 * (shared with the Program) and a walk. Test files (outside the Program when tsconfig excludes
 * them) are parsed on their own.
 */
import path from 'node:path';
import ts from 'typescript';
import type { Expert, Finding, RepoView, Severity } from '../types.js';
import { byPlace, isFixture, isTestFile, isTooling, isTsSource, parse, position } from './modules.js';

const EXPERT = 'quality';

export const QUALITY_RULES: Record<string, string> = {
  'quality/ts<code>': 'A TypeScript compiler diagnostic (the code is the compiler\'s: quality/ts2322 is TS2322), as tsc --noEmit reports it.',
  'quality/unused-import': 'An import whose bindings are never used (the compiler\'s noUnusedLocals check, on for this run only).',
  'quality/no-explicit-any': 'An explicit `any` type turns type checking off for everything it touches; use `unknown` and narrow.',
  'quality/eqeqeq': '`==` or `!=` coerces its operands (`0 == \'\'` is true); use `===` / `!==` (comparisons with `null` are left alone).',
  'quality/no-empty-catch': 'A catch block with neither code nor a comment swallows the error silently; handle it or say why it is ignored.',
  'quality/no-console-log': '`console.log` left in non-test source (tests, bench/ and scripts/ are exempt).',
  'quality/no-debugger': 'A `debugger` statement left in the code stops every run under an inspector.',
};

// 6133 declared but never read, 6192 all imports unused, 6196 declared but never used (types),
// 6198 all destructured elements unused, 6199 all variables unused, 6205 all type parameters unused.
const UNUSED_CODES = new Set([6133, 6192, 6196, 6198, 6199, 6205]);

const DEFAULT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  jsx: ts.JsxEmit.ReactJSX,
  strict: true,
  skipLibCheck: true,
  esModuleInterop: true,
  resolveJsonModule: true,
};

interface CheckProgram {
  program?: ts.Program;
  /** The options as the project wrote them, before this run's noUnusedLocals. */
  declared: ts.CompilerOptions;
  /** tsconfig.json problems found before a Program could be made. */
  configDiagnostics: readonly ts.Diagnostic[];
}

function createCheckProgram(repo: RepoView): CheckProgram {
  const configPath = path.join(repo.root, 'tsconfig.json');
  let rootNames: string[];
  let declared: ts.CompilerOptions;
  let configDiagnostics: readonly ts.Diagnostic[] = [];
  if (ts.sys.fileExists(configPath)) {
    const syntax = ts.readConfigFile(configPath, ts.sys.readFile).error;
    if (syntax) return { declared: {}, configDiagnostics: [syntax] };
    // Parsed again as a JSON source file, so the problems of its options carry line and column.
    const json = ts.readJsonConfigFile(configPath, ts.sys.readFile);
    const parsed = ts.parseJsonSourceFileConfigFileContent(json, ts.sys, repo.root, undefined, configPath);
    rootNames = parsed.fileNames;
    declared = parsed.options;
    configDiagnostics = parsed.errors;
  } else {
    // As tsc with no tsconfig.json would take them: every TypeScript file, declarations included.
    rootNames = repo.files.filter((f) => isTsSource(f) || (/\.d\.[cm]?ts$/.test(f) && !isFixture(f))).map((f) => path.join(repo.root, f));
    declared = DEFAULT_OPTIONS;
  }
  // composite/incremental would write or demand a .tsbuildinfo; this run only reads.
  const options: ts.CompilerOptions = { ...declared, noEmit: true, noUnusedLocals: true, composite: false, incremental: false };
  // Relative to the repository, as `tsc` run there resolves automatic @types and relative paths.
  const host = ts.createCompilerHost(options);
  host.getCurrentDirectory = () => repo.root;
  return { program: ts.createProgram({ rootNames, options, host }), declared, configDiagnostics };
}

function severityOf(category: ts.DiagnosticCategory): Severity {
  if (category === ts.DiagnosticCategory.Error) return 'error';
  if (category === ts.DiagnosticCategory.Warning) return 'warning';
  return 'note';
}

function insideImport(sf: ts.SourceFile, pos: number): boolean {
  return sf.statements.some((s) => (ts.isImportDeclaration(s) || ts.isImportEqualsDeclaration(s)) && s.getStart(sf) <= pos && pos < s.end);
}

function insideParameter(sf: ts.SourceFile, pos: number): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || pos < node.pos || pos >= node.end) return;
    if (ts.isParameter(node) && node.getStart(sf) <= pos) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function diagnosticFindings(repo: RepoView, check: CheckProgram): Finding[] {
  const diagnostics = [...check.configDiagnostics, ...(check.program ? ts.getPreEmitDiagnostics(check.program) : [])];
  const wantsUnused = check.declared.noUnusedLocals === true;
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    let ruleId = `quality/ts${d.code}`;
    let severity = severityOf(d.category);
    let file = repo.files.includes('tsconfig.json') ? 'tsconfig.json' : '.';
    let at = { line: 1, column: 1 };
    if (d.file && d.start !== undefined) {
      const rel = path.relative(repo.root, d.file.fileName).split(path.sep).join('/');
      // A library's or a sibling project's problem is not this repository's.
      if (rel.startsWith('../') || rel.split('/').includes('node_modules')) continue;
      file = rel;
      at = position(d.file, d.start);
      if (UNUSED_CODES.has(d.code) && !wantsUnused) {
        if (insideImport(d.file, d.start)) {
          ruleId = 'quality/unused-import';
          severity = 'warning';
        } else if (!(check.declared.noUnusedParameters && insideParameter(d.file, d.start))) {
          continue; // an unused local the project did not ask to hear about
        }
      }
    }
    const key = `${ruleId}@${file}:${at.line}:${at.column}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ruleId, expert: EXPERT, message: `TS${d.code}: ${message}`, severity, confidence: 'high', file, line: at.line, column: at.column });
  }
  return out;
}

function finding(sf: ts.SourceFile, file: string, pos: number, ruleId: string, severity: Severity, message: string, confidence: Finding['confidence'] = 'high'): Finding {
  return { ruleId, expert: EXPERT, message, severity, confidence, file, ...position(sf, pos) };
}

/** The lint rules over one file's syntax tree. */
export function lintFile(sf: ts.SourceFile, file: string): Finding[] {
  const out: Finding[] = [];
  const logAllowed = isTestFile(file) || isTooling(file);
  const visit = (node: ts.Node): void => {
    switch (node.kind) {
      case ts.SyntaxKind.AnyKeyword:
        out.push(finding(sf, file, node.getStart(sf), 'quality/no-explicit-any', 'warning', 'explicit `any`: use `unknown` and narrow, or the precise type'));
        break;
      case ts.SyntaxKind.DebuggerStatement:
        out.push(finding(sf, file, node.getStart(sf), 'quality/no-debugger', 'error', '`debugger` statement left in the code'));
        break;
      case ts.SyntaxKind.BinaryExpression: {
        const b = node as ts.BinaryExpression;
        const op = b.operatorToken.kind;
        if ((op === ts.SyntaxKind.EqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsToken)
          && b.left.kind !== ts.SyntaxKind.NullKeyword && b.right.kind !== ts.SyntaxKind.NullKeyword) {
          const strict = op === ts.SyntaxKind.EqualsEqualsToken ? '===' : '!==';
          out.push(finding(sf, file, b.operatorToken.getStart(sf), 'quality/eqeqeq', 'warning', `\`${b.operatorToken.getText(sf)}\` coerces its operands: use \`${strict}\``));
        }
        break;
      }
      case ts.SyntaxKind.CatchClause: {
        const block = (node as ts.CatchClause).block;
        // A comment inside (`catch { /* gone already */ }`) says the swallow is meant.
        const inner = sf.text.slice(block.getStart(sf) + 1, block.end - 1);
        if (block.statements.length === 0 && inner.trim() === '') {
          out.push(finding(sf, file, node.getStart(sf), 'quality/no-empty-catch', 'warning', 'empty catch block swallows the error: handle it, or say in a comment why it is ignored'));
        }
        break;
      }
      case ts.SyntaxKind.CallExpression: {
        const callee = (node as ts.CallExpression).expression;
        if (!logAllowed && ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)
          && callee.expression.text === 'console' && callee.name.text === 'log') {
          out.push(finding(sf, file, node.getStart(sf), 'quality/no-console-log', 'note', '`console.log` in non-test source: use the logger or the reporter, or remove it', 'medium'));
        }
        break;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export const qualityExpert: Expert = {
  id: EXPERT,
  description: 'TypeScript compiler diagnostics (as tsc --noEmit gives them) and lint patterns: explicit any, ==, empty catch, console.log, debugger, unused imports.',
  rules: QUALITY_RULES,
  async detect(repo: RepoView, signal: AbortSignal): Promise<Finding[]> {
    signal.throwIfAborted();
    const check = createCheckProgram(repo);
    signal.throwIfAborted();
    const findings = diagnosticFindings(repo, check);
    for (const file of repo.files) {
      if (!isTsSource(file)) continue;
      signal.throwIfAborted();
      const sf = check.program?.getSourceFile(path.join(repo.root, file)) ?? parse(repo, file);
      findings.push(...lintFile(sf, file));
    }
    return findings.sort(byPlace);
  },
};
