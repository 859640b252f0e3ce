// Hardening of the process side (issue 9, items 8, 9, 10, 13): real processes, the real CLI,
// real temp folders. Every wait has a deadline; everything started here is killed in `after`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { processStartTime, registryFile, TOKEN_ENV, type ProcessRecord } from '../plugins/shared/process-registry.js';
import { readStat } from '../plugins/shared/procfs.js';
import { repoRoot, runCli, startCli, until, within, type RunningCli } from './helpers.js';

const LINUX = process.platform === 'linux';
// No daemon answers here: services that could be containers fall back to processes.
const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/devloop-test-docker.sock' };

const dirs: string[] = [];
const clis: RunningCli[] = [];
const children: ChildProcess[] = [];
const marks: string[] = [];

after(async () => {
  for (const c of clis) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const c of children) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  for (const m of marks) for (const pid of carriers(m)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = realpathSync(mkdtempSync(path.join(os.tmpdir(), `devloop-${prefix}-`)));
  dirs.push(d);
  return d;
}

function project(devfile: string, files: Record<string, string> = {}): string {
  const dir = tempDir('hard');
  writeFileSync(path.join(dir, 'Devfile.ts'), devfile);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function up(dir: string, env: Record<string, string> = {}): RunningCli {
  const cli = startCli(['up', '--output', 'json'], { cwd: dir, env: { ...NO_DOCKER, ...env } });
  clis.push(cli);
  return cli;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  return readStat(pid)?.state !== 'Z';
}

/** Live processes whose environment holds `entry` exactly (a NUL-separated VAR=value). */
function carriers(entry: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || !alive(Number(name))) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(entry)) out.push(Number(name));
    } catch { /* gone, or not ours */ }
  }
  return out;
}

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

function logLines(cli: RunningCli): string[] {
  return cli.events.filter((e) => e.type === 'log').map((e) => String(e.line?.message ?? ''));
}

