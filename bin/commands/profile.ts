/**
 * `devloop profile <service> [--seconds N] [--heap] [--out FILE]`: a CPU profile (or a heap
 * snapshot) of a Node service of the running session, taken through its inspector (the Chrome
 * DevTools Protocol), written where DevTools and VS Code open it, with the functions that took
 * the most self time printed so the hot one is plain without opening anything.
 *
 * A service not yet running with the inspector is restarted once with it (startInspector, as
 * `devloop debug` does); it stays on until devloop restarts, so the next profile starts at once.
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DevloopError } from '../../core/errors.js';
import { findSession, request, sessionState } from '../../core/session/client.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE, sessionPaths } from '../../core/session/paths.js';
import type { SessionInfo } from '../../core/session/server.js';
import type { ServiceState } from '../../core/store/state.js';
import { CdpSession } from '../profile/cdp.js';
import { createLocator } from '../profile/locate.js';
import { formatTop, summarize, type CpuProfile } from '../profile/summary.js';
import { EXIT, projectDir, type GlobalOptions } from '../shared.js';
import { startInspector } from './debug.js';

export interface ProfileOptions {
  seconds: number;
  heap: boolean;
  /** Relative to the working folder; default `.devloop/profiles/<service>-<time>.<ext>`. */
  out?: string;
  /** How long the restart with the inspector may take. */
  restartTimeoutMs?: number;
}

/**
 * How long a service restarted with the inspector may be healthy without the inspector answering
 * before it is taken for a program that is not Node (NODE_OPTIONS started no inspector in it).
 */
const NOT_NODE_AFTER_MS = 5_000;
const TOP_ROWS = 10;

