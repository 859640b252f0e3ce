// Secrets on every exit of text (ci plain/json, JUnit, snapshot, status, log files), the modes of
// `.devloop/`, and disk logging on a full file system: the real CLI, real processes, a real tmpfs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { writeLogFiles } from '../core/session/logfiles.js';
import { createStore } from '../core/store/store.js';
import { copyFixture, runCli, startCli, until, type RunningCli } from './helpers.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----';
const SHORT = 'Zq7';
const PASSWORD = 'correct-horse-battery-42';
const JSONISH = 'p"w\\d\'x?>~';

/** Every form of every secret the fixture prints: none may show anywhere. */
function forbidden(): string[] {
  const out = new Set<string>();
  for (const v of [SHORT, PASSWORD, JSONISH, PEM]) {
    out.add(v);
    for (const line of v.split('\n')) if (!line.startsWith('-----')) out.add(line);
    out.add(JSON.stringify(v).slice(1, -1));
    const b64 = Buffer.from(v).toString('base64');
    out.add(b64);
    out.add(b64.replace(/=+$/, ''));
    out.add(Buffer.from(v).toString('base64url'));
  }
  return [...out];
}

function assertClean(where: string, text: string): void {
  for (const s of forbidden()) {
    const at = text.indexOf(s);
    assert.ok(at === -1, `${where} shows the secret ${JSON.stringify(s)}: …${text.slice(Math.max(0, at - 200), at + s.length + 100)}…`);
  }
}

