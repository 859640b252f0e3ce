import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareGkeVersions, resolveSettings, VersionError } from './settings.js';

describe('settings', () => {
  it('compares GKE versions numerically, build numbers included', () => {
    assert.equal(compareGkeVersions('1.30.2-gke.1394000', '1.30.2-gke.1393999'), 1);
    assert.equal(compareGkeVersions('1.30.10', '1.30.2-gke.1394000'), 1);
    assert.equal(compareGkeVersions('1.29', '1.29.0'), 0);
    assert.equal(compareGkeVersions('v1.28.9', '1.29.4-gke.1427000'), -1);
    assert.throws(() => compareGkeVersions('latest', '1.30'), VersionError);
  });

  it('bursting follows the version unless set', () => {
    assert.equal(resolveSettings({ gkeVersion: '1.30.2-gke.1394000' }).bursting, true);
    assert.equal(resolveSettings({ gkeVersion: '1.30.2-gke.1393000' }).bursting, false);
    assert.equal(resolveSettings({ gkeVersion: '1.31', bursting: false }).bursting, false);
    assert.equal(resolveSettings({ gkeVersion: '1.31', bursting: false }).newWarningFormat, true);
    assert.equal(resolveSettings({}).region, 'us-central1');
  });
});
