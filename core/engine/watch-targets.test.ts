import assert from 'node:assert/strict';
import { it } from 'node:test';
import { watchTargets } from './watch-targets.js';

it('derives watch paths from src, docker context or the root, and excludes the Devfile and build outputs', () => {
  const targets = watchTargets({
    ignore: ['**/*.log'],
    services: {
      api: { src: ['src', 'package.json'], build: { type: 'esbuild', entry: 'src/index.ts', outfile: 'out/api.mjs' } },
      web: { build: { type: 'docker', context: 'web' }, ignore: ['web/tmp/**'] },
      job: { build: { type: 'command', command: 'make', cwd: 'job', outputs: ['bin/job'] } },
    },
  }, '/p', ['/p/Devfile.ts', '/p/shared.ts']);
  assert.deepEqual(targets, [
    { name: 'api', paths: ['/p/src', '/p/package.json'], ignore: ['**/*.log'], dockerContext: undefined, ignorePaths: ['/p/Devfile.ts', '/p/shared.ts', '/p/out/api.mjs'] },
    { name: 'web', paths: ['/p/web'], ignore: ['**/*.log', 'web/tmp/**'], dockerContext: '/p/web', ignorePaths: ['/p/Devfile.ts', '/p/shared.ts'] },
    { name: 'job', paths: ['/p'], ignore: ['**/*.log'], dockerContext: undefined, ignorePaths: ['/p/Devfile.ts', '/p/shared.ts', '/p/job/bin/job'] },
  ]);
});

it('watches a Cloud Run service.yaml outside the service\'s sources, once', () => {
  const targets = watchTargets({
    services: {
      api: { src: ['src'], build: { type: 'esbuild', entry: 'src/index.ts' }, cloudRun: { service: 'deploy/api.yaml' } },
      web: { cloudRun: { service: 'web.yaml' } },
    },
  }, '/p', []);
  assert.deepEqual(targets.map((t) => t.paths), [['/p/src', '/p/deploy/api.yaml'], ['/p']]);
});
