import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DevfileConfig } from '../devfile/types.js';
import { PluginError } from '../errors.js';
import type { DevloopPlugin } from '../plugins/types.js';
import type { Deployment } from './contexts.js';
import { Engine } from './engine.js';

/** A recording test plugin: builds with kind `test`, deploys to runtime `test`. */
function recorder(events: string[], opts: { buildMs?: number | ((svc: string) => number); failBuild?: string; healthyAfterMs?: number } = {}): DevloopPlugin {
  return {
    name: 'recorder',
    apply(engine) {
      const h = engine.hooks;
      const rec = (hook: string) => (ctx: { service: string }) => { events.push(`${hook}:${ctx.service}`); };
      h.beforeBuild.tap('recorder', rec('beforeBuild'));
      h.build.for('test').tapPromise('recorder', async (ctx) => {
        events.push(`build:${ctx.service}`);
        const ms = typeof opts.buildMs === 'function' ? opts.buildMs(ctx.service) : opts.buildMs ?? 0;
        await sleep(ms, ctx.signal);
        if (opts.failBuild === ctx.service) throw new Error('compiler exploded');
        return { image: `img-${ctx.service}-${ctx.trigger.reason}` };
      });
      h.afterBuild.tap('recorder', rec('afterBuild'));
      h.push.tap('recorder', rec('push'));
      h.beforeDeploy.tap('recorder', rec('beforeDeploy'));
      h.deploy.for('test').tapPromise('recorder', async (ctx): Promise<Deployment> => {
        events.push(`deploy:${ctx.service}`);
        return { runtime: 'test', endpoints: [{ name: 'http', url: `http://127.0.0.1/${ctx.service}` }], stop: async () => { events.push(`stop:${ctx.service}`); } };
      });
      h.afterDeploy.tap('recorder', rec('afterDeploy'));
      h.observe.tapPromise('recorder', async (ctx) => {
        events.push(`observe:${ctx.service}`);
        if (opts.healthyAfterMs) await sleep(opts.healthyAfterMs, ctx.signal);
        ctx.setHealth('healthy');
      });
      h.shutdown.tap('recorder', () => { events.push('shutdown'); });
    },
  };
}

function svc(extra: Record<string, unknown> = {}) {
  return { build: { type: 'command', command: 'true' }, runtime: 'test', ...extra } as DevfileConfig['services'][string];
}