function unescapeXml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const roots: string[] = [];
const mounts: string[] = [];
const clis: RunningCli[] = [];
after(() => {
  for (const c of clis) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  for (const m of mounts) try { execFileSync('umount', ['-l', m]); } catch { /* already gone */ }
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function fixture(name: string): string {
  const dir = copyFixture(name);
  roots.push(dir);
  return dir;
}

describe('secrets never leave devloop', { concurrency: false, timeout: 240_000 }, () => {
  it('ci (plain) output, JUnit and snapshot of a crashing service show no secret', { timeout: 60_000 }, async () => {
    const dir = fixture('secrets-leak');
    const r = await runCli(['ci', '--snapshot', 'out/snap.json', '--junit', 'out/junit.xml', '--timeout', '40s'], { cwd: dir, timeoutMs: 50_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /password: \[redacted\]/, 'the lines reached the output, redacted');
    assert.match(r.stdout, /ci: FAILED: leaky/);
    assertClean('ci stdout', r.stdout);
    assertClean('ci stderr', r.stderr);
    const snap = readFileSync(path.join(dir, 'out/snap.json'), 'utf8');
    assert.match(snap, /last \d+ lines of output/, 'the snapshot carries the crash output');
    assertClean('the snapshot', snap);
    assertClean('the snapshot, parsed', JSON.stringify(JSON.parse(snap), null, 0));
    const xml = readFileSync(path.join(dir, 'out/junit.xml'), 'utf8');
    assert.match(xml, /<failure message="/);
    assertClean('the JUnit XML', unescapeXml(xml));
  });

  it('ci -o json shows no secret', { timeout: 60_000 }, async () => {
    const dir = fixture('secrets-leak');
    const r = await runCli(['ci', '--output', 'json', '--timeout', '40s'], { cwd: dir, timeoutMs: 50_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /"type":"service\/failed"/);
    assertClean('ci -o json stdout', r.stdout);
    assertClean('ci -o json stderr', r.stderr);
    // Each event's strings, unescaped: a JSON-escaped form must not hide behind the reporter's own escaping.
    const strings: string[] = [];
    const collect = (v: unknown): void => {
      if (typeof v === 'string') strings.push(v);
      else if (v && typeof v === 'object') for (const x of Object.values(v)) collect(x);
    };
    for (const l of r.stdout.split('\n').filter(Boolean)) collect(JSON.parse(l));
    assertClean('ci -o json, decoded', strings.join('\n'));
  });

  it('status (plain and json) and .devloop/logs of a live session show no secret; .devloop is 0700, its files 0600', { timeout: 60_000 }, async () => {
    const dir = fixture('secrets-leak');
    const cli = startCli(['up', '--output', 'json', '--no-watch'], { cwd: dir });
    clis.push(cli);
    try {
      await cli.waitFor((e) => e.type === 'service/failed' && e.service === 'leaky', 30_000, 'leaky to fail');
      const json = await runCli(['status', '--output', 'json'], { cwd: dir, timeoutMs: 20_000 });
      assert.equal(json.code, 0, json.stderr);
      assert.match(json.stdout, /lines of output/);
      assertClean('status -o json', json.stdout);
      const plain = await runCli(['status'], { cwd: dir, timeoutMs: 20_000 });
      assert.equal(plain.code, 0, plain.stderr);
      assertClean('status', plain.stdout + plain.stderr);
      assertClean('up -o json', cli.events.map((e) => JSON.stringify(e)).join('\n') + cli.stderr());

      const devloop = path.join(dir, '.devloop');
      const logs = path.join(devloop, 'logs');
      await until(() => existsSync(path.join(logs, 'leaky.jsonl')) && readFileSync(path.join(logs, 'leaky.jsonl'), 'utf8').includes('fatal'), 10_000, 'the crash in leaky.jsonl');
      for (const f of readdirSync(logs)) assertClean(`.devloop/logs/${f}`, readFileSync(path.join(logs, f), 'utf8'));
      assert.equal(statSync(devloop).mode & 0o777, 0o700, '.devloop is 0700');
      assert.equal(statSync(logs).mode & 0o777, 0o700, '.devloop/logs is 0700');
      for (const f of readdirSync(logs)) assert.equal(statSync(path.join(logs, f)).mode & 0o777, 0o600, `.devloop/logs/${f} is 0600`);
      assert.equal(statSync(path.join(devloop, 'session.json')).mode & 0o777, 0o600, '.devloop/session.json is 0600');
    } finally {
      cli.child.kill('SIGINT');
      await Promise.race([cli.exited, new Promise((_r, reject) => setTimeout(() => reject(new Error('up did not exit after SIGINT')), 20_000))]);
    }
  });

  it('a YAML error in secrets.local.yaml is located without echoing the line', { timeout: 60_000 }, async () => {
    const dir = fixture('secrets-cloud-run');
    writeFileSync(path.join(dir, 'secrets.local.yaml'), 'db-pass:\n  "1": old\n  latest: "s3cr3t-unterminated\n');
    const r = await runCli(['ci', '--timeout', '40s'], { cwd: dir, timeoutMs: 50_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /secrets\.local\.yaml:\d+:\d+: /, 'file:line:col of the problem');
    assert.ok(!(r.stdout + r.stderr).includes('s3cr3t-unterminated'), `the value is echoed:\n${r.stdout}${r.stderr}`);
  });

  it('a short secretKeyRef value and the unreferenced values of the secrets file are redacted', { timeout: 60_000 }, async () => {
    const dir = fixture('secrets-cloud-run');
    writeFileSync(path.join(dir, 'secrets.local.yaml'), 'db-pass:\n  "1": q8Z\nother: unused-s3cr3t\n');
    const r = await runCli(['ci', '--output', 'json', '--timeout', '40s'], { cwd: dir, timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /db pass is \[redacted\]/);
    assert.match(r.stdout, /secrets file: other: \[redacted\]/);
    assert.ok(!(r.stdout + r.stderr).includes('q8Z'), 'the short secret shows');
    assert.ok(!(r.stdout + r.stderr).includes('unused-s3cr3t'), 'an unreferenced value of the secrets file shows');
  });
});

describe('secrets in errors reported outside a session', { timeout: 120_000 }, () => {
  it('a Devfile error quoting a secret from the environment is redacted (plain and -o json)', { timeout: 60_000 }, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-secret-err-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // The invalid value is built from the secret, so the validation message quotes it.
    writeFileSync(path.join(dir, 'Devfile.ts'), "export default { services: { api: { command: ['true'], port: 'x' + process.env.DB_PASSWORD } } };\n");
    for (const output of ['plain', 'json']) {
      const r = await runCli(['status', '-o', output], { cwd: dir, env: { DB_PASSWORD: 'hunter2-long-secret' } });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /services\.api\.port: expected a number, got "x\[redacted\]"/);
      assert.ok(!(r.stdout + r.stderr).includes('hunter2'), `${output}: the secret shows:\n${r.stdout}${r.stderr}`);
    }
  });
});

describe('disk logging', { concurrency: false, timeout: 120_000 }, () => {
  it('rotates by bytes, not UTF-16 units, at the size given', { timeout: 10_000 }, async () => {
    const dir = fixture('disk-chatty');
    const store = createStore();
    const logs = writeLogFiles(dir, store, { rotateBytes: 4096 });
    for (let i = 0; i < 100; i++) store.dispatch({ type: 'log', line: { time: Date.now(), service: 'chatty', level: 'output', message: `${i} ${'€'.repeat(60)}` } });
    await logs.close();
    const file = path.join(dir, '.devloop', 'logs', 'chatty.jsonl');
    assert.ok(existsSync(`${file}.1`), 'it rotated');
    for (const f of [file, `${file}.1`]) {
      const size = statSync(f).size;
      assert.ok(size <= 4096, `${path.basename(f)} is ${size} bytes, over the 4096 asked`);
      for (const l of readFileSync(f, 'utf8').split('\n').filter(Boolean)) JSON.parse(l);
    }
  });

  it('a full disk pauses disk logging with one warning, the session lives, and logging resumes when space returns', { timeout: 90_000 }, async (t) => {
    if (process.getuid?.() !== 0) { t.skip('mounting a tmpfs needs root'); return; }
    const dir = fixture('disk-chatty');
    const logs = path.join(dir, '.devloop', 'logs');
    mkdirSync(logs, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', logs]);
    mounts.push(logs);
    const filler = path.join(logs, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(4096, 1);
    try { for (;;) writeSync(fd, chunk); } catch (err) { assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC'); } finally { closeSync(fd); }

    const cli = startCli(['up', '--output', 'json', '--no-watch'], { cwd: dir });
    clis.push(cli);
    const isPause = (e: Record<string, any>) => e.type === 'log' && e.line?.level === 'warn' && /logging to disk paused/.test(e.line.message);
    try {
      const warning = await cli.waitFor(isPause, 30_000, 'the disk-full warning');
      assert.match(warning.line.message, /no space left|ENOSPC/i);
      await cli.waitFor((e) => e.type === 'service/health' && e.service === 'chatty' && e.health === 'healthy', 30_000, 'chatty healthy');
      const seen = cli.events.length;
      await cli.waitFor((e) => cli.events.indexOf(e) > seen + 20 && e.type === 'log' && /^tick \d+/.test(e.line?.message ?? ''), 10_000, 'more output after the warning');
      assert.equal(cli.child.exitCode, null, `the session died:\n${cli.stderr()}`);
      assert.equal(cli.events.filter(isPause).length, 1, 'one warning, not one per line');

      rmSync(filler);
      const freedAt = Date.now();
      await cli.waitFor((e) => e.type === 'log' && /logging to disk resumed/.test(e.line?.message ?? ''), 15_000, 'the resume notice');
      await until(() => {
        const f = path.join(logs, 'chatty.jsonl');
        if (!existsSync(f)) return false;
        return readFileSync(f, 'utf8').split('\n').filter(Boolean).some((l) => { try { const j = JSON.parse(l); return j.time > freedAt && /^tick/.test(j.message); } catch { return false; } });
      }, 15_000, 'new lines in chatty.jsonl after space returned');
      assert.equal(cli.child.exitCode, null, `the session died:\n${cli.stderr()}`);
    } finally {
      cli.child.kill('SIGINT');
      const code = await Promise.race([cli.exited, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('up did not exit after SIGINT')), 20_000))]);
      assert.equal(code, 0, cli.stderr());
    }
  });
});
