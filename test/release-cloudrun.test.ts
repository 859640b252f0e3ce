// devloop release --target cloudrun --via simulator: a `devloop cloudrun replace service.yaml`
// session (process instances running server.js, no Docker) stands in for production. The server
// answers with APP_VERSION, which the Devfile takes from the release's own environment, so each
// release renders a different revision; a version named bad* answers 500 to everything while it
// starts and listens like a good one (only the gate can tell). Requests go to the service URL
// throughout both releases:
// - v2 with steps 10,50,100: exit 0, traffic 100% on the new revision, no request failed, and both
//   versions answered during the steps (each step holds 1 s: --step-wait);
// - bad: the gate on the tag URL fails before any user traffic moves, traffic is 100% on v2's
//   revision again, no user request failed, exit 1, the record says rolled-back;
// - --dry-run prints the YAML and steps (through gcloud: the exact commands) and changes nothing;
//   without gcloud on PATH a release says so; `release history` lists both releases.
//
// Needs `npm run build` (the CLI runs from dist/; DEVLOOP_CLI points at another build).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { until } from './helpers.js';
import { cli, devloop as runCli } from './release-helpers.js';

const digest = (c: string) => `example.com/web@sha256:${c.repeat(64)}`;

const DEVFILE = `export default {
  name: 'crrel',
  environments: { prod: { project: 'my-proj', region: 'europe-west1' } },
  services: {
    web: { image: 'example.com/web:v1', runtime: 'cloud-run', env: { APP_VERSION: process.env.APP_VERSION ?? 'v1' } },
  },
};
`;
const SERVER = `const http = require('node:http');
const version = process.env.APP_VERSION ?? 'v0';
http.createServer((req, res) => {
  res.writeHead(version.startsWith('bad') ? 500 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ version, revision: process.env.K_REVISION }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;
const SERVICE = ['apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: web', 'spec:', '  template:', '    spec:', '      containers:',
  '        - image: example.com/web:v1', '          env:', '            - name: APP_VERSION', '              value: v1', ''].join('\n');

/** The CLI with this suite's shorter limit: the simulator answers in seconds, so a hung release fails fast. */
const devloop = (args: string[], cwd: string, env?: Record<string, string>) => runCli(args, cwd, env, 60_000);

function get(url: string): Promise<{ status: number; json?: any }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => { let json; try { json = JSON.parse(body); } catch { /* not JSON */ } resolve({ status: res.statusCode ?? 0, json }); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0 }));
  });
}

/** Requests to `url` one after another until stopped: answers by version, and every failure. */
function load(url: string) {
  const versions: Record<string, number> = {};
  const failures: string[] = [];
  let running = true;
  const one = async () => {
    while (running) {
      const r = await get(url);
      if (r.status === 200 && r.json?.version) versions[r.json.version] = (versions[r.json.version] ?? 0) + 1;
      else failures.push(`${new Date().toISOString()} status ${r.status}${r.json?.version ? ` from ${r.json.version}` : ''}`);
      await new Promise((res) => setTimeout(res, 5));
    }
  };
  // Four at a time: a step that sent users to a failing revision for a moment shows in the count.
  const loop = Promise.all([one(), one(), one(), one()]);
  return { async stop() { running = false; await loop; return { versions, failures, total: Object.values(versions).reduce((a, b) => a + b, 0) + failures.length }; } };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

async function liveTraffic(dir: string): Promise<Array<{ revisionName: string; percent: number; tag?: string }>> {
  const r = await devloop(['status', '--output', 'json'], dir);
  return JSON.parse(r.stdout).services.web.extra['cloud-run'].traffic;
}

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('devloop release --target cloudrun --via simulator', () => {
  it('steps a good version to 100%, rolls a bad one back at its gate, users see no error', { timeout: 120_000 }, async () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-release-cloudrun-')));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'Devfile.ts'), DEVFILE);
    writeFileSync(path.join(dir, 'server.js'), SERVER);
    writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
    writeFileSync(path.join(dir, 'service.yaml'), SERVICE);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const session = spawn(process.execPath, [cli, 'cloudrun', 'replace', 'service.yaml', '--instances', 'process', '--command', 'node server.js', '--port', String(port), '--output', 'json'],
      { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let sessionErr = '';
    session.stderr!.on('data', (d) => { sessionErr += d; });
    const exited = new Promise<number | null>((r) => session.on('exit', (code) => r(code)));
    const timings: string[] = [];
    try {
      await until(async () => (await get(url)).json?.version === 'v1', 45_000, `v1 serving at ${url}\n${sessionErr}`);

      // A dry run prints the YAML and the steps, and the served file stays as it was.
      const dry = await devloop(['release', '--env', 'prod', '--target', 'cloudrun', '--via', 'simulator', '--image', `web=${digest('a')}`, '--steps', '10,50,100', '--dry-run'], dir, { APP_VERSION: 'v2' });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /traffic:\n {4}- revisionName: PREVIOUS_REVISION\n {6}percent: 100\n {4}- revisionName: web-r[0-9a-z]+\n {6}percent: 0\n {6}tag: candidate/);
      assert.match(dry.stdout, /value: v2/);
      assert.match(dry.stdout, /10%: 10% web-r[0-9a-z]+, 90% PREVIOUS_REVISION/);
      assert.equal(readFileSync(path.join(dir, 'service.yaml'), 'utf8'), SERVICE);
      // Through gcloud, the dry run prints the commands (gcloud is not run, nor needed); a real release without gcloud on PATH says what to do.
      const gdry = await devloop(['release', '--env', 'prod', '--target', 'cloudrun', '--via', 'gcloud', '--image', `web=${digest('a')}`, '--steps', '50,100', '--dry-run'], dir);
      assert.equal(gdry.code, 0, gdry.stderr);
      assert.match(gdry.stdout, /\$ gcloud run services replace web\.service\.yaml --region europe-west1 --project my-proj --quiet\n/);
      assert.match(gdry.stdout, /\$ gcloud run services update-traffic web --to-revisions (web-r[0-9a-z]+)=50,PREVIOUS_REVISION=50 --region europe-west1 --project my-proj --quiet\n/);
      assert.match(gdry.stdout, /\$ gcloud run services update-traffic web --to-revisions web-r[0-9a-z]+=100 --remove-tags candidate --region europe-west1 --project my-proj --quiet/);
      const nogcloud = await devloop(['release', '--env', 'prod', '--target', 'cloudrun', '--image', `web=${digest('a')}`], dir, { PATH: dir });
      assert.equal(nogcloud.code, 2, nogcloud.stderr);
      assert.match(nogcloud.stderr, /gcloud is not on PATH: a Cloud Run release needs it/);
      assert.match(nogcloud.stderr, /--via simulator/);

      // A good version, under load.
      const v1Revision = (await liveTraffic(dir))[0].revisionName;
      let traffic = load(url);
      const good = await devloop(['release', '--env', 'prod', '--target', 'cloudrun', '--via', 'simulator', '--image', `web=${digest('b')}`, '--steps', '10,50,100', '--step-wait', '1s'], dir, { APP_VERSION: 'v2' });
      let seen = await traffic.stop();
      timings.push(`good release ${good.ms} ms, ${seen.total} requests, ${seen.failures.length} failed, by version ${JSON.stringify(seen.versions)}`);
      assert.equal(good.code, 0, `${good.stdout}\n${good.stderr}`);
      assert.deepEqual(seen.failures, [], 'no user request fails during a good release');
      assert.ok(seen.versions.v1 > 0 && seen.versions.v2 > 0, 'users reached both revisions during the steps');
      const v2Revision = /100% on (web-r[0-9a-z]+)/.exec(good.stdout)?.[1];
      assert.ok(v2Revision, good.stdout);
      assert.deepEqual(await liveTraffic(dir), [{ revisionName: v2Revision, percent: 100 }], 'all traffic on the new revision, its tag gone');
      for (let i = 0; i < 5; i++) assert.equal((await get(url)).json?.version, 'v2');

      // A bad version: its gate fails on the tag URL before any user request reaches it.
      traffic = load(url);
      const bad = await devloop(['release', '--env', 'prod', '--target', 'cloudrun', '--via', 'simulator', '--image', `web=${digest('c')}`, '--steps', '10,50,100', '--step-wait', '1s'], dir, { APP_VERSION: 'bad3' });
      seen = await traffic.stop();
      timings.push(`bad release ${bad.ms} ms, ${seen.total} requests, ${seen.failures.length} failed, by version ${JSON.stringify(seen.versions)}`);
      assert.equal(bad.code, 1, `${bad.stdout}\n${bad.stderr}`);
      assert.match(bad.stderr, /requests to http:\/\/127\.0\.0\.1:\d+\/ failed \(last: HTTP 500\): more than --max-error-ratio 0\.05 allows/);
      assert.match(bad.stdout, new RegExp(`web: rolled-back, 100% on ${v2Revision}`));
      assert.deepEqual(seen.failures, [], 'the bad revision got no user traffic');
      assert.deepEqual(Object.keys(seen.versions), ['v2']);
      assert.deepEqual(await liveTraffic(dir), [{ revisionName: v2Revision, percent: 100 }]);

      // The records, and release history.
      const records = readdirSync(path.join(dir, '.devloop', 'releases')).sort().map((f) => JSON.parse(readFileSync(path.join(dir, '.devloop', 'releases', f), 'utf8')));
      assert.deepEqual(records.map((r) => [r.target, r.via, r.outcome]), [['cloudrun', 'simulator', 'succeeded'], ['cloudrun', 'simulator', 'rolled-back']]);
      assert.equal(records[0].services[0].previousRevision, v1Revision);
      assert.deepEqual(records[0].services[0].steps.map((s: any) => s.step), ['rollout', 10, 50, 100, 'promote']);
      assert.ok(records[0].services[0].steps.slice(0, 4).every((s: any) => s.gate.passed && s.gate.errors === 0 && s.gate.requests === 40));
      assert.deepEqual(records[1].services[0].steps.map((s: any) => s.step), ['rollout', 'rollback']);
      assert.equal(records[1].services[0].steps[0].gate.passed, false);
      const history = await devloop(['release', 'history', '--env', 'prod'], dir);
      assert.equal(history.code, 0, history.stderr);
      assert.match(history.stdout, /web@bbbbbbbbbbbb\s+succeeded/);
      assert.match(history.stdout, /web@cccccccccccc\s+rolled-back/);
    } finally {
      session.kill('SIGINT');
      assert.equal(await exited, 0, sessionErr);
      process.stderr.write(`release-cloudrun timings: ${timings.join('; ')}\n`);
    }
  });
});
