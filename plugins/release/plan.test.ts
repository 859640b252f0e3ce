import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TRACK_LABEL, canaryDeployment, canaryReplicas, parseImages, parseSteps, withTemplate } from './plan.js';

const stable = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', labels: { 'app.kubernetes.io/name': 'web' } },
  spec: { replicas: 4, selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } }, template: { metadata: { labels: { 'app.kubernetes.io/name': 'web' } }, spec: { containers: [{ name: 'web', image: 'r/web@sha256:new' }] } } },
};

describe('release plan', () => {
  it('runs the canary at each percentage of the stable count, rounded up, at least one pod', () => {
    assert.deepEqual(canaryReplicas([25, 50, 100], 4), [1, 2, 4]);
    assert.deepEqual(canaryReplicas([10, 50], 3), [1, 2]);
    assert.deepEqual(canaryReplicas([1], 0), [1]);
  });

  it('gives the canary the pod labels the Service selects plus its track, in its own selector', () => {
    const c = canaryDeployment(stable, 2) as any;
    assert.equal(c.metadata.name, 'web-canary');
    assert.equal(c.spec.replicas, 2);
    assert.deepEqual(c.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'web', [TRACK_LABEL]: 'canary' });
    assert.deepEqual(c.spec.template.metadata.labels, { 'app.kubernetes.io/name': 'web', [TRACK_LABEL]: 'canary' });
    assert.equal(stable.metadata.name, 'web', 'the stable object is not changed');
  });

  it('puts an earlier pod template back into the rendered Deployment', () => {
    const back = withTemplate(stable, { spec: { containers: [{ name: 'web', image: 'r/web@sha256:old' }] } }) as any;
    assert.equal(back.spec.template.spec.containers[0].image, 'r/web@sha256:old');
    assert.equal(back.spec.replicas, 4);
  });

  it('refuses steps that do not rise, and images not given by digest', () => {
    assert.deepEqual(parseSteps('25,50,100'), [25, 50, 100]);
    assert.throws(() => parseSteps('50,25'), /not a rising list/);
    assert.throws(() => parseSteps('0,100'), /not a rising list/);
    assert.throws(() => parseImages(['web=r/web:latest'], { web: {} }, 'Devfile.ts'), (e: any) => e.code === 'RELEASE_IMAGE_NOT_DIGEST');
    assert.throws(() => parseImages(['api=r/api@sha256:' + 'a'.repeat(64)], { web: {} }, 'Devfile.ts'), (e: any) => e.code === 'UNKNOWN_SERVICE');
  });
});
