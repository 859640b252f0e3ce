// The pure part of a Cloud Run release: the exact gcloud command lines, the candidate Service's
// traffic block, each step's split. gcloud itself is never run here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CANDIDATE_TAG, candidateService, gcloudDescribe, gcloudReplace, gcloudUpdateTraffic, revisionName, servingRevision, shellLine, stepSplit, tagUrl } from './cloudrun.js';

const t = { service: 'api', region: 'europe-west1', project: 'my-proj' };
const rendered = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'api' }, spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/maxScale': '4' } }, spec: { containers: [{ image: 'r/api@sha256:ab' }] } }, traffic: [{ latestRevision: true, percent: 100 }] } };

describe('release to Cloud Run: gcloud command lines', () => {
  it('replace, describe and update-traffic name the region and project', () => {
    assert.deepEqual(gcloudReplace(t, '/tmp/x/api.service.yaml'), ['gcloud', 'run', 'services', 'replace', '/tmp/x/api.service.yaml', '--region', 'europe-west1', '--project', 'my-proj', '--quiet']);
    assert.deepEqual(gcloudDescribe(t), ['gcloud', 'run', 'services', 'describe', 'api', '--region', 'europe-west1', '--project', 'my-proj', '--format', 'json']);
    assert.deepEqual(gcloudUpdateTraffic(t, stepSplit('api-rnew', 'api-00007-old', 10)), ['gcloud', 'run', 'services', 'update-traffic', 'api', '--to-revisions', 'api-rnew=10,api-00007-old=90', '--region', 'europe-west1', '--project', 'my-proj', '--quiet']);
    assert.deepEqual(gcloudUpdateTraffic(t, [{ revision: 'api-00007-old', percent: 100 }], { removeTag: true }), ['gcloud', 'run', 'services', 'update-traffic', 'api', '--to-revisions', 'api-00007-old=100', '--remove-tags', 'candidate', '--region', 'europe-west1', '--project', 'my-proj', '--quiet']);
  });

  it('quotes only what a shell would split', () => {
    assert.equal(shellLine(['gcloud', 'run', 'services', 'replace', 'my file.yaml']), "gcloud run services replace 'my file.yaml'");
  });
});

describe('release to Cloud Run: the candidate revision', () => {
  it('is named after the service, within 63 characters, the same for the same start', () => {
    const at = new Date('2026-12-04T20:00:00Z');
    assert.match(revisionName('api', at), /^api-r[0-9a-z]+$/);
    assert.equal(revisionName('api', at), revisionName('api', new Date(at)));
    assert.throws(() => revisionName('x'.repeat(60), at), /longer than the 63 characters/);
  });

  it('gets only a tag while the previous revision keeps 100%; the render is not changed', () => {
    const s = candidateService(rendered, 'api-rnew', 'api-00007-old') as any;
    assert.equal(s.spec.template.metadata.name, 'api-rnew');
    assert.deepEqual(s.spec.template.metadata.annotations, { 'autoscaling.knative.dev/maxScale': '4' });
    assert.deepEqual(s.spec.traffic, [{ revisionName: 'api-00007-old', percent: 100 }, { revisionName: 'api-rnew', percent: 0, tag: CANDIDATE_TAG }]);
    assert.deepEqual(rendered.spec.traffic, [{ latestRevision: true, percent: 100 }]);
  });

  it('gets 100% on a first release (nothing else can serve)', () => {
    assert.deepEqual((candidateService(rendered, 'api-rnew', undefined) as any).spec.traffic, [{ revisionName: 'api-rnew', percent: 100, tag: CANDIDATE_TAG }]);
  });
});

describe('release to Cloud Run: traffic', () => {
  it('splits each step between new and previous, 100 leaving only the new', () => {
    assert.deepEqual(stepSplit('n', 'o', 50), [{ revision: 'n', percent: 50 }, { revision: 'o', percent: 50 }]);
    assert.deepEqual(stepSplit('n', 'o', 100), [{ revision: 'n', percent: 100 }]);
  });

  it('the serving revision is the one with the most traffic; tags without traffic do not count', () => {
    assert.equal(servingRevision([{ revisionName: 'a', percent: 30 }, { revisionName: 'b', percent: 70 }, { revisionName: 'c', percent: 0 }]), 'b');
    assert.equal(servingRevision([{ revisionName: 'c', percent: 0 }]), undefined);
  });

  it('the tag URL is Cloud Run\'s when given, else TAG--- before the service host', () => {
    assert.equal(tagUrl({ status: { url: 'https://api-abc-ew.a.run.app', traffic: [{ tag: 'candidate', url: 'https://candidate---api-abc-ew.a.run.app' }] } }, 'candidate'), 'https://candidate---api-abc-ew.a.run.app');
    assert.equal(tagUrl({ status: { url: 'https://api-abc-ew.a.run.app' } }, 'candidate'), 'https://candidate---api-abc-ew.a.run.app');
    assert.equal(tagUrl({}, 'candidate'), undefined);
  });
});
