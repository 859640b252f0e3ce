/**
 * Start-up as a user feels it: wall time from spawning `node bin/devloop.js ...` to its exit
 * (`--version`, `--help`, `status` in a folder without a Devfile), and from spawning `up` to its
 * first `build/started` event on the hello-node recipe. The floor, measured in the same run and
 * interleaved with the figures so machine load hits both alike, is `node -e 0`: starting Node
 * itself, which no CLI written for Node gets under.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { median, type BenchResult } from './types.js';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const cli = path.join(root, 'bin', 'devloop.js');
const RUNS = 15;
const UP_RUNS = 7;
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };

function wall(args: string[], cwd: string): number {
  const t0 = performance.now();
  spawnSync(process.execPath, args, { cwd, env, stdio: 'ignore' });
  return performance.now() - t0;
}

// CPU time, all threads, of a live process (Linux): what start-up costs the machine, which a
// loaded machine (the wall figures' noise) changes far less than it changes wall time.
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** CPU time of a bare Node by the time it has started and written a line: the floor for upCpu. */
function nodeCpu(cwd: string): Promise<number | undefined> {
  const child = spawn(process.execPath, ['-e', 'process.stdout.write("up\\n"); setInterval(() => {}, 1000)'], { cwd, env, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).once('line', () => {
      const ms = cpuMs(child.pid);
      child.once('exit', () => resolve(ms));
      child.kill('SIGKILL');
    });
  });
}

/** Launch of `up` to the first build starting; then Ctrl-C and wait for it to stop. */
function upToFirstBuild(dir: string, cpu?: number[], extra: string[] = []): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'up', '--output', 'json', ...extra], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('no build/started within 60 s')); }, 60_000);
    let seen = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (seen || !line.includes('"build/started"')) return;
      seen = true;
      const ms = performance.now() - t0;
      const used = cpuMs(child.pid);
      if (used !== undefined) cpu?.push(used);
      clearTimeout(timer);
      child.kill('SIGINT');
      void exited.then(() => resolve(ms));
    });
    void exited.then(() => { if (!seen) { clearTimeout(timer); reject(new Error('up exited before its first build')); } });
  });
}

export async function run(): Promise<BenchResult[]> {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-startup-empty-'));
  const project = mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-startup-up-'));
  cpSync(path.join(root, 'recipes', 'hello-node'), project, { recursive: true, filter: (s) => !s.includes('.devloop') });
  writeFileSync(path.join(project, 'Devfile.ts'), readFileSync(path.join(project, 'Devfile.ts'), 'utf8').replace('port: 8080', 'port: 18631'));
  const floor: number[] = [];
  const version: number[] = [];
  const help: number[] = [];
  const status: number[] = [];
  try {
    // One untimed round first: the OS file cache, not devloop, would otherwise make the first slow.
    for (const args of [['-e', '0'], [cli, '--version'], [cli, '--help'], [cli, 'status']]) wall(args, empty);
    for (let i = 0; i < RUNS; i++) {
      floor.push(wall(['-e', '0'], empty));
      version.push(wall([cli, '--version'], empty));
      help.push(wall([cli, '--help'], empty));
      status.push(wall([cli, 'status'], empty));
    }
    const up: number[] = [];
    const upNoDashboard: number[] = [];
    const upFloor: number[] = [];
    const upCpu: number[] = [];
    const cpuFloor: number[] = [];
    await upToFirstBuild(project); // untimed: the first run writes .devloop/ and warms esbuild
    for (let i = 0; i < UP_RUNS; i++) {
      upFloor.push(wall(['-e', '0'], project));
      const bare = await nodeCpu(project);
      if (bare !== undefined) cpuFloor.push(bare);
      up.push(await upToFirstBuild(project, upCpu));
      upNoDashboard.push(await upToFirstBuild(project, undefined, ['--no-dashboard']));
    }
    const floorMs = median(floor);
    return [
      { name: `devloop --version, wall, median of ${RUNS}`, value: median(version), unit: 'ms', baseline: { name: 'node -e 0', value: floorMs }, note: 'target <= 100 ms' },
      { name: `devloop --help, wall, median of ${RUNS}`, value: median(help), unit: 'ms', baseline: { name: 'node -e 0', value: floorMs }, note: 'target <= 100 ms' },
      { name: `devloop status, no Devfile (exit 2), wall, median of ${RUNS}`, value: median(status), unit: 'ms', baseline: { name: 'node -e 0', value: floorMs } },
      { name: `devloop up (hello-node): launch to first build/started, median of ${UP_RUNS}`, value: median(up), unit: 'ms', baseline: { name: 'node -e 0', value: median(upFloor) }, note: 'target <= 150 ms; includes the Devfile bundle and evaluation' },
      { name: `devloop up (hello-node): launch to first build/started with the web dashboard, median of ${UP_RUNS}`, value: median(up), unit: 'ms', baseline: { name: 'up --no-dashboard', value: median(upNoDashboard) }, note: 'the dashboard starts once the first build has started: it must not delay it' },
      // Not on every system (/proc): left out there.
      ...(upCpu.length && cpuFloor.length ? [{ name: `devloop up (hello-node): CPU time, all threads, by first build/started, median of ${UP_RUNS}`, value: median(upCpu), unit: 'ms', baseline: { name: 'bare node started', value: median(cpuFloor) }, note: `${1000 / ticksPerSecond} ms steps; esbuild's own process not counted` }] : []),
    ];
  } finally {
    rmSync(empty, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  }
}
