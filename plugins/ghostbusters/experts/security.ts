/**
 * The security expert: credentials written into the repository, code that runs strings it was
 * given (eval, new Function, a shell), secrets in a Devfile's env or in a secrets.local.yaml git
 * does not ignore, and pods that run privileged, as root or with host paths.
 *
 * Code rules read the TypeScript compiler's syntax tree, not regexes: a match inside a comment or
 * a regex literal is no finding, and a literal's binding (`const apiKey = '...'`) names the
 * environment variable its fix moves it to. Other text files are scanned for known key formats.
 */
import path from 'node:path';
import ts from 'typescript';
import type { Expert, Finding, Fix, RepoView } from '../types.js';
import { podSecurity } from './security-pods.js';
import { appendLine, boundName, envName, isCode, isSecretName, isYaml, looksRandom, parseSource, position, readIfExists } from './text.js';

const EXPERT = 'security';

export const SECURITY_RULES: Record<string, string> = {
  'security/aws-access-key': 'An AWS access key id (AKIA/ASIA...) written in the repository',
  'security/gcp-service-account-key': 'A Google Cloud service-account JSON key with its private key',
  'security/private-key': 'A PEM private key written in the repository',
  'security/token': 'A GitHub, Slack or Stripe token with its known prefix',
  'security/high-entropy-secret': 'A random-looking literal assigned to a secret-like name (password, token, apiKey, ...)',
  'security/eval-dynamic': 'eval() of a string built at run time',
  'security/function-constructor': 'new Function() with a body built at run time',
  'security/shell-injection': 'child_process.exec with a command built at run time (a shell runs it)',
  'security/devfile-secret-env': 'A literal secret in a Devfile service env',
  'security/secrets-file-not-ignored': 'A secrets.local.yaml that git would commit',
  'security/privileged-container': 'A container running privileged',
  'security/host-path': 'A pod mounting a hostPath volume',
  'security/run-as-root': 'A container that runs as root (runAsUser 0, or no runAsNonRoot)',
};