function devfile(services: DevfileConfig['services'], extra: Partial<DevfileConfig> = {}): DevfileConfig {
  return { services, ...extra };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

function engineWith(df: DevfileConfig, plugins: DevloopPlugin[]): Engine {
  return new Engine({ root: '/tmp/project', devfile: df, plugins });
}

// The pipeline reads `build.type` for the hook map key; route `command` to the recorder's `test` builder.
function withTestBuilder(events: string[], opts?: Parameters<typeof recorder>[1]): DevloopPlugin[] {
  const r = recorder(events, opts);
  return [{ name: 'alias', apply(engine) { engine.hooks.build.for('command').tapPromise('alias', (ctx) => engine.hooks.build.for('test').promise(ctx)); } }, r];
}

describe('engine', () => {
  it('runs the hooks of one service in pipeline order', async () => {
    const events: string[] = [];
    const engine = engineWith(devfile({ api: svc() }), withTestBuilder(events));
    await engine.start();
    await engine.idle();
    assert.deepEqual(events, [
      'beforeBuild:api', 'build:api', 'afterBuild:api', 'push:api',
      'beforeDeploy:api', 'deploy:api', 'afterDeploy:api', 'observe:api',
    ]);
    const s = engine.getState().services.api;
    assert.equal(s.phase, 'healthy');
    assert.equal(s.image, 'img-api-initial');
    assert.equal(s.buildCount, 1);
    assert.deepEqual(s.endpoints, [{ name: 'http', url: 'http://127.0.0.1/api' }]);
    await engine.stop();
    assert.deepEqual(events.slice(-2), ['stop:api', 'shutdown']);
    assert.equal(engine.getState().status, 'stopped');
  });

  it('cancels an in-flight build when a newer change arrives, and builds once more', async () => {
    const events: string[] = [];
    const aborted: string[] = [];
    const plugins = withTestBuilder(events, { buildMs: 300 });
    plugins.push({ name: 'abort-spy', apply(e) { e.hooks.beforeBuild.tap('abort-spy', (ctx) => { ctx.signal.addEventListener('abort', () => aborted.push(ctx.trigger.reason)); }); } });
    const engine = engineWith(devfile({ api: svc() }), plugins);
    await engine.start();
    await until(() => events.includes('build:api'));
    await engine.filesChanged('api', ['/tmp/project/src/a.ts']);
    await engine.filesChanged('api', ['/tmp/project/src/b.ts']);
    await engine.idle();
    assert.deepEqual(aborted, ['initial'], 'the first build saw its signal abort');
    assert.equal(events.filter((e) => e === 'build:api').length, 2, 'one cancelled build plus one merged rebuild');
    assert.equal(events.filter((e) => e === 'deploy:api').length, 1, 'the cancelled build never deployed');
    const s = engine.getState().services.api;
    assert.equal(s.image, 'img-api-file-change');
    assert.deepEqual(s.lastBuild?.trigger.files.sort(), ['src/a.ts', 'src/b.ts']);
    assert.equal(s.phase, 'healthy');
    await engine.stop();
  });

  it('records each update: its steps in order, a total that covers them, and why it ran', async () => {
    const events: string[] = [];
    const engine = engineWith(devfile({ api: svc() }), withTestBuilder(events, { buildMs: 30, healthyAfterMs: 20 }));
    await engine.start();
    await engine.idle();
    await engine.filesChanged('api', ['/tmp/project/src/a.ts']);
    await engine.idle();
    const [first, second] = engine.getState().services.api.updates;
    assert.deepEqual([first.id, first.outcome, first.trigger.reason], [1, 'done', 'initial']);
    assert.deepEqual([second.id, second.outcome, second.trigger.files], [2, 'done', ['src/a.ts']]);
    assert.deepEqual(second.steps.map((s) => s.name), ['build', 'push', 'deploy', 'healthy']);
    assert.ok(second.steps[0].ms >= 25, `build step took the build's time: ${JSON.stringify(second.steps)}`);
    assert.ok(second.steps[3].ms >= 15, `healthy step took the observe time: ${JSON.stringify(second.steps)}`);
    assert.ok(second.totalMs >= second.steps.reduce((n, s) => n + s.ms, 0));
    const said = engine.getState().services.api.logTail.filter((l) => l.message.startsWith('update #'));
    assert.deepEqual(said.map((l) => l.message.replace(/\d+\.\d\d s/g, 'N s')), [
      'update #1 done in N s (build N s, push N s, deploy N s, healthy N s) at start-up',
      'update #2 done in N s (build N s, push N s, deploy N s, healthy N s) after src/a.ts changed',
    ], 'each update summarised once in the service log');
    await engine.stop();
  });

  it('records a failed update with the step it failed at, and logs the failure once, before the failed action', async () => {
    const events: string[] = [];
    const engine = engineWith(devfile({ api: svc() }), withTestBuilder(events, { failBuild: 'api', buildMs: 10 }));
    const actions: string[] = [];
    engine.subscribe((_s, a) => { if (a.type === 'service/failed' || a.type === 'update/finished' || (a.type === 'log' && a.line.level === 'error')) actions.push(a.type === 'log' ? `log:${a.line.message}` : a.type); });
    await engine.start();
    await engine.idle();
    const [u] = engine.getState().services.api.updates;
    assert.equal(u.outcome, 'failed');
    assert.equal(u.failedStep, 'build');
    assert.deepEqual(u.steps.map((s) => s.name), ['build']);
    assert.equal(actions.length, 3, actions.join('\n'));
    assert.match(actions[0], /^log:building failed: .*compiler exploded/);
    assert.deepEqual(actions.slice(1), ['service/failed', 'update/finished']);
    await engine.stop();
  });

  it('isolates a failing plugin: names it and the hook, other services keep going', async () => {
    const events: string[] = [];
    const bad: DevloopPlugin = {
      name: 'devloop-plugin-flaky',
      apply(e) { e.hooks.beforeDeploy.tapPromise('devloop-plugin-flaky', async (ctx) => { if (ctx.service === 'web') throw new Error('quota check failed'); }); },
    };
    const engine = engineWith(devfile({ api: svc(), web: svc() }), [...withTestBuilder(events), bad]);
    await engine.start();
    await engine.idle();
    const { api, web } = engine.getState().services;
    assert.equal(api.phase, 'healthy');
    assert.equal(web.phase, 'failed');
    assert.equal(web.error?.message, 'plugin "devloop-plugin-flaky" failed in hook "beforeDeploy": quota check failed');
    assert.equal(web.error?.plugin, 'devloop-plugin-flaky');
    assert.equal(web.error?.hook, 'beforeDeploy');
    assert.equal(web.error?.cause?.message, 'quota check failed');
    await engine.stop();
  });

  it('survives a plugin whose apply() throws and reports it', async () => {
    const events: string[] = [];
    const broken: DevloopPlugin = { name: 'broken', apply() { throw new Error('bad options'); } };
    const engine = engineWith(devfile({ api: svc() }), [broken, ...withTestBuilder(events)]);
    await engine.start();
    await engine.idle();
    assert.equal(engine.getState().services.api.phase, 'healthy');
    assert.ok(engine.getState().logTail.some((l) => l.level === 'error' && l.message === 'plugin "broken" failed in hook "apply": bad options'));
    assert.deepEqual(engine.pluginNames, ['alias', 'recorder']);
    await engine.stop();
  });

  it('holds a service until its dependencies are healthy', async () => {
    const events: string[] = [];
    const engine = engineWith(
      devfile({ web: svc({ dependsOn: ['api'] }), api: svc({ dependsOn: ['db'] }), db: svc() }),
      withTestBuilder(events, { healthyAfterMs: 50 }),
    );
    const waiting: string[] = [];
    engine.subscribe((s, a) => { if (a.type === 'service/phase' && a.waiting?.startsWith('waiting for')) waiting.push(`${a.service}: ${a.waiting}`); });
    await engine.start();
    await engine.idle();
    const deploys = events.filter((e) => e.startsWith('deploy:'));
    assert.deepEqual(deploys, ['deploy:db', 'deploy:api', 'deploy:web']);
    assert.ok(events.indexOf('deploy:api') > events.indexOf('observe:db'));
    assert.ok(waiting.some((w) => w.startsWith('web: waiting for api to become healthy')), waiting.join('\n'));
    // Builds are not held: all three built before db was healthy.
    assert.ok(events.indexOf('build:web') < events.indexOf('observe:db'));
    await engine.stop();
  });

  it('keeps a dependent waiting (with the reason) when its dependency fails', async () => {
    const events: string[] = [];
    const engine = engineWith(devfile({ web: svc({ dependsOn: ['api'] }), api: svc() }), withTestBuilder(events, { failBuild: 'api' }));
    await engine.start();
    await until(() => engine.getState().services.web.waiting?.includes('which failed') ?? false);
    assert.match(engine.getState().services.web.waiting!, /^waiting for api to become healthy, which failed: plugin "recorder" failed in hook "build.for\(test\)": compiler exploded/);
    assert.equal(engine.getState().services.api.lastBuild?.error?.cause?.message, 'compiler exploded');
    await engine.stop();
    assert.ok(!events.includes('deploy:web'));
  });

  it('runs at most `parallelism` builds at once and says why the others wait', async () => {
    const events: string[] = [];
    let running = 0;
    let peak = 0;
    const gauge: DevloopPlugin = {
      name: 'gauge',
      apply(e) {
        e.hooks.beforeBuild.tap('gauge', () => { running++; peak = Math.max(peak, running); });
        e.hooks.afterBuild.tap('gauge', () => { running--; });
      },
    };
    const services = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((n) => [n, svc()]));
    const engine = engineWith(devfile(services, { parallelism: 2 }), [...withTestBuilder(events, { buildMs: 40 }), gauge]);
    const reasons = new Set<string>();
    engine.subscribe((_s, a) => { if (a.type === 'service/phase' && a.phase === 'queued' && a.waiting) reasons.add(a.waiting); });
    await engine.start();
    await engine.idle();
    assert.equal(peak, 2);
    assert.ok(reasons.has('waiting for a free slot (2 of 2 services busy)'));
    assert.ok(Object.values(engine.getState().services).every((s) => s.phase === 'healthy'));
    await engine.stop();
  });

  it('in manual mode collects changes and builds only when triggered', async () => {
    const events: string[] = [];
    const engine = engineWith(devfile({ api: svc({ triggerMode: 'manual' }) }), withTestBuilder(events));
    await engine.start();
    await engine.idle();
    await engine.filesChanged('api', ['/tmp/project/src/x.ts']);
    await engine.idle();
    assert.equal(events.filter((e) => e === 'build:api').length, 1);
    assert.deepEqual(engine.getState().services.api.pendingFiles, ['src/x.ts']);
    engine.triggerManual('api');
    await engine.idle();
    assert.equal(events.filter((e) => e === 'build:api').length, 2);
    assert.deepEqual(engine.getState().services.api.lastBuild?.trigger, { reason: 'manual', files: ['src/x.ts'] });
    assert.deepEqual(engine.getState().services.api.pendingFiles, []);
    await engine.stop();
  });

  it('applies a change in place when shouldRebuild says false (live update)', async () => {
    const events: string[] = [];
    const live: DevloopPlugin = {
      name: 'live',
      apply(e) {
        e.hooks.shouldRebuild.tap('live', (ctx) => {
          if (!ctx.changedFiles.every((f) => f.endsWith('.css'))) return undefined;
          ctx.steps.push({ name: 'sync', ms: 12 }, { name: 'restart', ms: 340 });
          return false;
        });
      },
    };
    const engine = engineWith(devfile({ api: svc() }), [...withTestBuilder(events), live]);
    await engine.start();
    await engine.idle();
    const runs = engine.getState().services.api.runCount;
    await engine.filesChanged('api', ['/tmp/project/public/site.css']);
    await engine.idle();
    assert.equal(events.filter((e) => e === 'build:api').length, 1, 'css change applied without a build');
    // The live update is an update of its own: a run number, a record with the plugin's steps, a summary line.
    const s = engine.getState().services.api;
    assert.equal(s.runCount, runs + 1);
    assert.equal(s.deployedRun, runs + 1);
    const u = s.updates!.at(-1)!;
    assert.equal(u.live, true);
    assert.deepEqual(u.steps, [{ name: 'sync', ms: 12 }, { name: 'restart', ms: 340 }]);
    assert.deepEqual(u.trigger, { reason: 'file-change', files: ['public/site.css'] });
    const line = s.logTail.map((l) => l.message).find((t) => t.startsWith(`update #${runs + 1} `));
    assert.match(line ?? '', /^update #\d+ done in \d+\.\d\d s \(live update: sync 0\.01 s, restart 0\.34 s\) after public\/site\.css changed$/, String(line));
    await engine.filesChanged('api', ['/tmp/project/src/index.ts']);
    await engine.idle();
    assert.equal(events.filter((e) => e === 'build:api').length, 2, 'code change rebuilt');
    await engine.stop();
  });

  it('reloads a new Devfile: rebuilds changed services, starts new ones, stops removed ones', async () => {
    const events: string[] = [];
    const engine = engineWith(devfile({ api: svc(), web: svc(), old: svc() }), withTestBuilder(events));
    await engine.start();
    await engine.idle();
    events.length = 0;
    const result = await engine.reload(devfile({ api: svc({ env: { LOG: 'debug' } }), web: svc(), fresh: svc() }));
    await engine.idle();
    assert.deepEqual(result, { added: ['fresh'], removed: ['old'], changed: ['api'] });
    assert.ok(events.includes('stop:old'));
    assert.ok(events.includes('build:api') && events.includes('build:fresh'));
    assert.ok(!events.includes('build:web'), 'unchanged service untouched');
    assert.deepEqual(engine.getState().order, ['api', 'web', 'fresh']);
    assert.equal(engine.getState().services.api.lastBuild?.trigger.reason, 'config-change');
    await engine.stop();
  });

  it('keeps the last good config when a reload fails and shows the error', async () => {
    const events: string[] = [];
    const engine = engineWith(devfile({ api: svc() }), withTestBuilder(events));
    await engine.start();
    await engine.idle();
    engine.configError(new Error('Devfile.ts:3:11 services.api.port: expected a number, got "80a"'));
    const s = engine.getState();
    assert.equal(s.config.error?.message, 'Devfile.ts:3:11 services.api.port: expected a number, got "80a"');
    assert.equal(s.services.api.phase, 'healthy');
    assert.equal(events.filter((e) => e.startsWith('stop:')).length, 0);
    await engine.reload(devfile({ api: svc() }));
    assert.equal(engine.getState().config.error, undefined, 'a good reload clears the error');
    await engine.stop();
  });

  it('reports a build kind no plugin handles with a fix', async () => {
    const engine = engineWith(devfile({ api: { build: { type: 'command', command: 'true' }, runtime: 'test' } }), []);
    await engine.start();
    await engine.idle();
    const err = engine.getState().services.api.error!;
    assert.equal(err.code, 'NO_BUILDER');
    assert.equal(err.message, 'no plugin builds services of build type "command"');
    assert.match(err.hint!, /hooks\.build\.for\("command"\)/);
    await engine.stop();
  });

  it('redacts secret env values from logs', async () => {
    const engine = engineWith(devfile({ api: svc({ env: { API_TOKEN: 'tok-123456789' } }) }), []);
    await engine.start();
    engine.logger('api').output('connecting with tok-123456789 now');
    assert.equal(engine.getState().services.api.logTail.at(-1)?.message, 'connecting with [redacted] now');
    await engine.stop();
  });

  it('wraps errors from every tap style with the plugin name', async () => {
    const engine = engineWith(devfile({}), []);
    engine.hooks.failed.tapAsync('cb-plugin', (_ctx, cb) => cb(new Error('callback style')));
    await assert.rejects(engine.hooks.failed.promise({} as never), (err: unknown) => err instanceof PluginError && err.plugin === 'cb-plugin' && err.hook === 'failed');
    await engine.stop();
  });
});
