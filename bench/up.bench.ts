/**
 * `devloop up` on the hello-node recipe: time from launch to the first healthy service, against
 * the floor measured in the same run (starting node on the same bundle and polling until it
 * answers). And devloop's own RSS with 20 running process services.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { median, type BenchResult } from './types.js';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const cli = path.join(root, 'bin', 'devloop.js');

function upUntilHealthy(dir: string, count: number): Promise<{ ms: number; pid: number; stop(): Promise<void> }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'up', '--output', 'json'], { cwd: dir, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'ignore'] });
  const healthy = new Set<string>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('not healthy in 60 s')); }, 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const e = JSON.parse(line);
      if (e.type === 'service/health' && e.health === 'healthy') healthy.add(e.service);
      if (healthy.size === count) {
        clearTimeout(timer);
        healthy.add('__done');
        resolve({ ms: performance.now() - t0, pid: child.pid!, stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGINT'); }) });
      }
    });
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-up-'));
  cpSync(path.join(root, 'recipes', 'hello-node'), dir, { recursive: true, filter: (s) => !s.includes('.devloop') });
  writeFileSync(path.join(dir, 'Devfile.ts'), readFileSync(path.join(dir, 'Devfile.ts'), 'utf8').replace('port: 8080', 'port: 18611'));
  const ups: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await upUntilHealthy(dir, 1);
    ups.push(r.ms);
    await r.stop();
  }
  const bare: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(dir, '.devloop/build/hello/index.mjs')], { env: { ...process.env, PORT: '18612' }, stdio: 'ignore' });
    for (;;) {
      const ok = await fetch('http://127.0.0.1:18612/healthz').then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    bare.push(performance.now() - t0);
    await new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
  }

  // 20 services: the same bundle on 20 ports.
  const services = Array.from({ length: 20 }, (_, i) => `    s${i}: { src: ['src'], build: { type: 'esbuild', entry: 'src/server.ts' }, runtime: 'process', port: ${18620 + i}, health: { http: '/healthz' } },`).join('\n');
  writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';\nexport default defineDevfile({ parallelism: 4, services: {\n${services}\n} });\n`);
  const many = await upUntilHealthy(dir, 20);
  await new Promise((r) => setTimeout(r, 2000));
  const rss = rssMiB(many.pid);
  await many.stop();
  rmSync(dir, { recursive: true, force: true });
  return [
    { name: 'devloop up, launch to first healthy (hello-node), median of 5', value: median(ups), unit: 'ms', baseline: { name: 'node on the built bundle until it answers', value: median(bare) }, note: 'includes Node start, Devfile load, esbuild build, health check' },
    { name: 'devloop up, 20 process services: launch to all healthy', value: many.ms, unit: 'ms' },
    { name: 'devloop RSS with 20 running services', value: rss, unit: 'MiB', note: 'devloop process only, not the services' },
  ];
}
