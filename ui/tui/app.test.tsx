/** @jsxRuntime automatic */
// Test files sit outside tsconfig's include, so tsx does not apply its `jsx` setting to them.
/**
 * The HUD rendered from store states built by dispatching real actions, asserting on the frame
 * a user would see.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { cleanup, render } from 'ink-testing-library';
import type { ErrorJSON } from '../../core/errors.js';
import type { Action } from '../../core/store/actions.js';
import { createStore, type Store } from '../../core/store/store.js';
import { App } from './app.js';
import { createFeed, type Feed } from './feed.js';
import { stripAnsi } from './log-view.js';

const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));
const KEY = { enter: '\r', esc: '\x1b', pgUp: '\x1b[5~', pgDn: '\x1b[6~', ctrlC: '\x03', down: '\x1b[B' };

interface Harness {
  store: Store;
  feed: Feed;
  frame(): string;
  press(...keys: string[]): Promise<void>;
  dispatch(...actions: Action[]): Promise<void>;
  calls: string[];
}

async function mount(actions: Action[], opts: { columns?: number; rows?: number; debug?: boolean; scope?: 'all' | 'selected' } = {}): Promise<Harness> {
  const store = createStore();
  for (const a of actions) store.dispatch(a);
  const feed = createFeed(store, { intervalMs: 5 });
  const calls: string[] = [];
  const source = {
    triggerManual: (s: string) => { calls.push(`trigger ${s}`); },
    setTriggerMode: (s: string, m: string) => { calls.push(`mode ${s} ${m}`); },
  };
  const r = render(
    <App
      feed={feed} source={source} size={{ columns: opts.columns ?? 180, rows: opts.rows ?? 40 }}
      initial={opts.scope ? { scope: opts.scope } : undefined}
      onQuit={() => calls.push('quit')} onForceQuit={() => calls.push('force')}
      onDebug={opts.debug === false ? undefined : (s) => calls.push(`debug ${s}`)}
    />,
  );
  await settle();
  return {
    store, feed, calls,
    frame: () => stripAnsi(r.lastFrame() ?? ''),
    async press(...keys) {
      for (const k of keys) { r.stdin.write(k); await settle(15); }
    },
    async dispatch(...more) {
      for (const a of more) store.dispatch(a);
      feed.flush();
      await settle();
    },
  };
}

afterEach(() => cleanup());

const svc = (name: string, kind = 'esbuild', target = 'process', triggerMode: 'auto' | 'manual' = 'auto') => ({ name, kind, target, triggerMode });
const loaded = (...services: ReturnType<typeof svc>[]): Action => ({ type: 'config/loaded', file: '/proj/Devfile.ts', services });
const log = (service: string | undefined, message: string, level: 'output' | 'error' | 'info' = 'output'): Action => ({ type: 'log', line: { time: Date.UTC(2024, 0, 1, 12), service, level, message } });
const healthy = (service: string, url: string, image?: string): Action[] => {
  const trigger = { reason: 'file-change', files: ['src/server.ts', 'src/db.ts'] };
  return [
    { type: 'build/started', service, build: { id: 1, startedAt: 1000, trigger } },
    { type: 'build/finished', service, build: { id: 1, startedAt: 1000, finishedAt: 2234, durationMs: 1234, trigger, image } },
    { type: 'service/phase', service, phase: 'starting' },
    { type: 'deploy/finished', service, endpoints: [{ name: 'http', url }] },
    { type: 'service/health', service, health: 'healthy' },
  ];
};
const buildError: ErrorJSON = {
  name: 'PluginError', code: 'BUILD_FAILED', message: 'plugin "devloop:docker" failed in hook "build": COPY failed: file not found: dist/',
  hint: 'run the build before "docker build", or remove the COPY line', plugin: 'devloop:docker', hook: 'build',
};

describe('resource table', () => {
  it('shows each service with kind → target, phase, last build and trigger, image, URL, health', async () => {
    const h = await mount([
      loaded(svc('api'), svc('web', 'docker', 'cloud-run'), svc('db', 'none', 'docker')),
      { type: 'engine/started' },
      ...healthy('api', 'http://localhost:8080', 'europe-docker.pkg.dev/proj/repo/api:tilt-0123456789abcdef'),
      { type: 'service/phase', service: 'web', phase: 'building' },
      { type: 'service/phase', service: 'db', phase: 'queued', waiting: 'waiting for api to become healthy' },
    ], { columns: 200 });
    const f = h.frame();
    const api = f.split('\n').find((l) => l.includes(' api '))!;
    assert.match(api, /esbuild → process/);
    assert.match(api, /healthy/);
    assert.match(api, /1\.2s · file-change src\/server\.ts \+1/);
    assert.match(api, /api:tilt-0123456\b/);
    assert.doesNotMatch(api, /europe-docker/);
    assert.match(api, /http:\/\/localhost:8080/);
    assert.match(api, /✔ ok/);
    assert.match(f.split('\n').find((l) => l.includes(' web '))!, /docker → cloud-run\s+\S building/);
    assert.match(f.split('\n').find((l) => l.includes(' db '))!, /queued .*waiting for api to become healthy/);
    assert.match(f, /devloop ● running {2}3 services: 1 healthy · 1 updating · 1 waiting/);
  });

  it('shows plugin columns only once some service has their data', async () => {
    const h = await mount([loaded(svc('api'), svc('web', 'docker', 'cloud-run'), svc('job', 'docker', 'autopilot'))]);
    for (const col of ['INST', 'QUEUE', 'VCPU', 'MEM', '$/HOUR']) assert.ok(!h.frame().includes(col), `${col} hidden`);
    await h.dispatch({ type: 'service/extra', service: 'web', plugin: 'cloud-run', data: { instances: 3, queueDepth: 12 } });
    assert.match(h.frame(), /INST\s+QUEUE/);
    assert.ok(!h.frame().includes('VCPU'));
    assert.match(h.frame().split('\n').find((l) => l.includes(' web '))!, /\b3\s+12\b/);
    await h.dispatch({ type: 'service/extra', service: 'job', plugin: 'autopilot', data: { vcpu: 0.5, memoryGiB: 2, usdPerHour: 0.0251 } });
    assert.match(h.frame(), /VCPU\s+MEM\s+\$\/HOUR/);
    assert.match(h.frame().split('\n').find((l) => l.includes(' job '))!, /0\.5\s+2Gi\s+\$0\.025/);
  });

  it('j/k and arrows move the selection; the log pane follows it', async () => {
    const h = await mount([loaded(svc('api'), svc('web'), svc('db')), log('api', 'api says hi'), log('web', 'web says hi')]);
    assert.match(h.frame(), /▶ api/);
    assert.match(h.frame(), /logs: api/);
    await h.press('j');
    assert.match(h.frame(), /▶ web/);
    assert.match(h.frame(), /web says hi/);
    assert.ok(!h.frame().includes('api says hi'));
    await h.press(KEY.down, 'k', 'k', 'k');
    assert.match(h.frame(), /▶ api/);
    await h.press('jj');
    assert.match(h.frame(), /▶ db/, 'keys read together (a held-down j) each count');
  });

  it('renders only the rows that fit with 100 services, keeping the selection in view', async () => {
    const names = Array.from({ length: 100 }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
    const h = await mount([loaded(...names.map((n) => svc(n)))], { rows: 30, columns: 120 });
    const lines = h.frame().split('\n');
    assert.ok(lines.length <= 29, `frame is ${lines.length} rows for a 30-row terminal`);
    assert.ok(lines.every((l) => l.length <= 120));
    assert.ok(!h.frame().includes('svc-050'));
    assert.match(h.frame(), /100 services \(1–\d+ shown\)/);
    await h.press(...Array(50).fill('j'));
    assert.match(h.frame(), /▶ svc-050/);
  });

  it('drops the least important columns on a narrow terminal, keeping name, status and URL', async () => {
    const h = await mount([loaded(svc('api')), ...healthy('api', 'http://localhost:8080', 'reg/api:abc')], { columns: 70 });
    const f = h.frame();
    assert.match(f, /api\s+● healthy\s+http:\/\/localhost:8080/);
    assert.ok(!f.includes('IMAGE'));
    assert.ok(f.split('\n').every((l) => l.length <= 70));
  });
});

describe('error panel', () => {
  it('shows the selected service\'s error with its hint as "try:" and where it came from', async () => {
    const h = await mount([
      loaded(svc('api'), svc('web', 'docker', 'docker'), svc('db', 'none', 'docker')),
      { type: 'service/failed', service: 'web', error: buildError },
      { type: 'service/failed', service: 'db', error: { name: 'DevloopError', code: 'PORT_IN_USE', message: 'port 5432 is in use' } },
    ]);
    assert.ok(!h.frame().includes('try:'), 'no panel while the selected service is fine');
    await h.press('j');
    const f = h.frame();
    assert.match(f, /web failed/);
    assert.match(f, /COPY failed: file not found: dist\//);
    assert.match(f, /try: run the build before "docker build", or remove the COPY line/);
    assert.match(f, /plugin devloop:docker · hook build · code BUILD_FAILED/);
    assert.match(f, /also failed: db/);
  });

  it('shows a broken Devfile while the last good one keeps running', async () => {
    const h = await mount([loaded(svc('api')), {
      type: 'config/error',
      error: { name: 'ConfigError', code: 'CONFIG_INVALID', message: 'Devfile.ts:12:7 services.api.port: expected number, got "80a"', hint: 'fix the value and save' },
    }]);
    const f = h.frame();
    assert.match(f, /Devfile error: still running the last good version/);
    assert.match(f, /Devfile\.ts:12:7 services\.api\.port: expected number/);
    assert.match(f, /try: fix the value and save/);
    assert.match(f, /✖ Devfile error/);
    await h.dispatch(loaded(svc('api')));
    assert.ok(!h.frame().includes('Devfile error'));
  });
});

describe('alerts', () => {
  it('a firing alert from devloop:monitoring shows in the header and the error panel, whichever service is selected, and goes when resolved', async () => {
    const firing: Action = { type: 'session/extra', plugin: 'devloop:monitoring', data: { urls: {}, notes: [], alerts: [{ fingerprint: 'f', name: 'DevloopHighErrorRate', service: 'web', severity: 'critical', summary: 'web: 42% of requests fail with 5xx', since: '2026-12-04T10:00:00Z' }] } };
    const h = await mount([loaded(svc('api'), svc('web')), ...healthy('api', 'http://localhost:8080'), firing]);
    const f = h.frame();
    assert.match(f, /⚠ 1 alert firing/);
    assert.match(f, /alert DevloopHighErrorRate \[web\] \(critical\) firing/);
    assert.match(f, /web: 42% of requests fail with 5xx/);
    await h.dispatch({ type: 'session/extra', plugin: 'devloop:monitoring', data: { urls: {}, notes: [], alerts: [] } });
    assert.ok(!h.frame().includes('alert'), h.frame());
  });
});

describe('log pane', () => {
  it('a toggles between the selected service and all services, with names', async () => {
    const h = await mount([loaded(svc('api'), svc('web')), log('api', 'from api'), log('web', 'from web'), log(undefined, 'Devfile reloaded', 'info')]);
    assert.ok(!h.frame().includes('from web'));
    await h.press('a');
    const f = h.frame();
    assert.match(f, /logs: all services/);
    assert.match(f, /api\s+│ from api/);
    assert.match(f, /web\s+│ from web/);
    assert.match(f, /devloop\s+› Devfile reloaded/);
  });

  it('the filter hides lines that do not match; esc shows them again', async () => {
    const h = await mount([loaded(svc('api')), log('api', 'GET /health 200'), log('api', 'POST /orders 500'), log('api', 'GET /items 200')]);
    await h.press('/', 'o', 'r', 'd', KEY.enter);
    let f = h.frame();
    assert.match(f, /POST \/orders 500/);
    assert.ok(!f.includes('/health'));
    assert.ok(!f.includes('/items'));
    assert.match(f, /filter “ord”: 1 match/);
    await h.press(KEY.esc);
    await settle();
    f = h.frame();
    assert.match(f, /GET \/health 200/);
    assert.ok(!f.includes('filter “'));
    await h.press('/HEALTH\r');
    assert.match(h.frame(), /filter “HEALTH”: 0 matches/, 'typed in one burst, Enter included; capitals match case');
  });

  it('follows new lines; PgUp pauses on what is shown, f resumes', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => log('api', `line ${i}`));
    const h = await mount([loaded(svc('api')), ...lines], { rows: 20 });
    assert.match(h.frame(), /line 199/);
    await h.press(KEY.pgUp);
    const paused = h.frame();
    assert.match(paused, /paused/);
    assert.ok(!paused.includes('line 199'));
    await h.dispatch(log('api', 'line 200'), log('api', 'line 201'));
    assert.ok(!h.frame().includes('line 201'), 'a paused pane does not jump');
    assert.match(h.frame(), /\d+ newer lines/);
    await h.press('f');
    assert.match(h.frame(), /line 201/);
    assert.match(h.frame(), /following/);
  });

  it('keeps its ring capped when a service prints 50,000 lines', async () => {
    const h = await mount([loaded(svc('api'))]);
    for (let i = 0; i < 50_000; i++) h.store.dispatch(log('api', `spam ${i}`));
    h.feed.flush();
    await settle();
    const logs = h.feed.getSnapshot().logs;
    assert.equal(logs.all.size, 5000);
    assert.equal(logs.service('api')!.size, 1000);
    assert.equal(logs.retained(), 5000);
    assert.match(h.frame(), /spam 49999/);
  });
});

describe('keys', () => {
  it('r rebuilds and t toggles the trigger mode of the selected service', async () => {
    const h = await mount([loaded(svc('api'), svc('web', 'docker', 'docker', 'manual'))]);
    await h.press('r', 'j', 't', 'r');
    assert.deepEqual(h.calls, ['trigger api', 'mode web auto', 'trigger web']);
    assert.match(h.frame(), /rebuild of web requested/);
  });

  it('d asks for a debugger on the selected service', async () => {
    const h = await mount([loaded(svc('api'))]);
    await h.press('d');
    assert.deepEqual(h.calls, ['debug api']);
  });

  it('q calls onQuit and shows "stopping…" until the engine has stopped', async () => {
    const h = await mount([loaded(svc('api')), { type: 'engine/started' }]);
    await h.press('q');
    assert.deepEqual(h.calls, ['quit']);
    assert.match(h.frame(), /stopping…/);
    await h.dispatch({ type: 'engine/stopping', reason: 'quit' });
    assert.match(h.frame(), /stopping…/);
    await h.press(KEY.ctrlC);
    assert.deepEqual(h.calls, ['quit', 'force']);
    await h.dispatch({ type: 'engine/stopped' });
    assert.match(h.frame(), /● stopped/);
  });

  it('enter shows every detail of the selected service and closes again', async () => {
    const h = await mount([
      loaded(svc('api')),
      ...healthy('api', 'http://localhost:8080', 'reg/api:abc'),
      { type: 'service/extra', service: 'api', plugin: 'cloud-run', data: { instances: 2, revision: 'api-00007', revisions: [{ name: 'api-00007' }], details: ['api-00007  100%  1 ready'] } },
      { type: 'service/restarted', service: 'api', reason: 'crash' },
    ]);
    await h.press(KEY.enter);
    const f = h.frame();
    assert.match(f, /build → run\s+esbuild → process/);
    assert.match(f, /image\s+reg\/api:abc/);
    assert.match(f, /url http\s+http:\/\/localhost:8080/);
    assert.match(f, /last build\s+#1 .* 1\.2s · ok · file-change src\/server\.ts \+1/);
    assert.match(f, /src\/server\.ts, src\/db\.ts/);
    assert.match(f, /restarts\s+1/);
    assert.match(f, /cloud-run\s+instances=2 {2}revision=api-00007\n/);
    assert.match(f, /┃ {5,}api-00007 {2}100% {2}1 ready/, 'the plugin\'s detail lines, one per line');
    assert.doesNotMatch(f, /revisions=/, 'structured values are left to status -o json');
    await h.press(KEY.enter);
    assert.match(h.frame(), /SERVICE/);
  });

  it('? lists the keys', async () => {
    const h = await mount([loaded(svc('api'))]);
    await h.press('?');
    assert.match(h.frame(), /Keys/);
    assert.match(h.frame(), /t\s+switch its trigger mode/);
  });

  it('shows the files waiting for r in manual mode', async () => {
    const h = await mount([loaded(svc('api', 'esbuild', 'process', 'manual')), { type: 'service/pendingFiles', service: 'api', files: ['a.ts', 'b.ts'] }]);
    assert.match(h.frame(), /manual .*2 files changed · r to rebuild/);
  });
});