describe('live update on the process runtime writes only inside the service folder (item 8)', { concurrency: false }, () => {
  const devfileWith = (target: string) => `import { defineDevfile } from 'devloop';

export default defineDevfile({
  services: {
    api: {
      runtime: 'process',
      command: 'exec sleep 1000',
      liveUpdate: [
        { sync: { from: 'public', to: 'public-copy' } },
        { sync: { from: 'public', to: ${JSON.stringify(target)} } },
      ],
    },
  },
});
`;

  for (const kind of ['absolute', 'escaping'] as const) {
    it(`refuses an ${kind} sync target with the rule's field path and file:line`, { timeout: 60_000 }, async () => {
      const outside = tempDir('outside');
      const target = kind === 'absolute' ? outside : `../${path.basename(outside)}`;
      const devfile = devfileWith(target);
      const dir = project(devfile, { 'public/a.txt': 'a\n' });
      const r = await runCli(['ci', '--timeout', '30s'], { cwd: dir, timeoutMs: 45_000, env: NO_DOCKER });
      const out = r.stdout + r.stderr;
      assert.notEqual(r.code, 0, out);
      assert.match(out, /services\.api\.liveUpdate\[1\]\.sync\.to/);
      assert.match(out, new RegExp(`Devfile\\.ts:${lineOf(devfile, JSON.stringify(target))}:\\d+`));
      assert.match(out, /outside the service's folder/);
      assert.deepEqual(readdirSync(outside), [], 'nothing written outside');
    });
  }

  it('a service that fell back from Docker to a process disables container-only rules, says so once, and never writes outside', { timeout: 90_000 }, async () => {
    const outside = tempDir('outside-app');
    writeFileSync(path.join(outside, 'keep.txt'), 'keep\n');
    const devfile = `import { defineDevfile } from 'devloop';

export default defineDevfile({
  services: {
    api: {
      src: ['server.ts', 'public', 'assets'],
      build: { type: 'esbuild', entry: 'server.ts', baseImage: 'node:20-slim' },
      liveUpdate: [
        { sync: { from: 'public', to: ${JSON.stringify(outside)} } },
        { sync: { from: 'assets', to: 'assets-out' } },
      ],
    },
  },
});
`;
    const dir = project(devfile, { 'server.ts': 'setInterval(() => {}, 1000);\nconsole.log("up");\n', 'public/a.txt': 'a1\n', 'assets/x.txt': 'x1\n' });
    const cli = up(dir);
    try {
      await cli.waitFor((e) => e.type === 'service/health' && e.service === 'api' && e.health === 'healthy', 45_000, 'api healthy');
      assert.equal(cli.events.find((e) => e.type === 'deploy/finished')?.runtime ?? 'process', 'process');

      // The rule inside the service folder still applies in place.
      writeFileSync(path.join(dir, 'assets', 'x.txt'), 'x2\n');
      await until(() => existsSync(path.join(dir, 'assets-out', 'x.txt')) && readFileSync(path.join(dir, 'assets-out', 'x.txt'), 'utf8') === 'x2\n', 15_000, 'assets synced');

      // A change under the disabled rule rebuilds instead of writing to the host path.
      const deploys = () => cli.events.filter((e) => e.type === 'deploy/finished' && e.service === 'api').length;
      const before = deploys();
      writeFileSync(path.join(dir, 'public', 'a.txt'), 'a2\n');
      await until(() => deploys() > before || existsSync(path.join(outside, 'a.txt')), 20_000, 'a rebuild (or a write outside)');
      assert.ok(!existsSync(path.join(outside, 'a.txt')), 'nothing synced outside the service folder');

      // Deleting the folder in the project must not delete the host folder.
      const before2 = deploys();
      rmSync(path.join(dir, 'public'), { recursive: true });
      await until(() => deploys() > before2 || !existsSync(path.join(outside, 'keep.txt')), 20_000, 'a rebuild (or a delete outside)');
      assert.ok(existsSync(path.join(outside, 'keep.txt')), 'the host folder is untouched');
      const warning = (m: string) => /liveUpdate\[0\]\.sync\.to/.test(m) && /container/.test(m);
      assert.equal(logLines(cli).filter(warning).length, 1, `said once, not on every deploy:\n${logLines(cli).join('\n')}`);
    } finally {
      cli.child.kill('SIGINT');
      await within(cli.exited, 20_000, 'up to exit');
    }
  });
});

describe('a daemonised child of a service is stopped too (item 9)', { skip: LINUX ? false : 'needs /proc', concurrency: false }, () => {
  // The service forks a `setsid` child (its own session and group) and waits.
  function daemonProject(mark: string): string {
    return project(`import { defineDevfile } from 'devloop';

export default defineDevfile({
  services: {
    svc: { runtime: 'process', command: 'setsid sleep 1000 & exec sleep 1000', env: { HARDENING_MARK: ${JSON.stringify(mark.split('=')[1])} } },
  },
});
`);
  }

  async function startWithDaemon(): Promise<{ dir: string; cli: RunningCli; mark: string }> {
    const mark = `HARDENING_MARK=${randomUUID()}`;
    marks.push(mark);
    const dir = daemonProject(mark);
    const cli = up(dir);
    await cli.waitFor((e) => e.type === 'service/health' && e.service === 'svc' && e.health === 'healthy', 30_000, 'svc healthy');
    // Both sleeps run; one of them in a session of its own.
    await until(() => carriers(mark).filter((p) => readStat(p)?.pgrp === p).length >= 2, 10_000, 'the setsid child');
    return { dir, cli, mark };
  }

  it('devloop down stops it', { timeout: 60_000 }, async () => {
    const { dir, cli, mark } = await startWithDaemon();
    const r = await runCli(['down'], { cwd: dir, timeoutMs: 30_000, env: NO_DOCKER });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await within(cli.exited, 15_000, 'up to exit');
    await until(() => carriers(mark).length === 0, 8_000, `no process left with ${mark}`).catch(() => {
      assert.deepEqual(carriers(mark).map((p) => `${p}: ${readFileSync(`/proc/${p}/cmdline`, 'latin1')}`), [], 'processes left after down');
    });
  });

  it('Ctrl-C of devloop up stops it', { timeout: 60_000 }, async () => {
    const { cli, mark } = await startWithDaemon();
    cli.child.kill('SIGINT');
    assert.equal(await within(cli.exited, 20_000, 'up to exit'), 0, cli.stderr());
    await until(() => carriers(mark).length === 0, 8_000, `no process left with ${mark}`).catch(() => {
      assert.deepEqual(carriers(mark), [], 'processes left after Ctrl-C');
    });
  });
});

describe('a tampered processes.json never makes down kill an unrelated process (item 10)', { skip: LINUX ? false : 'needs /proc' }, () => {
  function unrelated(env: Record<string, string> = {}): number {
    const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
    child.unref();
    children.push(child);
    return child.pid!;
  }

  it('down leaves alone pid + start time without the token, substring and superstring tokens, and records without a start time', { timeout: 60_000 }, async () => {
    const dir = project(`import { defineDevfile } from 'devloop';\n\nexport default defineDevfile({ services: {} });\n`);
    const DEAD = { pid: 999_999_999, startTime: '1' };
    const base = { service: 'api', role: 'service', command: 'sleep', startedAt: '', owner: DEAD };
    // 1: the leader's pid and start time match, but it does not carry the token.
    const a = unrelated();
    // 2: its token has the record's as a prefix (substring match).
    const b = unrelated({ [TOKEN_ENV]: 'tok-b-longer' });
    // 3: no start time in the record, and a substring token.
    const c = unrelated({ [TOKEN_ENV]: 'tok-c-longer' });
    // 4: its token is a prefix of the record's (superstring), with its own pid and start time.
    const d = unrelated({ [TOKEN_ENV]: 'tok-d' });
    await until(() => [a, b, c, d].every((p) => processStartTime(p) !== undefined), 5_000, 'the sleeps to start');
    const records: ProcessRecord[] = [
      { ...base, token: 'tok-a', pid: a, pgid: a, startTime: processStartTime(a) },
      { ...base, token: 'tok-b', pid: 999_999_998, pgid: 999_999_998, startTime: '1' },
      { ...base, token: 'tok-c', pid: 999_999_997, pgid: 999_999_997 },
      { ...base, token: 'tok-d-longer', pid: d, pgid: d, startTime: processStartTime(d) },
      { ...base, token: 'tok-c2', pid: c, pgid: c },
    ];
    mkdirSync(path.dirname(registryFile(dir)), { recursive: true });
    writeFileSync(registryFile(dir), JSON.stringify(records));
    const r = await runCli(['down'], { cwd: dir, timeoutMs: 30_000, env: NO_DOCKER });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // A kill would land within the grace period; give it a moment to be seen.
    await new Promise((res) => setTimeout(res, 300));
    for (const [name, pid] of Object.entries({ a, b, c, d })) assert.ok(alive(pid), `unrelated sleep ${name} (pid ${pid}) still runs\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /no start time/);
  });
});

/** The local addresses (ip:port) a process listens on, from /proc/net/tcp{,6}. */
function listening(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue;
      const [hex, port] = f[1].split(':');
      const ip = hex.length === 8 ? hex.match(/../g)!.reverse().map((h) => parseInt(h, 16)).join('.') : hex === '0'.repeat(32) ? '::' : `v6:${hex}`;
      out.push(`${ip}:${parseInt(port, 16)}`);
    }
  }
  return out;
}

describe('process instances listen on loopback only (item 13)', { skip: LINUX ? false : 'needs /proc', concurrency: false }, () => {
  it('a hello-cloud-run process instance binds 127.0.0.1', { timeout: 90_000 }, async () => {
    const dir = tempDir('hello-cr');
    const src = path.join(repoRoot, 'recipes', 'hello-cloud-run');
    for (const f of ['Devfile.ts', 'service.yaml', 'src/server.ts']) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), readFileSync(path.join(src, f), 'utf8'));
    }
    const devfile = path.join(dir, 'Devfile.ts');
    writeFileSync(devfile, readFileSync(devfile, 'utf8').replaceAll('8080', '18280').replace('cloudRun: { enabled: true }', `cloudRun: { enabled: true, instances: 'process', metricsPort: 18281 }`));
    const cli = up(dir);
    try {
      const healthy = await cli.waitFor((e) => e.type === 'service/health' && e.service === 'hello' && e.health === 'healthy', 45_000, 'hello healthy');
      const res = await within(fetch(healthy.state.endpoints[0].url as string), 15_000, 'a request through the simulator');
      assert.equal(res.status, 200);
      await res.text();
      const records = JSON.parse(readFileSync(registryFile(dir), 'utf8')) as ProcessRecord[];
      const inst = records.find((r) => r.role === 'cloud-run-instance');
      assert.ok(inst, JSON.stringify(records));
      const addrs = await until(() => { const l = listening(inst.pid); return l.length ? l : undefined; }, 10_000, 'the instance to listen');
      assert.ok(addrs.every((a) => a.startsWith('127.0.0.1:')), `instance listens on ${addrs.join(', ')}`);
    } finally {
      cli.child.kill('SIGINT');
      await within(cli.exited, 20_000, 'up to exit');
    }
  });

  it('the plain process runtime gives HOST=127.0.0.1', { timeout: 60_000 }, async () => {
    const server = `require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), process.env.HOST);`;
    const dir = project(`import { defineDevfile } from 'devloop';

export default defineDevfile({
  services: { web: { runtime: 'process', command: ['node', 'server.cjs'], port: 18290, health: { http: '/' } } },
});
`, { 'server.cjs': server });
    const cli = up(dir);
    try {
      const healthy = await cli.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 30_000, 'web healthy');
      const port = Number(new URL(healthy.state.endpoints[0].url as string).port);
      const pid = (JSON.parse(readFileSync(registryFile(dir), 'utf8')) as ProcessRecord[]).find((r) => r.role === 'service')!.pid;
      assert.ok(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes('HOST=127.0.0.1'));
      assert.deepEqual(listening(pid), [`127.0.0.1:${port}`]);
    } finally {
      cli.child.kill('SIGINT');
      await within(cli.exited, 20_000, 'up to exit');
    }
  });
});
