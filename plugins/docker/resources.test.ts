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
