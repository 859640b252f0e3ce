// `devloop ci` end to end with real processes: pass, crash-loop, readiness timeout, reports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { copyFixture, runCli } from './helpers.js';

describe('devloop ci', { concurrency: false }, () => {
  it('exits 0 for a healthy service, runs the declared test, writes snapshot and JUnit', { timeout: 120_000 }, async () => {
    const dir = copyFixture('ci-cases');
    const r = await runCli(['ci', 'ok', '--snapshot', 'out/snap.json', '--junit', 'out/junit.xml'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ci: the service is healthy, 1 test passed/);
    const snap = JSON.parse(readFileSync(path.join(dir, 'out/snap.json'), 'utf8'));
    assert.equal(snap.ok, true);
    assert.equal(snap.services.ok.phase, 'healthy');
    assert.equal(snap.tests[0].name, 'smoke');
    assert.equal(snap.tests[0].ok, true);
    const xml = readFileSync(path.join(dir, 'out/junit.xml'), 'utf8');
    assert.match(xml, /<testsuite name="devloop ci" tests="2" failures="0"/);
    assert.match(xml, /<testcase name="ok ready" classname="devloop.services"/);
    assert.match(xml, /<testcase name="smoke" classname="devloop.tests"/);
  });

  it('exits 1 naming a service that exits during startup, with its output', { timeout: 120_000 }, async () => {
    const dir = copyFixture('ci-cases');
    // Declared tests would keep ci busy; the crash must still be what fails it.
    const r = await runCli(['ci', 'crashy', 'ok', '--junit', 'junit.xml', '--snapshot', 'snap.json', '--timeout', '60s'], { cwd: dir, timeoutMs: 90_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ci: FAILED: crashy failed: /);
    assert.match(r.stdout, /config missing/);
    const snap = JSON.parse(readFileSync(path.join(dir, 'snap.json'), 'utf8'));
    assert.equal(snap.ok, false);
    assert.equal(snap.failedService, 'crashy');
    assert.match(readFileSync(path.join(dir, 'junit.xml'), 'utf8'), /<testcase name="crashy ready"[^>]*>\n\s*<failure message="crashy /);
  });

  it('exits 1 at the readiness timeout naming the service and what it waits on', { timeout: 120_000 }, async () => {
    const dir = copyFixture('ci-cases');
    const r = await runCli(['ci', 'never', '--readiness-timeout', '2s'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ci: FAILED: never was not ready 2s after it was deployed \(starting/);
  });
});
