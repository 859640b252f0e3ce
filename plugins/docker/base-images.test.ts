import assert from 'node:assert/strict';
import { it } from 'node:test';
import { baseImageRefs } from './base-images.js';

it('finds the base images of a Dockerfile: ARG defaults and build args substituted, stages and scratch skipped', () => {
  const text = [
    'ARG NODE=20',
    'ARG REG="docker.io"',
    'FROM ${REG}/node:${NODE} AS build',
    'RUN make',
    'FROM --platform=linux/amd64 busybox:$TAG as tools',
    'FROM build AS test',
    'FROM scratch',
    'COPY --from=build /out /',
    'FROM ${MISSING:-alpine:3.20}',
  ].join('\n');
  assert.deepEqual(baseImageRefs(text, { TAG: 'musl' }), ['docker.io/node:20', 'busybox:musl', 'alpine:3.20']);
  assert.deepEqual(baseImageRefs(text, { NODE: '22', TAG: 'x' })[0], 'docker.io/node:22', 'a build arg overrides the default');
  assert.deepEqual(baseImageRefs('FROM \\\n  node:20\nCMD ["node"]', {}), ['node:20'], 'line continuations');
});
