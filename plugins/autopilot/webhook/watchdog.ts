/**
 * A small process that outlives a killed devloop by the moment it takes to delete the webhook
 * configurations: devloop holds its stdin; when devloop exits, however it exits (SIGKILL, a
 * crash), the pipe closes and this deletes them, so a dead devloop's `failurePolicy: Fail`
 * never blocks creates in the cluster. It reads the kubeconfig the way devloop did (KUBECONFIG,
 * inherited) and takes only names on its command line: no credentials travel.
 *
 * argv: CONTEXT NAME
 */
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';

const [context, name] = process.argv.slice(2);

async function removeAll(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  kc.setCurrentContext(context);
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    // 404 (devloop deleted them itself at stop) and an unreachable cluster are both fine to ignore.
    await api.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name } }).catch(() => undefined);
  }
}

if (!context || !name) {
  process.stderr.write('usage: watchdog CONTEXT NAME (started by devloop\'s Autopilot webhook)\n');
  process.exit(2);
}
process.stdin.resume();
process.stdin.on('data', () => {});
process.stdin.on('close', () => {
  const timer = setTimeout(() => process.exit(1), 15_000);
  void removeAll().finally(() => { clearTimeout(timer); process.exit(0); });
});
