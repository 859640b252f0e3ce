// The real CLI, run as a child process, on fixture projects copied to temp folders.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { findFreePort } from '../plugins/shared/ports.js';
import { cliPath, copyFixture, runCli, startCli, until } from './helpers.js';

const COMMANDS = ['init', 'up', 'ci', 'deploy', 'logs', 'debug', 'down', 'status', 'render', 'doctor'];

function emptyDir(): string {
  return realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-empty-')));
}

async function text(url: string): Promise<string> {
  return (await fetch(url)).text();
}

describe('devloop CLI', { concurrency: false }, () => {
  it('--help lists every command', { timeout: 120_000 }, async () => {
    const r = await runCli(['--help'], { cwd: emptyDir() });
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'), `help lists ${c}`);
    const sub = await runCli(['up', '--help'], { cwd: emptyDir() });
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /--manual/);
  });

  it('exits 2 on an unknown command or flag, with a suggestion', { timeout: 120_000 }, async () => {
    const cmd = await runCli(['stauts'], { cwd: emptyDir() });
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /unknown command 'stauts'/);
    assert.match(cmd.stderr, /Did you mean status\?/);
    const flag = await runCli(['status', '--bogus'], { cwd: emptyDir() });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown option '--bogus'/);
    const badOutput = await runCli(['status', '-o', 'xml'], { cwd: emptyDir() });
    assert.equal(badOutput.code, 2);
    assert.match(badOutput.stderr, /Allowed choices are plain, json/);
  });

  it('says how to start when there is no Devfile', { timeout: 120_000 }, async () => {
    const r = await runCli(['status'], { cwd: emptyDir() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /devloop init/);
  });

  it('init writes a Devfile.ts that status loads, and refuses to overwrite it', { timeout: 120_000 }, async () => {
    const dir = emptyDir();
    const r = await runCli(['init'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(path.join(dir, 'Devfile.ts')));
    assert.match(readFileSync(path.join(dir, '.gitignore'), 'utf8'), /^\.devloop\/$/m);
    const s = await runCli(['status'], { cwd: dir });
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Session: not running/);
    const again = await runCli(['init'], { cwd: dir });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists/);
  });

  it('init --from converts a gke-local.yaml into a Devfile that loads', { timeout: 120_000 }, async () => {
    const dir = copyFixture('devfile-gke-local');
    const r = await runCli(['init', '--from', 'gke-local.yaml'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const rendered = await runCli(['render', '-o', 'json'], { cwd: dir });
    assert.equal(rendered.code, 0, rendered.stderr);
    const doc = JSON.parse(rendered.stdout);
    assert.equal(typeof doc.simulation.cloudRun.enabled, 'boolean');
    assert.equal(typeof doc.simulation.autopilot.enabled, 'boolean');
    assert.ok(doc.cluster.name);
  });

  for (const [fixture, pattern] of [
    ['devfile-type-error', /^Devfile\.ts:\d+:\d+ services\.api\.port: expected a number, got "80a"$/m],
    ['devfile-syntax-error', /^Devfile\.ts:\d+:\d+ /m],
    ['devfile-unknown-field', /^Devfile\.ts:\d+:\d+ services\.api(\.prot)?: unknown field "prot"/m],
  ] as const) {
    it(`reports ${fixture} with file:line:col and exits 2`, { timeout: 120_000 }, async () => {
      const r = await runCli(['status'], { cwd: copyFixture(fixture) });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, pattern);
    });
  }

  it('up serves, rebuilds on change, survives a broken Devfile edit, reloads a fixed one; down leaves nothing', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      const healthyWeb = await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 30_000, 'web healthy');
      const webUrl = healthyWeb.state.endpoints[0].url as string;
      assert.equal(await text(webUrl), 'hello:v1\n');
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 30_000, 'api healthy');
      const apiDeploys = up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'api').length;

      // status from another process reads the live session
      const st = await runCli(['status', '-o', 'json'], { cwd: dir });
      assert.equal(st.code, 0, st.stderr);
      const sj = JSON.parse(st.stdout);
      assert.equal(sj.running, true);
      assert.equal(sj.services.web.phase, 'healthy');

      // a source edit redeploys only the service that owns it
      writeFileSync(path.join(dir, 'site', 'index.txt'), 'v2\n');
      await until(async () => (await text(up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'web').at(-1)!.endpoints[0].url)) === 'hello:v2\n', 15_000, 'web serving v2');
      assert.equal(up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'api').length, apiDeploys, 'api untouched');

      // a broken Devfile edit keeps the last good pipeline running and reports the error
      const devfile = path.join(dir, 'Devfile.ts');
      const good = readFileSync(devfile, 'utf8');
      writeFileSync(devfile, good.replace("env: { GREETING: 'hello' }", "env: { GREETING: 'hello' }, port: '80a'"));
      const cfgErr = await up.waitFor((e) => e.type === 'config/error', 15_000, 'config error');
      assert.match(cfgErr.error.message, /^Devfile\.ts:\d+:\d+ services\.web\.port: expected a number, got "80a"/);
      const current = up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'web').at(-1)!.endpoints[0].url;
      assert.equal(await text(current), 'hello:v2\n', 'still serving after the broken edit');

      // fixing it reloads, and the changed service is redeployed with the new env
      writeFileSync(devfile, good.replace("GREETING: 'hello'", "GREETING: 'howdy'"));
      await up.waitFor((e) => e.type === 'config/loaded' && up.events.indexOf(e) > up.events.indexOf(cfgErr), 15_000, 'reload');
      await until(async () => (await text(up.events.filter((e) => e.type === 'deploy/finished' && e.service === 'web').at(-1)!.endpoints[0].url)) === 'howdy:v2\n', 15_000, 'web serving the new env');

      // logs are stored per service and readable from another process
      const logs = await runCli(['logs', 'web'], { cwd: dir });
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /serving v2/);

      const urls = up.events.filter((e) => e.type === 'deploy/finished').map((e) => e.endpoints[0].url as string);
      // down works even while the Devfile is broken: the session is found by its folder
      writeFileSync(devfile, good.replace("env: { GREETING: 'hello' }", "env: { GREETING: 'hello' }, port: '80a'"));
      const down = await runCli(['down'], { cwd: dir });
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stderr, /services\.web\.port: expected a number, got "80a"; cleaning up in .* with the built-in plugins only/);
      assert.equal(await up.exited, 0);
      for (const u of urls) await assert.rejects(fetch(u), `${u} no longer answers`);
      assert.ok(!existsSync(path.join(dir, '.devloop', 'session.json')));
      assert.ok(!existsSync(path.join(dir, '.devloop', 'control.sock')));
    } finally {
      up.child.kill('SIGKILL');
    }
  });

  it('up stops everything on Ctrl-C (SIGINT)', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 30_000, 'api healthy');
    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0);
    assert.ok(up.events.some((e) => e.type === 'engine/stopped'));
    await assert.rejects(fetch(healthy.state.endpoints[0].url));
  });

  it('up stops everything when one Ctrl-C arrives twice (the terminal\'s to the group and a wrapper\'s forwarded copy: npm, timeout)', { timeout: 120_000 }, async () => {
    // A Cloud Run service (process instance): stopping it takes long enough for the copy to arrive meanwhile.
    const dir = copyFixture('cloud-run-app');
    const port = await findFreePort();
    writeFileSync(path.join(dir, 'Devfile.ts'), `export default { name: 'ctrlc', simulation: { cloudRun: { instances: 'process' } }, services: { hello: { runtime: 'cloud-run', command: ['node', 'server.js'], port: ${port}, cloudRun: { minScale: 1 } } } };\n`);
    // Its own process group, as a terminal's foreground job.
    const up = spawn(process.execPath, [cliPath, 'up', '--output', 'json'], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', NO_COLOR: '1' } });
    const events: Record<string, any>[] = [];
    let stderr = '';
    up.stderr!.on('data', (d) => { stderr += d; });
    createInterface({ input: up.stdout! }).on('line', (l) => { try { events.push(JSON.parse(l)); } catch { /* not an event */ } });
    const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
    try {
      const healthy = await until(() => events.find((e) => e.type === 'service/health' && e.service === 'hello' && e.health === 'healthy'), 60_000, `hello healthy (stderr: ${stderr})`);
      process.kill(-up.pid!, 'SIGINT');
      await new Promise((r) => setTimeout(r, 30));
      try { process.kill(-up.pid!, 'SIGINT'); } catch { /* already gone */ }
      assert.equal(await exited, 0, stderr);
      assert.doesNotMatch(stderr, /second interrupt/);
      assert.ok(events.some((e) => e.type === 'engine/stopped'), 'stopped cleanly');
      await assert.rejects(fetch(healthy.state.endpoints[0].url), 'the service is gone');
    } finally {
      try { process.kill(-up.pid!, 'SIGKILL'); } catch { /* gone */ }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ci exits 0 when every service is healthy and 1 naming the one that fails', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const ok = await runCli(['ci'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ci: all 2 services healthy/);
    // A deploy that fails (the inproc runtime reads api/index.txt): exit 1, naming the service.
    const page = path.join(dir, 'api', 'index.txt');
    const text = readFileSync(page, 'utf8');
    rmSync(page);
    const bad = await runCli(['ci'], { cwd: dir });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /ci: FAILED: api failed: .*ENOENT/);
    writeFileSync(page, text);
    // A runtime no plugin provides is a Devfile error, found before anything starts: exit 2, located.
    const devfile = path.join(dir, 'Devfile.ts');
    writeFileSync(devfile, readFileSync(devfile, 'utf8').replace("runtime: 'inproc', dependsOn", "runtime: 'nowhere', dependsOn"));
    const unknown = await runCli(['ci'], { cwd: dir });
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /^Devfile\.ts:\d+:\d+ services\.api\.runtime: no plugin provides runtime "nowhere"/m);
  });

  it('commands that act on a session say plainly when none runs', { timeout: 120_000 }, async () => {
    const dir = copyFixture('cli-inline');
    const dbg = await runCli(['debug', 'web'], { cwd: dir });
    assert.equal(dbg.code, 1);
    assert.match(dbg.stderr, /no devloop session is running/);
    const dep = await runCli(['deploy', 'web'], { cwd: dir });
    assert.equal(dep.code, 1);
    assert.match(dep.stderr, /no devloop session is running/);
    const unknown = await runCli(['deploy', 'nope'], { cwd: dir });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no service named "nope"/);
  });

  it('doctor reports each check with a fix and exits 0 when only optional parts are missing', { timeout: 120_000 }, async () => {
    const r = await runCli(['doctor', '-o', 'json'], { cwd: copyFixture('cli-inline'), env: { DOCKER_HOST: 'unix:///nonexistent.sock', DEVLOOP_REGISTRY: '127.0.0.1:1', KUBECONFIG: '/nonexistent' } });
    assert.equal(r.code, 0, r.stderr);
    const checks = JSON.parse(r.stdout) as { name: string; level: string; fix?: string }[];
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    assert.equal(by['Node.js'].level, 'ok');
    assert.equal(by.Devfile.level, 'ok');
    assert.equal(by.Docker.level, 'warn');
    assert.match(by.Docker.fix!, /docker/i);
    assert.equal(by.Registry.level, 'warn');
    assert.match(by.Registry.fix!, /addr: 127\.0\.0\.1:1\\n/, 'the command serves where devloop looks');
    // Only the kubernetes runtime needs a cluster: nothing to fix, no tool to install.
    assert.equal(by.Kubernetes.level, 'ok');
    assert.match((by.Kubernetes as { detail: string }).detail, /only needed by services with runtime "kubernetes"/);
    assert.equal(by.Kubernetes.fix, undefined);
  });
});
