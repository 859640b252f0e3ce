import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { DeployContext } from '../../core/engine/contexts.js';
import { durationMs, instanceEnv, scalingSettings } from './runtime.js';
import { specFromInline } from './spec.js';
import type { EnvVar } from './types.js';

describe('scaling settings', () => {
  it('dev by default, parity on request, Devfile durations on top, scaleToZero false keeps the last instance', () => {
    assert.equal(scalingSettings({}, undefined).idleTimeoutMs, 30_000);
    const parity = scalingSettings({ preset: 'parity' }, undefined);
    assert.equal(parity.idleTimeoutMs, 15 * 60_000);
    assert.equal(parity.stableWindowMs, 60_000);
    assert.equal(parity.panicWindowMs, 6_000);
    assert.equal(scalingSettings({ idleTimeout: '2m', scaleToZeroAfter: 1500 }, undefined).idleTimeoutMs, 120_000);
    assert.equal(scalingSettings({ scaleToZeroAfter: '1.5s' }, undefined).scaleToZeroAfterMs, 1500);
    assert.equal(scalingSettings({ scaleToZero: false }, undefined).scaleToZeroAfterMs, Number.POSITIVE_INFINITY);
    assert.equal(scalingSettings({ preset: 'parity' }, { tickMs: 50 }).tickMs, 50);
  });

  it('reads durations and names the field when one is wrong', () => {
    assert.equal(durationMs('250ms', 0, 'x'), 250);
    assert.equal(durationMs('2s', 0, 'x'), 2000);
    assert.equal(durationMs(undefined, 7, 'x'), 7);
    assert.throws(() => durationMs('soon', 0, 'simulation.cloudRun.coldStartDelay'), /simulation\.cloudRun\.coldStartDelay: expected a duration like "2s", "500ms" or "15m", got "soon"/);
  });
});

describe('instance env', () => {
  function ctxFor(root: string, env: Record<string, string>): DeployContext {
    return { root, service: 'api', env } as unknown as DeployContext;
  }
  const withEnv = (env: EnvVar[]) => {
    const spec = specFromInline('api', {}, 'services.api.cloudRun');
    spec.template.env = env;
    return spec;
  };

  it('resolves secretKeyRef from the secrets file (latest = highest version) and reports each secret value', { timeout: 30_000 }, async (t) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-cr-secrets-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    writeFileSync(path.join(root, 'secrets.local.yaml'), 'db-pass:\n  "1": first\n  "3": third-value\nplain: just-a-value\n');
    const seen: string[] = [];
    const env = await instanceEnv(ctxFor(root, { FROM_DEVFILE: 'a' }), withEnv([
      { name: 'DB_PASS', secretKeyRef: { name: 'db-pass', key: 'latest' } },
      { name: 'OLD_PASS', secretKeyRef: { name: 'db-pass', key: '1' } },
      { name: 'PLAIN', secretKeyRef: { name: 'plain', key: '7' } },
      { name: 'MODE', value: 'x' },
    ]), {}, (v) => seen.push(v));
    assert.deepEqual(env, { FROM_DEVFILE: 'a', DB_PASS: 'third-value', OLD_PASS: 'first', PLAIN: 'just-a-value', MODE: 'x' });
    assert.deepEqual(seen, ['third-value', 'first', 'just-a-value']);
  });

  it('says which env var needs which secret, and how to add it', { timeout: 30_000 }, async (t) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-cr-secrets-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    await assert.rejects(
      instanceEnv(ctxFor(root, {}), withEnv([{ name: 'TOKEN', secretKeyRef: { name: 'api-token', key: 'latest' } }]), {}, () => {}),
      (err: Error & { hint?: string }) => {
        assert.equal(err.message, 'spec.template.spec.containers[0].env[0] (TOKEN): secret "api-token" version "latest" is not in secrets.local.yaml');
        assert.match(err.hint ?? '', /api-token:\n\s+"latest": "<value>"/);
        return true;
      },
    );
  });

  it('refuses a PORT set in the Devfile env', async () => {
    await assert.rejects(instanceEnv(ctxFor('/tmp', { PORT: '9000' }), withEnv([]), {}, () => {}), /services\.api\.env\.PORT: PORT is reserved on Cloud Run/);
  });
});
