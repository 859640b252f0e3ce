import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatBytes, parseCpu, parseMemory, suggestMemory } from './resources.js';

it('reads memory as Kubernetes and Docker write it', () => {
  assert.equal(parseMemory('512Mi', 'api'), 512 * 2 ** 20);
  assert.equal(parseMemory('1Gi', 'api'), 2 ** 30);
  assert.equal(parseMemory('500M', 'api'), 500e6, 'Kubernetes M is decimal');
  assert.equal(parseMemory('256m', 'api'), 256 * 2 ** 20, 'docker -m 256m is MiB');
  assert.equal(parseMemory('1g', 'api'), 2 ** 30);
  assert.equal(parseMemory('64MB', 'api'), 64 * 2 ** 20);
  assert.equal(parseMemory('1048576', 'api'), 2 ** 20);
  assert.throws(() => parseMemory('lots', 'api'), /services\.api\.resources\.memory: cannot read "lots"/);
});

it('reads CPUs as cores or millicores', () => {
  assert.equal(parseCpu('0.5', 'api'), 5e8);
  assert.equal(parseCpu('2', 'api'), 2e9);
  assert.equal(parseCpu('250m', 'api'), 2.5e8);
  assert.throws(() => parseCpu('fast', 'api'), /services\.api\.resources\.cpu/);
});

it('words memory sizes and suggests the next limit in the unit users write', () => {
  assert.equal(formatBytes(48 * 2 ** 20), '48 MiB');
  assert.equal(formatBytes(2 ** 30), '1 GiB');
  assert.equal(suggestMemory(48 * 2 ** 20), '96Mi');
  assert.equal(suggestMemory(2 ** 30), '2Gi');
});

it('resources.autoRaise: the cap, the steps up to it, and where it applies (item 18)', async () => {
  const { autoRaiseOff, autoRaisePlan, nextMemoryLimit, formatQuantity } = await import('./resources.js');
  const Mi = 2 ** 20;
  assert.equal(autoRaisePlan({ memory: '64Mi' }, 'web'), undefined, 'opt-in');
  assert.equal(autoRaisePlan({ memory: '64Mi', autoRaise: false }, 'web'), undefined);
  assert.equal(autoRaisePlan({ autoRaise: true }, 'web'), undefined, 'no limit, nothing to raise');
  assert.deepEqual(autoRaisePlan({ memory: '64Mi', autoRaise: { max: '256Mi' } }, 'web'), { limit: 64 * Mi, cap: 256 * Mi, step: 2 });
  assert.deepEqual(autoRaisePlan({ memory: '64Mi', autoRaise: { max: '200Mi', step: 1.5 } }, 'web'), { limit: 64 * Mi, cap: 200 * Mi, step: 1.5 });
  // true: 4x the limit, at most 2Gi, never below the limit.
  assert.deepEqual(autoRaisePlan({ memory: '64Mi', autoRaise: true }, 'web'), { limit: 64 * Mi, cap: 256 * Mi, step: 2 });
  assert.equal(autoRaisePlan({ memory: '1Gi', autoRaise: true }, 'web')?.cap, 2 * 2 ** 30);
  assert.equal(autoRaisePlan({ memory: '3Gi', autoRaise: true }, 'web')?.cap, 3 * 2 ** 30, 'above 2Gi: at its cap from the start');
  assert.throws(() => autoRaisePlan({ memory: '64Mi', autoRaise: { max: 'lots' } }, 'web'), /services\.web\.resources\.autoRaise\.max: cannot read "lots"/);

  // Step by step up to the cap, then nothing.
  const plan = { cap: 192 * Mi, step: 2 };
  const steps: string[] = [];
  for (let at: number | undefined = 64 * Mi; at !== undefined; at = nextMemoryLimit(at, plan)) steps.push(formatQuantity(at));
  assert.deepEqual(steps, ['64Mi', '128Mi', '192Mi']);
  assert.equal(nextMemoryLimit(192 * Mi, plan), undefined);
  assert.equal(nextMemoryLimit(300 * Mi, plan), undefined, 'above the cap (a lowered cap): not raised');
  assert.equal(nextMemoryLimit(100 * Mi, { cap: 2 ** 30, step: 1.5 }), 150 * Mi);
  assert.equal(nextMemoryLimit(65 * Mi, { cap: 2 ** 30, step: 1.5 }), 98 * Mi, 'rounded up to a whole MiB');
  assert.equal(nextMemoryLimit(500e6, { cap: 2 ** 30, step: 2 }), 954 * Mi);
  assert.equal(formatQuantity(2 ** 30), '1Gi');
  assert.equal(formatQuantity(1.5 * 2 ** 30), '1.5Gi');
  assert.equal(formatQuantity(500e6), '476.8Mi');

  // Dev only: `up` (or an engine made in code) in `local`; never `ci`, never another --env.
  assert.equal(autoRaiseOff({ mode: 'local', command: 'up' }), undefined);
  assert.equal(autoRaiseOff({ mode: 'local', command: 'cloudrun replace service.yaml' }), undefined);
  assert.equal(autoRaiseOff({ mode: 'local' }), undefined);
  assert.match(autoRaiseOff({ mode: 'local', command: 'ci' }) ?? '', /devloop ci/);
  assert.match(autoRaiseOff({ mode: 'staging', command: 'up' }) ?? '', /--env staging/);
});