const KNOWN: { rule: string; re: RegExp; what: string }[] = [
  { rule: 'security/aws-access-key', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, what: 'an AWS access key id' },
  { rule: 'security/private-key', re: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/g, what: 'a PEM private key' },
  { rule: 'security/token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g, what: 'a GitHub token' },
  { rule: 'security/token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, what: 'a Slack token' },
  { rule: 'security/token', re: /\b[sr]k_live_[A-Za-z0-9]{20,}\b/g, what: 'a Stripe live key' },
];

const SECRETS_FILE = /^secrets\.local\.ya?ml$/;
const ENV_EXAMPLE = '.env.example';

export const securityExpert: Expert = {
  id: EXPERT,
  description: 'hard-coded credentials, eval/shell built from input, Devfile and file secrets, root or privileged pods',
  rules: SECURITY_RULES,
  async detect(repo: RepoView, signal: AbortSignal): Promise<Finding[]> {
    const out: Finding[] = [];
    for (const file of repo.files) {
      signal.throwIfAborted();
      const base = path.posix.basename(file);
      if (SECRETS_FILE.test(base)) out.push(secretsFile(repo, file));
      if (base === ENV_EXAMPLE) continue;
      const text = repo.read(file);
      if (isCode(file)) out.push(...codeFindings(repo, file, text));
      else if (!/(^|\.)Dockerfile$|^Dockerfile\./.test(base)) out.push(...textFindings(file, text));
      if (isYaml(file)) out.push(...podSecurity(file, text));
    }
    return out;
  },
};

const finding = (f: Omit<Finding, 'expert'>): Finding => ({ expert: EXPERT, ...f });

function secretsFile(repo: RepoView, file: string): Finding {
  const gitignore = readIfExists(repo.root, '.gitignore');
  return finding({
    ruleId: 'security/secrets-file-not-ignored', severity: 'error', confidence: 'high', file, line: 1, column: 1,
    message: `${file} is not git-ignored: git would commit the secrets in it`,
    fix: { description: `add /${file} to .gitignore`, edits: [appendLine(gitignore, '.gitignore', `/${file}`)] },
  });
}

/** The literal moved to `process.env.NAME` (Devfile env values stay strings: `?? ''`), and NAME added to .env.example. */
function envFix(repo: RepoView, file: string, literal: ts.Node, name: string, devfile = false): Fix {
  const env = envName(name);
  return {
    description: `move the literal to process.env.${env} and add ${env}= to ${ENV_EXAMPLE}`,
    edits: [
      { file, start: literal.getStart(), end: literal.getEnd(), text: devfile ? `process.env.${env} ?? ''` : `process.env.${env}` },
      appendLine(readIfExists(repo.root, ENV_EXAMPLE), ENV_EXAMPLE, `${env}=`),
    ],
  };
}

function codeFindings(repo: RepoView, file: string, text: string): Finding[] {
  const sf = parseSource(file, text);
  const out: Finding[] = [];
  const at = (offset: number) => position(text, offset);
  const devfileValues = path.posix.basename(file) === 'Devfile.ts' ? devfileEnv(repo, file, sf, out) : new Set<ts.Node>();
  const shell = childProcessBindings(sf);

  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && !devfileValues.has(node)) {
      out.push(...literalFindings(repo, file, text, node));
    }
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const rule = dangerousCall(node, shell);
      const arg = rule && (rule === 'security/function-constructor' ? node.arguments?.[node.arguments.length - 1] : node.arguments?.[0]);
      const how = arg && dynamic(arg);
      if (rule && how) {
        const what = rule === 'security/eval-dynamic' ? 'eval() runs' : rule === 'security/function-constructor' ? 'new Function() compiles' : `${node.expression.getText()}() hands a shell`;
        out.push(finding({
          ruleId: rule, severity: 'error', confidence: how === 'built' ? 'high' : 'medium', file, ...at(node.getStart()),
          message: `${what} a string ${how === 'built' ? 'built from values at run time (template or concatenation)' : 'that is not a literal'}; ${rule === 'security/shell-injection' ? 'use execFile/spawn with an argument array' : 'parse the data instead of running it'}`,
        }));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function literalFindings(repo: RepoView, file: string, text: string, node: ts.StringLiteral | ts.NoSubstitutionTemplateLiteral): Finding[] {
  const start = node.getStart();
  const raw = text.slice(start, node.getEnd());
  const name = boundName(node);
  const out: Finding[] = [];
  for (const k of KNOWN) {
    for (const m of raw.matchAll(k.re)) {
      out.push(finding({
        ruleId: k.rule, severity: 'error', confidence: 'high', file, ...position(text, start + m.index),
        message: `${k.what} is written in the source${name ? ` (${name})` : ''}; read it from the environment or a secret manager`,
        fix: name && !out.length ? envFix(repo, file, node, name) : undefined,
      }));
    }
  }
  if (!out.length && name && isSecretName(name) && looksRandom(node.text)) {
    out.push(finding({
      ruleId: 'security/high-entropy-secret', severity: 'error', confidence: 'medium', file, ...position(text, start),
      message: `${name} is assigned a random-looking literal (${node.text.length} characters); read it from the environment`,
      fix: envFix(repo, file, node, name),
    }));
  }
  return out;
}

/** `env: { API_TOKEN: 'abc' }` anywhere in a Devfile.ts: a literal under a secret-like name. */
function devfileEnv(repo: RepoView, file: string, sf: ts.SourceFile, out: Finding[]): Set<ts.Node> {
  const seen = new Set<ts.Node>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && node.name.getText().replace(/['"]/g, '') === 'env' && ts.isObjectLiteralExpression(node.initializer)) {
      for (const p of node.initializer.properties) {
        if (!ts.isPropertyAssignment(p) || !(ts.isStringLiteral(p.initializer) || ts.isNoSubstitutionTemplateLiteral(p.initializer))) continue;
        const name = p.name.getText();
        if (!isSecretName(name) || p.initializer.text === '') continue;
        seen.add(p.initializer);
        out.push(finding({
          ruleId: 'security/devfile-secret-env', severity: 'error', confidence: 'high', file, ...position(sf.text, p.initializer.getStart()),
          message: `Devfile env ${name.replace(/['"]/g, '')} holds a literal secret; the Devfile is committed`,
          fix: envFix(repo, file, p.initializer, name, true),
        }));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return seen;
}

interface ShellBindings { fns: Set<string>; modules: Set<string> }
const CHILD_PROCESS = new Set(['child_process', 'node:child_process']);
const SHELL_FNS = new Set(['exec', 'execSync']);

/** The local names bound to child_process.exec/execSync, and to the module itself (import or require). */
function childProcessBindings(sf: ts.SourceFile): ShellBindings {
  const b: ShellBindings = { fns: new Set(), modules: new Set() };
  const bindPattern = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) b.modules.add(name.text);
    else if (ts.isObjectBindingPattern(name)) {
      for (const el of name.elements) {
        const imported = (el.propertyName ?? el.name).getText();
        if (SHELL_FNS.has(imported) && ts.isIdentifier(el.name)) b.fns.add(el.name.text);
      }
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && CHILD_PROCESS.has(node.moduleSpecifier.text)) {
      const c = node.importClause;
      if (c?.name) b.modules.add(c.name.text);
      if (c?.namedBindings && ts.isNamespaceImport(c.namedBindings)) b.modules.add(c.namedBindings.name.text);
      if (c?.namedBindings && ts.isNamedImports(c.namedBindings)) {
        for (const el of c.namedBindings.elements) if (SHELL_FNS.has((el.propertyName ?? el.name).text)) b.fns.add(el.name.text);
      }
    }
    if (ts.isVariableDeclaration(node) && node.initializer && ts.isCallExpression(node.initializer) && node.initializer.expression.getText() === 'require') {
      const arg = node.initializer.arguments[0];
      if (arg && ts.isStringLiteral(arg) && CHILD_PROCESS.has(arg.text)) bindPattern(node.name);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return b;
}

function dangerousCall(node: ts.CallExpression | ts.NewExpression, shell: ShellBindings): string | undefined {
  const callee = node.expression;
  if (ts.isIdentifier(callee)) {
    if (callee.text === 'eval' && ts.isCallExpression(node)) return 'security/eval-dynamic';
    if (callee.text === 'Function') return 'security/function-constructor';
    if (shell.fns.has(callee.text) && ts.isCallExpression(node)) return 'security/shell-injection';
  }
  if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && SHELL_FNS.has(callee.name.text)
    && (shell.modules.has(callee.expression.text) || callee.expression.text === 'child_process')) return 'security/shell-injection';
  return undefined;
}

/** 'built' for templates and concatenations, 'opaque' for other non-literals, undefined for literals. */
function dynamic(arg: ts.Expression): 'built' | 'opaque' | undefined {
  let e = arg;
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) e = e.expression;
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return undefined;
  if (ts.isTemplateExpression(e) || (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken)) return 'built';
  return 'opaque';
}

/** Known key formats in any other text file, a service-account JSON key, and `name: value` pairs with random values. */
function textFindings(file: string, text: string): Finding[] {
  const out: Finding[] = [];
  const serviceAccount = file.endsWith('.json') && /"type"\s*:\s*"service_account"/.test(text) ? /"private_key"\s*:/.exec(text) : null;
  if (serviceAccount) {
    out.push(finding({
      ruleId: 'security/gcp-service-account-key', severity: 'error', confidence: 'high', file, ...position(text, serviceAccount.index),
      message: 'a Google Cloud service-account key (with its private key) is committed; delete it, revoke the key, and use workload identity or a secret manager',
    }));
  }
  for (const k of KNOWN) {
    if (serviceAccount && k.rule === 'security/private-key') continue;
    for (const m of text.matchAll(k.re)) {
      out.push(finding({ ruleId: k.rule, severity: 'error', confidence: 'high', file, ...position(text, m.index), message: `${k.what} is committed in ${file}; revoke it and load it from a secret store` }));
    }
  }
  const known = new Set(out.map((f) => f.line));
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = /^(\s*(?:export\s+)?["']?([A-Za-z_][\w.-]*)["']?\s*[:=]\s*["']?)([^\s"'#,]+)/.exec(line);
    if (!m || known.has(i + 1) || !isSecretName(m[2]) || !looksRandom(m[3])) return;
    out.push(finding({
      ruleId: 'security/high-entropy-secret', severity: 'error', confidence: 'medium', file, line: i + 1, column: m[1].length + 1,
      message: `${m[2]} holds a random-looking value (${m[3].length} characters); keep it out of the repository`,
    }));
  });
  return out;
}