export async function profile(opts: GlobalOptions, service: string, options: ProfileOptions): Promise<number> {
  const dir = await projectDir(opts);
  const session = await findSession(dir);
  if (!session) {
    throw new DevloopError('no devloop session is running for this project', { code: 'NO_SESSION', hint: 'start one with "devloop up", then run "devloop profile" in another terminal' });
  }
  const services = (await sessionState(session)).services;
  const svc = services[service];
  if (!svc) {
    throw new DevloopError(`no service named "${service}" in the running session`, { code: 'UNKNOWN_SERVICE', exitCode: EXIT.usage, hint: `services are: ${Object.keys(services).join(', ')}` });
  }
  checkRuntime(svc);

  const port = runningInspectorPort(svc) ?? await restartWithInspector(session, service, options.restartTimeoutMs ?? 60_000);
  const wsUrl = await debuggerUrl(service, port);
  const cdp = await CdpSession.connect(wsUrl, 5_000).catch((err: Error) => {
    throw unreachable(service, `its inspector on 127.0.0.1:${port} refused the connection: ${err.message}`);
  });
  try {
    const ext = options.heap ? 'heapsnapshot' : 'cpuprofile';
    const file = options.out ? path.resolve(opts.cwd, options.out) : defaultFile(dir, service, ext);
    if (options.out) mkdirSync(path.dirname(file), { recursive: true });
    const shown = path.relative(opts.cwd, file) || file;
    if (options.heap) {
      const bytes = await heapSnapshot(cdp, file);
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ type: 'profile', kind: 'heap', service, file, bytes })}\n`);
      else process.stdout.write(`${service}: heap snapshot (${(bytes / 1e6).toFixed(1)} MB) written to ${shown}\n  open it in Chrome DevTools: Memory, "Load profile"\n`);
      return EXIT.ok;
    }
    const cpu = await cpuProfile(cdp, options.seconds * 1000);
    writeFileSync(file, JSON.stringify(cpu), { mode: PRIVATE_FILE_MODE });
    const summary = summarize(cpu);
    const locate = createLocator(dir, svc.target === 'process');
    if (opts.output === 'json') {
      const top = summary.functions.slice(0, TOP_ROWS).map((f) => ({
        selfMs: f.selfUs / 1000, selfPct: summary.totalUs ? (100 * f.selfUs) / summary.totalUs : 0, functionName: f.callFrame.functionName, ...locate(f.callFrame),
      }));
      process.stdout.write(`${JSON.stringify({ type: 'profile', kind: 'cpu', service, file, totalMs: summary.totalUs / 1000, busyMs: summary.busyUs / 1000, top })}\n`);
      return EXIT.ok;
    }
    const secs = (us: number) => `${(us / 1e6).toFixed(2)} s`;
    const busyPct = summary.totalUs ? Math.round((100 * summary.busyUs) / summary.totalUs) : 0;
    process.stdout.write([
      `${service}: CPU profile of ${secs(summary.totalUs)} (busy ${secs(summary.busyUs)}, ${busyPct}%) written to ${shown}`,
      '  open it in Chrome DevTools (Performance, "Load profile") or VS Code',
      '',
      `top functions by self time (% of the whole profile):`,
      ...formatTop(summary, locate, TOP_ROWS).map((l) => `  ${l}`),
      '',
    ].join('\n'));
    return EXIT.ok;
  } finally {
    cdp.close();
  }
}

function checkRuntime(svc: ServiceState): void {
  if (svc.target === 'process' || svc.target === 'docker') return;
  // Cloud Run instances come and go with the autoscaler, several at once: one inspector port
  // per service (what startInspector gives) does not fit them yet.
  const why = svc.target === 'cloud-run'
    ? 'a Cloud Run service runs as simulator instances that start and stop with traffic, and devloop does not yet put an inspector in them'
    : `its runtime "${svc.target}" cannot be profiled by devloop`;
  throw new DevloopError(`"devloop profile" supports Node services on the process and docker runtimes; ${svc.name}: ${why}`, {
    code: 'NOT_SUPPORTED',
    hint: `to profile it, run it as a process for a while (services.${svc.name}.runtime: 'process' in Devfile.ts), or start it yourself with node --cpu-prof`,
  });
}

/** The inspector's port when the service already runs with one (`devloop debug`, an earlier profile). */
function runningInspectorPort(svc: ServiceState): number | undefined {
  if (svc.phase !== 'healthy') return undefined;
  const endpoint = svc.endpoints.find((e) => e.name === 'inspector');
  const port = endpoint ? Number(new URL(endpoint.url).port) : NaN;
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

async function restartWithInspector(session: SessionInfo, service: string, timeoutMs: number): Promise<number> {
  process.stderr.write(`${service}: restarting with the Node inspector (once: it stays on until devloop restarts)\n`);
  let asked: number | undefined;
  let healthySince: number | undefined;
  const outcome = await startInspector({
    // startInspector polls the state until the inspector answers; a service healthy this long
    // without one is not going to start one.
    state: async () => {
      const state = await sessionState(session);
      const s = state.services[service];
      if (asked !== undefined && s?.phase === 'healthy' && runningInspectorPort(s) === asked) {
        healthySince ??= Date.now();
        if (Date.now() - healthySince > NOT_NODE_AFTER_MS) {
          throw new DevloopError(`${service} restarted with --inspect in NODE_OPTIONS but no inspector answers on 127.0.0.1:${asked}: it does not look like a Node program`, {
            code: 'NOT_NODE', hint: `"devloop profile" profiles Node services; for another language use its own profiler (see "devloop logs ${service}" for what it runs)`,
          });
        }
      }
      return state;
    },
    restart: async (port) => { asked = port; await request(session.socket, 'POST', `/debug?service=${encodeURIComponent(service)}&port=${port}`); },
  }, service, undefined, timeoutMs);
  if (!outcome.ok) throw unreachable(service, outcome.message);
  return outcome.port;
}

/** The first target's WebSocket address (the inspector of one Node process lists one target). */
async function debuggerUrl(service: string, port: number): Promise<string> {
  const targets = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => r.json() as Promise<{ webSocketDebuggerUrl?: string }[]>)
    .catch((err: Error) => { throw unreachable(service, `its inspector on 127.0.0.1:${port} did not answer: ${err.message}`); });
  const ws = targets[0]?.webSocketDebuggerUrl;
  if (!ws) throw unreachable(service, `its inspector on 127.0.0.1:${port} lists no target`);
  return ws;
}

function unreachable(service: string, why: string): DevloopError {
  return new DevloopError(`cannot profile ${service}: ${why}`, {
    code: 'INSPECTOR_UNREACHABLE', hint: `check that ${service} is healthy ("devloop status") and runs Node; "devloop debug ${service}" restarts it with a fresh inspector`,
  });
}

function defaultFile(root: string, service: string, ext: string): string {
  // Private like the rest of .devloop/: a heap snapshot holds every string the process had (tokens too).
  const dir = path.join(sessionPaths(root).dir, 'profiles');
  ensurePrivateDir(sessionPaths(root).dir);
  ensurePrivateDir(dir);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return path.join(dir, `${service}-${stamp}.${ext}`);
}

/** Samples for `ms` (Ctrl-C ends it early, keeping what was sampled). */
async function cpuProfile(cdp: CdpSession, ms: number): Promise<CpuProfile> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  await new Promise<void>((resolve) => {
    const done = () => { clearTimeout(timer); process.off('SIGINT', done); resolve(); };
    const timer = setTimeout(done, ms);
    process.once('SIGINT', done);
  });
  const { profile } = await cdp.send<{ profile: CpuProfile }>('Profiler.stop');
  await cdp.send('Profiler.disable').catch(() => undefined);
  return profile;
}

/** Streams the snapshot's chunks to `file` as the inspector sends them; returns its size. */
async function heapSnapshot(cdp: CdpSession, file: string): Promise<number> {
  const out = createWriteStream(file, { mode: PRIVATE_FILE_MODE });
  let bytes = 0;
  cdp.on('HeapProfiler.addHeapSnapshotChunk', (p: { chunk: string }) => { bytes += Buffer.byteLength(p.chunk); out.write(p.chunk); });
  try {
    await cdp.send('HeapProfiler.enable');
    // The reply comes after the last chunk.
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    await cdp.send('HeapProfiler.disable').catch(() => undefined);
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return bytes;
}
