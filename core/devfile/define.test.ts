import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineDevfile } from './define.js';
import type { DevfileConfig, DevfileContext } from './types.js';

test('defineDevfile returns an object config unchanged', () => {
  const config: DevfileConfig = { services: { api: { port: 8080 } } };
  assert.equal(defineDevfile(config), config);
});

test('defineDevfile returns a function config unchanged, still callable with the context', async () => {
  const fn = (ctx: DevfileContext): DevfileConfig => ({ name: ctx.mode, services: {} });
  const defined = defineDevfile(fn);
  assert.equal(defined, fn);
  assert.deepEqual(await defined({ mode: 'prod', env: {}, command: 'up' }), { name: 'prod', services: {} });
});

test('defineDevfile accepts an async function', async () => {
  const defined = defineDevfile(async ({ env }) => ({ services: { api: { env: { HOME: env.HOME ?? '' } } } }));
  assert.deepEqual(await defined({ mode: 'local', env: { HOME: '/h' }, command: 'up' }), { services: { api: { env: { HOME: '/h' } } } });
});
