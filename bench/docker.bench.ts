/**
 * Edit-to-serving latency on the Docker runtime: the time from writing a source file to the first
 * HTTP response that shows the new code, median of 10 edits, for
 *   (c) devloop rebuilding the image and switching the service's port to the new container
 *       (forwarder.ts), and
 *   devloop's live update (sync the file into the container + restart its process under the
 *   supervisor: supervisor.ts),
 * against the plain docker CLI measured in the same run the same way: `docker build` +
 * `docker rm -f` + `docker run` of the same small node service (FROM devloop-test/node:20); and,
 * with the eager client, each against devloop's old path in the same run: stop the old container
 * then start the new one (`switchPorts: false`), and restart the whole container
 * (`restartProcess: false`).
 *
 * Two clients, both timed from the write:
 * - `eager`: a request every 10 ms from the moment of the write (a browser hammering reload). A
 *   request that reaches docker-proxy while Docker is still wiring the new container's network
 *   leaves the host's ARP entry for the container IP INCOMPLETE, and everything waits for the
 *   kernel's 1 s ARP retry; this hits every tool that restarts containers.
 * - `after`: requests start when the tool says it is done (devloop: the pipeline settled or the
 *   live update returned; CLI: `docker run` returned), so the figure is the tool's own latency.
 *
 * The engine is told about the edit directly (engine.filesChanged), as the watcher would after
 * its quiet window (100 ms by default), which is not included here; nor is it in the baseline.
 * Needs the test infrastructure: `bash test/infra/up.sh`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DevfileConfig, LiveUpdateStep } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { dockerPlugin, type DockerPluginOptions } from '../plugins/docker/index.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { median, percentile, type BenchResult } from './types.js';

const fixture = path.resolve(new URL('../test/fixtures/docker-node', import.meta.url).pathname);
const EDITS = 10;
const DEADLINE_MS = 60_000;

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(body));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
  });
}

/**
 * Ms from `t0` until the service answers with `token`. A new request starts every 10 ms without
 * waiting for the previous ones: a connection made while the container's network is still coming
 * up can sit in a 1 s SYN retransmit, and a serial poller would charge that second to the tool.
 */
function servedAfter(url: string, token: string, t0: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    const tick = setInterval(() => {
      if (performance.now() - t0 > DEADLINE_MS) { clearInterval(tick); done = true; reject(new Error(`${url} never served ${token}`)); return; }
      get(url).then((body) => {
        if (!done && body.includes(token)) { done = true; clearInterval(tick); resolve(performance.now() - t0); }
      }, () => { /* not up yet */ });
    }, 10);
  });
}

function copy(tag: string): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), `devloop-bench-docker-${tag}-`)));
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

type Client = 'eager' | 'after';

