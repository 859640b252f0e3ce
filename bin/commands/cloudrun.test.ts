import assert from 'node:assert/strict';
import { it } from 'node:test';
import { plannedTraffic } from './cloudrun.js';

const live = [{ revisionName: 'api-00003-xyz', percent: 100, latestRevision: true }];

it('update-traffic: splits, LATEST, tags, and folding', () => {
  assert.deepEqual(plannedTraffic(live, { toRevisions: 'api-00001-abc=90,LATEST=10' }), [
    { revisionName: 'api-00001-abc', percent: 90 },
    { latestRevision: true, percent: 10 },
  ]);
  assert.deepEqual(plannedTraffic(live, { setTags: 'canary=LATEST' }), [{ latestRevision: true, percent: 100, tag: 'canary' }], 'a tag on a revision with traffic joins its entry');
  assert.deepEqual(plannedTraffic(live, { setTags: 'old=api-00001-abc' }), [
    { latestRevision: true, percent: 100 },
    { revisionName: 'api-00001-abc', percent: 0, tag: 'old' },
  ]);
  const tagged = [{ revisionName: 'api-00001-abc', percent: 50, tag: 'old' }, { revisionName: 'api-00003-xyz', percent: 50, latestRevision: true }];
  assert.deepEqual(plannedTraffic(tagged, { toLatest: true }), [
    { latestRevision: true, percent: 100 },
    { revisionName: 'api-00001-abc', percent: 0, tag: 'old' },
  ], 'tags stay where they were, without traffic');
  assert.deepEqual(plannedTraffic(tagged, { clearTags: true }), [{ revisionName: 'api-00001-abc', percent: 50 }, { latestRevision: true, percent: 50 }]);
  assert.deepEqual(plannedTraffic(tagged, { removeTags: 'old' }), [{ revisionName: 'api-00001-abc', percent: 50 }, { latestRevision: true, percent: 50 }]);
});

it('update-traffic: refuses percents that do not add up, and malformed lists', () => {
  assert.throws(() => plannedTraffic(live, { toRevisions: 'a=50,b=40' }), /the percents add up to 90; they must add up to exactly 100/);
  assert.throws(() => plannedTraffic(live, { toRevisions: 'a=101' }), /a=101: the percent must be a whole number from 0 to 100/);
  assert.throws(() => plannedTraffic(live, { setTags: 'canary' }), /--set-tags: expected NAME=VALUE pairs/);
  assert.throws(() => plannedTraffic(live, { toLatest: true, toRevisions: 'a=100' }), /cannot be used together/);
});
