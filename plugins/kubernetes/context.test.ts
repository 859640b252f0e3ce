import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wantedContext } from './context.js';

describe('wantedContext', () => {
  const devfile = { kubernetes: { context: 'kind-dev' }, cluster: { kubeContext: 'k3d-old' } };

  it('--context (DEVLOOP_KUBE_CONTEXT) wins over the Devfile, which wins over the kubeconfig', () => {
    assert.deepEqual(wantedContext(devfile, { DEVLOOP_KUBE_CONTEXT: 'minikube' }), { name: 'minikube', source: '--context "minikube"' });
    assert.deepEqual(wantedContext(devfile, {}), { name: 'kind-dev', source: 'kubernetes.context "kind-dev"' });
    assert.deepEqual(wantedContext({ cluster: { kubeContext: 'k3d-old' } }, {}), { name: 'k3d-old', source: 'cluster.kubeContext "k3d-old"' });
    assert.deepEqual(wantedContext({}, { DEVLOOP_KUBE_CONTEXT: '  ' }), { source: 'the kubeconfig\'s current-context' });
  });
});