async function viaEngine(tag: string, client: Client, liveUpdate?: LiveUpdateStep[], options: DockerPluginOptions = {}): Promise<number[]> {
  const root = copy(tag);
  const port = await findFreePort();
  const project = `bench-${tag}-${client}`;
  const devfile: DevfileConfig = { name: project, services: { web: { build: { type: 'docker' }, runtime: 'docker', port, liveUpdate } } };
  const engine = new Engine({ root, devfile, plugins: [dockerPlugin(options)] });
  const file = path.join(root, 'src', 'message.txt');
  const times: number[] = [];
  try {
    await engine.start();
    await engine.idle();
    const url = engine.getState().services.web.endpoints[0]?.url;
    if (!url) throw new Error(`${project}: no endpoint: ${JSON.stringify(engine.getState().services.web.error)}`);
    for (let i = 0; i < EDITS; i++) {
      const token = `${tag}-${i}-${Date.now()}`;
      const t0 = performance.now();
      writeFileSync(file, `${token}\n`);
      const changed = engine.filesChanged('web', [file]);
      if (client === 'eager') {
        times.push(await servedAfter(url, token, t0));
      } else {
        await changed;
        await engine.idle();
        times.push(await servedAfter(url, token, t0));
      }
      await engine.idle();
    }
    const s = engine.getState().services.web;
    if (liveUpdate && s.buildCount !== 1) throw new Error(`live update rebuilt ${s.buildCount - 1} times`);
  } finally {
    await engine.stop();
    const images = execFileSync('docker', ['images', '-q', `devloop-${project}-web`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    if (images.length) execFileSync('docker', ['rmi', '-f', ...new Set(images)], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  }
  return times;
}

async function viaCli(client: Client): Promise<number[]> {
  const root = copy('cli');
  const port = await findFreePort();
  const image = 'devloop-bench-cli:latest';
  const name = `devloop-bench-cli-${process.pid}`;
  const file = path.join(root, 'src', 'message.txt');
  const docker = promisify((args: string[], cb: (err: Error | null, out: string) => void) => { execFile('docker', args, { cwd: root }, (err, out) => cb(err, out)); });
  const times: number[] = [];
  // Each build re-points the tag and leaves the previous image dangling: removed at the end.
  const built = new Set<string>();
  try {
    // Warm-up, as the engine's first build is: the base layers are cached for both.
    built.add((await docker(['build', '-q', '-t', image, '.'])).trim());
    for (let i = 0; i < EDITS; i++) {
      const token = `cli-${i}-${Date.now()}`;
      const t0 = performance.now();
      writeFileSync(file, `${token}\n`);
      const served = client === 'eager' ? servedAfter(`http://127.0.0.1:${port}`, token, t0) : undefined;
      built.add((await docker(['build', '-q', '-t', image, '.'])).trim());
      await docker(['rm', '-f', name]).catch(() => {});
      await docker(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:${port}`, '-e', `PORT=${port}`, image]);
      times.push(await (served ?? servedAfter(`http://127.0.0.1:${port}`, token, t0)));
    }
  } finally {
    await docker(['rm', '-f', name]).catch(() => {});
    await docker(['rmi', '-f', image, ...built]).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
  return times;
}

export async function run(): Promise<BenchResult[]> {
  execFileSync('docker', ['image', 'inspect', 'devloop-test/node:20'], { stdio: 'ignore' });
  const live: LiveUpdateStep[] = [{ sync: { from: 'src', to: '/app/src' } }, { restart: true }];
  const spread = (xs: number[]) => `p90 ${Math.round(percentile(xs, 90))} ms, min ${Math.round(Math.min(...xs))} ms`;
  const results: BenchResult[] = [];
  for (const client of ['after', 'eager'] as const) {
    const cli = await viaCli(client);
    const rebuild = await viaEngine('rebuild', client);
    const sync = await viaEngine('live', client, live);
    const baseline = { name: `docker build + rm -f + run (CLI, ${client} client)`, value: median(cli) };
    results.push(
      { name: `edit-to-serving, ${client} client: devloop rebuild + switch (median of ${EDITS})`, value: median(rebuild), unit: 'ms', baseline, note: `${spread(rebuild)}; CLI ${spread(cli)}` },
      { name: `edit-to-serving, ${client} client: devloop live update, sync + process restart (median of ${EDITS})`, value: median(sync), unit: 'ms', baseline, note: spread(sync) },
    );
  }
  // The old paths, measured now with the client the issue measured (polling from the save).
  const rebuild = results.find((r) => r.name.startsWith('edit-to-serving, eager client: devloop rebuild'))!;
  const sync = results.find((r) => r.name.startsWith('edit-to-serving, eager client: devloop live update'))!;
  const oldReplace = await viaEngine('rebuild-old', 'eager', undefined, { switchPorts: false });
  const oldRestart = await viaEngine('live-old', 'eager', live, { restartProcess: false });
  results.push(
    { name: `save-to-new-content, eager client: rebuild + switch vs stop-then-start (median of ${EDITS})`, value: rebuild.value, unit: 'ms', baseline: { name: 'old path: stop the old container, then start the new one', value: median(oldReplace) }, note: `old ${spread(oldReplace)}` },
    { name: `save-to-new-content, eager client: live update process restart vs container restart (median of ${EDITS})`, value: sync.value, unit: 'ms', baseline: { name: 'old path: restart the whole container', value: median(oldRestart) }, note: `old ${spread(oldRestart)}` },
  );
  return results;
}
