import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDenials, goJson } from './warden.js';

describe('warden', () => {
  it('groups messages by constraint, sorted by id, and can name the requester', () => {
    const text = formatDenials([
      { constraint: 'autogke-disallow-privilege', message: 'container buildkitd is privileged; not allowed in Autopilot' },
      { constraint: 'autogke-disallow-hostnamespaces', message: 'enabling hostPID is not allowed in Autopilot.' },
    ], {}, { user: 'argocd@example.iam.gserviceaccount.com', groups: ['system:authenticated'] });
    assert.equal(text, 'admission webhook "warden-validating.common-webhooks.networking.gke.io" denied the request: GKE Warden rejected the request because it violates one or more constraints.\n' +
      'Violations details: {"[denied by autogke-disallow-hostnamespaces]":["enabling hostPID is not allowed in Autopilot."],"[denied by autogke-disallow-privilege]":["container buildkitd is privileged; not allowed in Autopilot"]}\n' +
      "Requested by user: 'argocd@example.iam.gserviceaccount.com', groups: 'system:authenticated'.");
  });

  it('escapes like Go encoding/json', () => {
    assert.equal(goJson({ a: '<b> & "c"' }), '{"a":"\\u003cb\\u003e \\u0026 \\"c\\""}');
  });

  it('several API-server validation errors are listed together', () => {
    assert.equal(formatDenials([{ constraint: 'api-server-validation', message: 'x: bad' }, { constraint: 'api-server-validation', message: 'y: bad' }], { kind: 'Pod', name: 'p' }), 'The Pod "p" is invalid: [x: bad, y: bad]');
  });
});
