// A third-party plugin installed from a local package (npm pack + npm install) into a project,
// found by its short name, given options, and run by the real CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { copyFixture, repoRoot, runCli } from './helpers.js';

it('installs devloop-plugin-hello from a local folder and runs it by its short name', { timeout: 120_000 }, async () => {
  const project = copyFixture('plugin-project');
  const packDir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-pack-')));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir, path.join(repoRoot, 'test', 'fixtures', 'plugin-pkg')], { encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(packDir, tarball)], { cwd: project, stdio: 'pipe' });
  // A real copy, not a symlink to the fixture.
  assert.ok(existsSync(path.join(project, 'node_modules', 'devloop-plugin-hello', 'index.js')));

  const r = await runCli(['ci', '-o', 'json'], { cwd: project });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const healthy = events.find((e) => e.type === 'service/health' && e.service === 'greeter' && e.health === 'healthy');
  assert.equal(healthy?.message, 'bonjour from greeter', 'the plugin got its options and served');
  assert.ok(events.some((e) => e.type === 'log' && /devloop-plugin-hello: bonjour at http:\/\/127\.0\.0\.1:\d+/.test(e.line.message)));
});

it('names a missing plugin package and how to install it', { timeout: 120_000 }, async () => {
  const project = copyFixture('plugin-project');
  const r = await runCli(['ci'], { cwd: project });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /plugins\.0: plugin package "hello" is not installed/);
  assert.match(r.stderr, /npm install -D devloop-plugin-hello/);
});
