import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COLOR_LABEL, TRACK_LABEL, admissionLabel, canaryDeployment, canaryReplicas, otherColor, parseImages, parseSteps, parseStrategy, sideDeployment, withTemplate } from './plan.js';

const labels = { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'shop' };
const stable = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', labels: { ...labels } },
  spec: { replicas: 4, selector: { matchLabels: { ...labels } }, template: { metadata: { labels: { ...labels, tier: 'front' } }, spec: { containers: [{ name: 'web', image: 'r/web@sha256:new' }] } } },
};

describe('release plan', () => {
  it('runs the canary at each percentage of the stable count, rounded up, at least one pod', () => {
    assert.deepEqual(canaryReplicas([25, 50, 100], 4), [1, 2, 4]);
    assert.deepEqual(canaryReplicas([10, 50], 3), [1, 2]);
    assert.deepEqual(canaryReplicas([1], 0), [1]);
  });

  it('withholds one Service selector label from the canary pods, keeping the name when it can', () => {
    assert.deepEqual(admissionLabel(labels), { key: 'app.kubernetes.io/part-of', value: 'shop' });
    assert.deepEqual(admissionLabel({ 'app.kubernetes.io/name': 'web' }), { key: 'app.kubernetes.io/name', value: 'web' });
    assert.throws(() => admissionLabel({}), (e: any) => e.code === 'RELEASE_NO_SELECTOR');
  });

  it('gives the canary the pod labels the Service selects except the withheld one, plus its track, in its own selector', () => {
    const c = canaryDeployment(stable, 2, 'app.kubernetes.io/part-of') as any;
    assert.equal(c.metadata.name, 'web-canary');
    assert.equal(c.spec.replicas, 2);
    assert.deepEqual(c.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'web', [TRACK_LABEL]: 'canary' });
    assert.deepEqual(c.spec.template.metadata.labels, { 'app.kubernetes.io/name': 'web', tier: 'front', [TRACK_LABEL]: 'canary' });
    assert.equal(stable.metadata.name, 'web', 'the stable object is not changed');
    assert.equal(stable.spec.template.metadata.labels['app.kubernetes.io/part-of'], 'shop', 'nor its labels');
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

  it('blue-green: blue is the rendered Deployment with colored pods (its selector untouched), green its own Deployment selecting its color', () => {
    const blue = sideDeployment(stable, 'blue', stable.spec.template, 0) as unknown as typeof stable;
    assert.equal(blue.metadata.name, 'web');
    assert.equal(blue.spec.replicas, 0);
    assert.deepEqual(blue.spec.selector.matchLabels, labels);
    assert.deepEqual(blue.spec.template.metadata.labels, { ...labels, tier: 'front', [COLOR_LABEL]: 'blue' });
    const green = sideDeployment(stable, 'green', stable.spec.template, 4) as unknown as typeof stable;
    assert.equal(green.metadata.name, 'web-green');
    assert.deepEqual(green.spec.selector.matchLabels, { ...labels, [COLOR_LABEL]: 'green' });
    assert.deepEqual(green.spec.template.metadata.labels, { ...labels, tier: 'front', [COLOR_LABEL]: 'green' });
    assert.deepEqual(stable.spec.template.metadata.labels, { ...labels, tier: 'front' }, 'the rendered object is not changed');
    assert.deepEqual([otherColor(undefined), otherColor('blue'), otherColor('green')], ['green', 'green', 'blue']);
    assert.equal(parseStrategy('blue-green'), 'blue-green');
  });
});
