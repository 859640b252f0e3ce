import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DevfileConfig, ServiceConfig } from '../../core/devfile/types.js';
import type { DeployContext } from '../../core/engine/contexts.js';
import { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import type { DevloopPlugin } from '../../core/plugins/types.js';
import type { Action } from '../../core/store/actions.js';
import { admitService, autopilotPlugin } from './plugin.js';

function context(config: ServiceConfig, simulation: DevfileConfig['simulation'] = { autopilot: { enabled: true } }) {
  const logs: string[] = [];
  const actions: Action[] = [];
  const ctx = {
    root: '/tmp/project', devfile: { services: { api: config }, simulation }, mode: 'local',
    logger: { info: (m: string) => logs.push(`info ${m}`), warn: (m: string) => logs.push(`warn ${m}`), error: (m: string) => logs.push(`error ${m}`), output: () => {} },
    dispatch: (a: Action) => actions.push(a), getState: () => { throw new Error('unused'); },
    service: 'api', config, env: { PORT: '8080' }, signal: new AbortController().signal, trigger: { reason: 'initial', files: [] }, data: {},
    runtime: 'docker', build: { image: 'devloop-0123456789abcdef' }, image: 'devloop-0123456789abcdef',
  } as unknown as DeployContext;
  return { ctx, logs, actions };
}

const denied = (fn: () => unknown): DevloopError => {
  try { fn(); } catch (err) { assert.ok(err instanceof DevloopError); return err; }
  assert.fail('expected a denial');
};

describe('devloop:autopilot', () => {
  it('does nothing unless Autopilot is on for the project or the service', () => {
    const { ctx, actions } = context({ resources: { cpu: '200m', memory: '2Gi' } }, {});
    assert.equal(admitService(ctx), undefined);
    assert.deepEqual(ctx.config.resources, { cpu: '200m', memory: '2Gi' });
    assert.equal(actions.length, 0);
  });

  it('gives the local container the CPU and memory Autopilot settles on, and reports warnings and cost', () => {
    const { ctx, logs, actions } = context({ port: 8080, resources: { cpu: '200m', memory: '2Gi' } });
    const data = admitService(ctx)!;
    assert.deepEqual(ctx.config.resources, { cpu: '308m', memory: '2Gi' });
    assert.equal(data.cpu, '308m');
    assert.equal((ctx.data.autopilot as { memory: string }).memory, '2Gi');
    const warning = 'autopilot-default-resources-mutator:Autopilot updated Pod default/api: adjusted resources to meet requirements for containers [api] (see http://g.co/gke/autopilot-resources).';
    assert.ok(logs.includes(`warn ${warning}`), logs.join('\n'));
    assert.equal(actions.length, 1);
    const a = actions[0] as Extract<Action, { type: 'service/extra' }>;
    assert.equal(a.type, 'service/extra');
    assert.equal(a.plugin, 'autopilot');
    assert.deepEqual(a.data.warnings, [warning]);
    assert.equal(a.data.vcpu, 0.308);
    assert.equal(a.data.memoryGiB, 2);
    assert.equal(a.data.usdPerHour, Math.round((0.308 * 0.0445 + 2 * 0.0049225 + 1 * 0.0000548) * 1e9) / 1e9);
  });

  it('a service that sets no memory gets what Autopilot would give it: 2Gi, the default', () => {
    const { ctx } = context({ resources: { cpu: '500m' } });
    admitService(ctx);
    assert.deepEqual(ctx.config.resources, { cpu: '500m', memory: '2Gi' });
  });

  it('without bursting, the CPU the local container gets is rounded to 250m steps', () => {
    const { ctx } = context({ resources: { cpu: '800m', memory: '1Gi' } }, { autopilot: { enabled: true, bursting: false } });
    admitService(ctx);
    assert.deepEqual(ctx.config.resources, { cpu: '1', memory: '1Gi' });
  });

  it('a denial stops the deploy with the Warden text and a fix in Devfile terms', () => {
    const { ctx } = context({ resources: { cpu: '12', memory: '70Gi' }, autopilot: { gpu: { type: 'nvidia-tesla-a100', count: 1 } } }, {});
    const err = denied(() => admitService(ctx));
    assert.equal(err.code, 'AUTOPILOT_DENIED');
    assert.equal(err.service, 'api');
    assert.equal(err.message, 'admission webhook "warden-validating.common-webhooks.networking.gke.io" denied the request: GKE Warden rejected the request because it violates one or more constraints.\n' +
      `Violations details: {"[denied by autogke-pod-limit-constraints]":["Total cpu requested by containers for workload is higher than the Autopilot maximum of '11'"]}`);
    assert.equal(err.hint, 'lower services.api.resources.cpu to at most 11, or raise services.api.autopilot.gpu.count (more GPUs allow more cpu)');
  });

  it('suggests a bigger compute class when one would take the request', () => {
    const { ctx } = context({ resources: { cpu: '40', memory: '100Gi' } });
    assert.equal(denied(() => admitService(ctx)).hint, "lower services.api.resources.cpu to at most 30, or set services.api.autopilot.computeClass to 'Balanced' (up to 222 vCPU, 851Gi)");
  });

  it('security settings come from extensions["devloop:autopilot"] and are checked', () => {
    const { ctx } = context({ extensions: { 'devloop:autopilot': { securityContext: { privileged: true }, hostNetwork: true } } });
    const err = denied(() => admitService(ctx));
    assert.match(err.message, /"\[denied by autogke-disallow-hostnamespaces\]":\["enabling hostNetwork is not allowed in Autopilot."\],"\[denied by autogke-disallow-privilege\]":\["container api is privileged; not allowed in Autopilot"\]/);
    assert.equal(err.hint, "remove hostNetwork, hostPID and hostIPC from services.api.extensions['devloop:autopilot']; remove securityContext.privileged from services.api.extensions['devloop:autopilot']");
  });

  it('Arm with a class that has no Arm nodes says which class to use', () => {
    // Arm with no class at all is admitted (documented-rules.test.ts); Balanced has no Arm nodes.
    const { ctx } = context({ autopilot: { arm: true, computeClass: 'Balanced' } });
    assert.equal(denied(() => admitService(ctx)).hint, "set services.api.autopilot.computeClass to 'Scale-Out', or remove it (Arm needs Scale-Out, Performance or no compute class)");
  });

  it('runs in the engine before the deployer, which sees the adjusted resources; denials fail the service', async () => {
    const seen: Record<string, unknown> = {};
    const runtime: DevloopPlugin = {
      name: 'test-runtime',
      apply(engine) {
        engine.hooks.build.for('command').tapPromise('test-runtime', async () => ({ image: 'img' }));
        engine.hooks.deploy.for('test').tapPromise('test-runtime', async (ctx) => {
          seen[ctx.service] = ctx.config.resources;
          return { runtime: 'test', endpoints: [], stop: async () => {} };
        });
        engine.hooks.observe.tapPromise('test-runtime', async (ctx) => { ctx.setHealth('healthy'); });
      },
    };
    const svc = (extra: Partial<ServiceConfig>): ServiceConfig => ({ build: { type: 'command', command: 'true' }, runtime: 'test', ...extra });
    const engine = new Engine({
      root: '/tmp/project',
      devfile: { services: { api: svc({ resources: { cpu: '200m', memory: '2Gi' } }), big: svc({ resources: { cpu: '64' } }) }, simulation: { autopilot: { enabled: true } } },
      plugins: [runtime, autopilotPlugin()],
    });
    await engine.start();
    await engine.idle();
    const { api, big } = engine.getState().services;
    assert.deepEqual(seen.api, { cpu: '308m', memory: '2Gi' });
    assert.equal(api.phase, 'healthy');
    assert.equal(api.extra.autopilot?.usdPerHour, Math.round((0.308 * 0.0445 + 2 * 0.0049225 + 1 * 0.0000548) * 1e9) / 1e9);
    assert.equal(big.phase, 'failed');
    assert.equal(big.error?.code, 'AUTOPILOT_DENIED');
    assert.equal(seen.big, undefined, 'the deployer never ran');
    await engine.stop();
  });
});
