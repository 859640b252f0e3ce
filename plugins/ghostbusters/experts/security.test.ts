/**
 * The security expert on the planted fixture (each problem at a known place) and the clean one
 * (nothing), and its fixes applied in memory.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { planFixes } from '../fix.js';
import { openRepo } from '../repo.js';
import type { Finding } from '../types.js';
import { securityExpert } from './security.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/ghostbusters/', import.meta.url));
const signal = new AbortController().signal;
const where = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.ruleId}`).sort();
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('security expert', () => {
  it('finds each planted problem at its file:line:column', async () => {
    const found = await securityExpert.detect(openRepo(path.join(fixtures, 'planted')), signal);
    assert.deepEqual(where(found), [
      'Devfile.ts:7:45 security/devfile-secret-env',
      'k8s/pod.yaml:13:9 security/run-as-root',
      'k8s/pod.yaml:18:13 security/privileged-container',
      'k8s/pod.yaml:21:11 security/host-path',
      'k8s/worker.yaml:7:7 security/run-as-root',
      'sa-key.json:5:3 security/gcp-service-account-key',
      'secrets.local.yaml:1:1 security/secrets-file-not-ignored',
      'src/config.ts:12:10 security/eval-dynamic',
      'src/config.ts:16:10 security/function-constructor',
      'src/config.ts:20:3 security/shell-injection',
      'src/config.ts:4:26 security/aws-access-key',
      'src/config.ts:5:29 security/token',
      'src/config.ts:6:28 security/token',
      'src/config.ts:7:27 security/token',
      'src/config.ts:8:28 security/private-key',
      'src/config.ts:9:27 security/high-entropy-secret',
    ]);
    for (const f of found) assert.ok(securityExpert.rules[f.ruleId], `${f.ruleId} is declared in rules`);
  });

  it('finds nothing in the clean fixture', async () => {
    assert.deepEqual(await securityExpert.detect(openRepo(path.join(fixtures, 'clean')), signal), []);
  });

  it('moves literal secrets to process.env.NAME, lists NAME in .env.example, and git-ignores secrets.local.yaml', async () => {
    const root = path.join(fixtures, 'planted');
    const plan = planFixes(root, await securityExpert.detect(openRepo(root), signal));
    const after = Object.fromEntries(plan.changes.map((c) => [c.file, c]));
    assert.match(after['src/config.ts'].after, /^export const awsKeyId = process\.env\.AWS_KEY_ID;$/m);
    assert.match(after['src/config.ts'].after, /^export const dbPassword = process\.env\.DB_PASSWORD;$/m);
    assert.doesNotMatch(after['src/config.ts'].after, /AKIA|ghp_|xoxb-|sk_live_|BEGIN RSA/);
    assert.match(after['Devfile.ts'].after, /API_TOKEN: process\.env\.API_TOKEN \?\? ''/);
    assert.equal(after['.env.example'].created, true);
    assert.equal(after['.env.example'].after, 'API_TOKEN=\nAWS_KEY_ID=\nGITHUB_TOKEN=\nSLACK_TOKEN=\nSTRIPE_KEY=\nPRIVATE_KEY=\nDB_PASSWORD=\n');
    assert.equal(after['.gitignore'].after, 'node_modules/\n/secrets.local.yaml\n');
  });

  it('reads code as a syntax tree: exec of a literal, RegExp.exec, eval in a comment or string are not findings', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-sec-'));
    dirs.push(root);
    writeFileSync(path.join(root, 'a.ts'), [
      "import * as cp from 'node:child_process';",
      "cp.exec('ls -la');",
      "/ab/.exec('x' + 'y');",
      '// eval(`${x}`) in a comment',
      "const s = 'eval(a + b)';",
      "const cp2 = require('child_process');",
      'cp2.execSync(`rm ${process.argv[2]}`);',
      "const password = 'short';",
      "const tokenUrl = 'https://example.com/aVeryLongRandomLookingPath0x9f3';",
    ].join('\n'));
    const found = await securityExpert.detect(openRepo(root), signal);
    assert.deepEqual(where(found), ['a.ts:7:1 security/shell-injection']);
  });

  it('an existing .env.example gets the names appended', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-sec-'));
    dirs.push(root);
    cpSync(path.join(fixtures, 'planted', 'src'), path.join(root, 'src'), { recursive: true });
    writeFileSync(path.join(root, '.env.example'), 'PORT=8080');
    const plan = planFixes(root, await securityExpert.detect(openRepo(root), signal));
    assert.equal(plan.changes.find((c) => c.file === '.env.example')!.after.split('\n').slice(0, 3).join(','), 'PORT=8080,AWS_KEY_ID=,GITHUB_TOKEN=');
  });
});
