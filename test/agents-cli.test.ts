/**
 * `devloop agents run`: the command function run from the source in a child process (tsx), on
 * copies of the planted and clean fixture repositories. SARIF shape, the --fix patch checked by
 * git itself, --apply re-checked, exit codes for findings and for bad input, a failing expert.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { repoRoot } from './helpers.js';

const MINE = 'security,build,manifests';
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function copy(name: 'planted' | 'clean'): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), `devloop-agents-${name}-`)));
  dirs.push(dir);
  cpSync(path.join(repoRoot, 'test', 'fixtures', 'ghostbusters', name), dir, { recursive: true });
  return dir;
}

const moduleUrl = (p: string) => JSON.stringify(pathToFileURL(path.join(repoRoot, p)).href);

/** Runs agents(options) in a child process; `prelude` may define `experts` (an array) to pass. */
function agentsHere(options: Record<string, unknown>, prelude = ''): { code: number | null; stdout: string; stderr: string } {
  const script = `const { agents } = await import(${moduleUrl('bin/commands/agents.ts')});
    ${prelude}
    process.exitCode = await agents({ ...${JSON.stringify(options)}${prelude ? ', experts' : ''} });`;
  const c = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  return { code: c.status, stdout: c.stdout, stderr: c.stderr };
}

describe('devloop agents run', () => {
  it('--record writes the framework\'s run record: one step per expert with its output and duration, readable by parseRunRecord', { timeout: 120_000 }, async () => {
    const dir = copy('planted');
    const r = agentsHere({ cwd: dir, agent: MINE, record: 'run.json' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /run record written to .*run\.json/);
    const { parseRunRecord } = await import('../plugins/ghostbusters/record.js');
    const record = parseRunRecord(readFileSync(path.join(dir, 'run.json'), 'utf8'));
    const steps = record.steps as { agent: string; output?: unknown; durationMs?: number; error?: unknown }[];
    assert.deepEqual(steps.map((s) => s.agent).sort(), ['build', 'manifests', 'security']);
    const security = steps.find((s) => s.agent === 'security')!;
    assert.equal((security.output as unknown[]).length, 16, 'the step keeps the expert\'s findings');
    assert.ok(steps.every((s) => typeof s.durationMs === 'number' && !s.error), JSON.stringify(steps.map((s) => ({ a: s.agent, d: s.durationMs, e: s.error }))));
  });

  it('prints findings grouped by expert, file:line:col severity rule message [confidence] and the fix; exit 1 on errors', { timeout: 120_000 }, () => {
    const r = agentsHere({ cwd: copy('planted'), agent: MINE });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^security: 16 findings \(15 error, 1 warning\)$/m);
    assert.match(r.stdout, /^build: 9 findings \(2 error, 7 warning\)$/m);
    assert.match(r.stdout, /^manifests: 8 findings \(2 error, 6 warning\)$/m);
    assert.match(r.stdout, /^ {2}src\/config\.ts:4:26 error security\/aws-access-key .+ \[high\]\n {6}fix: move the literal to process\.env\.AWS_KEY_ID/m);
  });

  it('--output sarif: a SARIF 2.1.0 log with rules, levels and exact regions', { timeout: 120_000 }, () => {
    const r = agentsHere({ cwd: copy('planted'), agent: MINE, output: 'sarif' });
    assert.equal(r.code, 1, r.stderr);
    const log = JSON.parse(r.stdout);
    assert.match(log.$schema, /sarif-2\.1\.0/);
    assert.equal(log.version, '2.1.0');
    const run = log.runs[0];
    assert.equal(run.tool.driver.name, 'devloop-ghostbusters');
    const ruleIds = new Set(run.tool.driver.rules.map((x: { id: string; shortDescription: { text: string } }) => { assert.ok(x.shortDescription.text); return x.id; }));
    assert.equal(run.results.length, 33);
    for (const res of run.results) {
      assert.ok(ruleIds.has(res.ruleId), `${res.ruleId} is among the rules`);
      assert.ok(['error', 'warning', 'note'].includes(res.level));
      assert.ok(res.message.text);
      const loc = res.locations[0].physicalLocation;
      assert.ok(loc.artifactLocation.uri && !path.isAbsolute(loc.artifactLocation.uri));
      assert.ok(Number.isInteger(loc.region.startLine) && loc.region.startLine >= 1 && loc.region.startColumn >= 1);
    }
    const aws = run.results.find((x: { ruleId: string }) => x.ruleId === 'security/aws-access-key');
    assert.deepEqual([aws.locations[0].physicalLocation.artifactLocation.uri, aws.locations[0].physicalLocation.region.startLine, aws.locations[0].physicalLocation.region.startColumn], ['src/config.ts', 4, 26]);
    assert.equal(aws.fixes[0].artifactChanges[0].replacements[0].insertedContent.text, 'process.env.AWS_KEY_ID');
  });

  it('--fix writes a patch git apply accepts, and changes nothing else', { timeout: 120_000 }, () => {
    const dir = copy('planted');
    const before = readFileSync(path.join(dir, 'src', 'config.ts'), 'utf8');
    const r = agentsHere({ cwd: dir, agent: MINE, fix: true });
    assert.equal(r.code, 1, r.stderr);
    const patch = /fixes for 14 findings written to (\S+\.patch)$/m.exec(r.stdout)?.[1];
    assert.ok(patch && patch.startsWith(path.join(dir, '.devloop', 'agents', 'fixes-')), r.stdout);
    assert.equal(readFileSync(path.join(dir, 'src', 'config.ts'), 'utf8'), before);
    assert.ok(!existsSync(path.join(dir, '.dockerignore')));
    const check = spawnSync('git', ['apply', '--check', '-v', patch], { cwd: dir, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stderr, /Checking patch \.dockerignore/);
  });

  it('--apply applies the fixes, re-runs the experts and reports the fixed findings gone', { timeout: 120_000 }, () => {
    const dir = copy('planted');
    const r = agentsHere({ cwd: dir, agent: MINE, apply: true });
    assert.equal(r.code, 1, 'errors without a safe fix (eval, privileged) remain');
    assert.match(r.stdout, /^applied; re-check: 14 fixed findings gone, 0 still there, 18 findings \(11 error, 7 warning\) remaining$/m);
    assert.match(r.stdout, /^ {2}gone: src\/config\.ts:4:26 security\/aws-access-key$/m);
    assert.match(r.stdout, /^ {2}gone: Dockerfile:1:1 build\/dockerignore-missing$/m);
    assert.match(readFileSync(path.join(dir, 'src', 'config.ts'), 'utf8'), /awsKeyId = process\.env\.AWS_KEY_ID;/);
    assert.match(readFileSync(path.join(dir, 'k8s', 'web.yaml'), 'utf8'), /cpu: 50m/);
    const again = agentsHere({ cwd: dir, agent: MINE, output: 'json' });
    const ids = JSON.parse(again.stdout).findings.map((f: { ruleId: string; file: string }) => `${f.file} ${f.ruleId}`);
    assert.ok(!ids.includes('src/config.ts security/aws-access-key') && !ids.includes('Dockerfile build/dockerignore-missing'), ids.join('\n'));
  });

  it('--apply fails loudly when a fixed finding is still there', { timeout: 120_000 }, () => {
    const stubborn = `const experts = [{ id: 'stubborn', description: 'a fix that fixes nothing', rules: { 'stubborn/x': 'x' },
      async detect() { return [{ ruleId: 'stubborn/x', expert: 'stubborn', message: 'still here', severity: 'warning', confidence: 'high', file: 'server.js', line: 1, column: 1,
        fix: { description: 'write a note', edits: [{ file: 'note.txt', start: 0, end: 0, text: 'x', create: true }] } }]; } }];`;
    const r = agentsHere({ cwd: copy('clean'), apply: true, failOn: 'error' }, stubborn);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the fix for stubborn\/x at server\.js:1:1 was applied, but the re-check still finds it/);
    assert.match(r.stdout, /STILL THERE: server\.js:1:1 warning stubborn\/x still here \[high\]/);
  });

  it('the clean fixture has no findings and exits 0', { timeout: 120_000 }, () => {
    const r = agentsHere({ cwd: copy('clean'), agent: MINE, output: 'json' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).findings, []);
  });

  it('--fail-on warning fails on warnings; --fail-on error does not', { timeout: 120_000 }, () => {
    const dir = copy('clean');
    const prelude = "const experts = [{ id: 'w', description: 'w', rules: { 'w/x': 'x' }, async detect() { return [{ ruleId: 'w/x', expert: 'w', message: 'm', severity: 'warning', confidence: 'low', file: 'a', line: 1, column: 1 }]; } }];";
    assert.equal(agentsHere({ cwd: dir, failOn: 'warning' }, prelude).code, 1);
    assert.equal(agentsHere({ cwd: dir, failOn: 'error' }, prelude).code, 0);
  });

  it('bad input exits 2: an unknown agent (naming the known ones), a missing path, a bad --output', { timeout: 120_000 }, () => {
    const dir = copy('clean');
    const unknown = agentsHere({ cwd: dir, agent: 'security,ghost' });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown agent "ghost"; known agents: security, build, manifests, quality, tests, architecture/);
    const missing = agentsHere({ cwd: dir, path: 'no-such-folder' });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /repository path not found: \S*no-such-folder \(no such folder\)\ntry: /);
    assert.equal(agentsHere({ cwd: dir, output: 'yaml' }).code, 2);
  });

  it('an expert that throws is reported and the others still run', { timeout: 120_000 }, () => {
    const prelude = `const { securityExpert } = await import(${moduleUrl('plugins/ghostbusters/experts/security.ts')});
      const experts = [{ id: 'boom', description: 'throws', rules: {}, async detect() { throw new Error('kaboom'); } }, securityExpert];`;
    const r = agentsHere({ cwd: copy('planted') }, prelude);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^expert boom failed: kaboom$/m);
    assert.match(r.stdout, /^boom: failed: kaboom$/m);
    assert.match(r.stdout, /^security: 16 findings/m);
  });
});
