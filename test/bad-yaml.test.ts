/**
 * Hostile and invalid YAML gets a located error and exit 2: an alias bomb ("billion laughs") must
 * not run the heap out, and fields the API server would refuse must not be "admitted".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repoRoot, runCli } from './helpers.js';

const fixture = (name: string) => `test/fixtures/bad-yaml/${name}`;

describe('bad YAML', { timeout: 120_000 }, () => {
  it('an alias bomb in a service.yaml is a located error, exit 2', { timeout: 30_000 }, async () => {
    const r = await runCli(['cloudrun', 'validate', fixture('cloud-run-bomb.yaml')], { cwd: repoRoot, timeoutMs: 25_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^test\/fixtures\/bad-yaml\/cloud-run-bomb\.yaml:\d+:\d+ the file expands to more than 100,000 values through its aliases \(\*name\); write the values out, or use fewer nested aliases$/m);
  });

  it('an alias bomb given to autopilot check is a located error, exit 2 (not 70)', { timeout: 30_000 }, async () => {
    const r = await runCli(['autopilot', 'check', fixture('k8s-bomb.yaml')], { cwd: repoRoot, timeoutMs: 25_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /k8s-bomb\.yaml:1:1: this document expands to too many values through its aliases/);
    assert.doesNotMatch(r.stderr, /internal error/);
  });

  it('autopilot check refuses negative quantities and replicas, and non-object containers and specs, each located', { timeout: 30_000 }, async () => {
    for (const command of ['check', 'simulate']) {
      const r = await runCli(['autopilot', command, fixture('k8s-invalid.yaml')], { cwd: repoRoot, timeoutMs: 25_000 });
      assert.equal(r.code, 2, `${command}: ${r.stdout}${r.stderr}`);
      const f = 'test/fixtures/bad-yaml/k8s-invalid.yaml';
      for (const line of [
        `${f}:6:13: spec.replicas: Invalid value: -2: must be greater than or equal to 0`,
        `${f}:14:20: spec.template.spec.containers[0].resources.requests.cpu: Invalid value: "-500m": must be greater than or equal to 0`,
        `${f}:15:23: spec.template.spec.containers[0].resources.requests.memory: Invalid value: "lots": quantities must match`,
        `${f}:23:5: spec.containers: expected a list of containers, got a mapping`,
        `${f}:31:3: spec: expected a mapping, got a list`,
      ]) assert.ok(r.stderr.includes(line), `${command} says ${line}\n${r.stderr}`);
    }
  });
});
