/**
 * A served model on a cluster (`ai.modelServing.models[]` with runtime `kubernetes`): the
 * Deployment and ClusterIP Service that `core/devfile/model-services.ts` puts in the model's
 * `k8s.objects`. Pure, so `devloop render`, the Autopilot admission simulation and the tests see
 * exactly what is applied. The kubernetes runtime substitutes built images and adds its labels
 * (plugins/kubernetes/manifests.ts); nothing here depends on a cluster.
 */
import type { ModelConfig } from '../../core/devfile/types.js';

/** The port the server listens on in the pod, and the Service's port. */
export const MODEL_PORT = 8080;
/** Requests and limits when `resources` leaves them out: enough for a small ONNX model on CPU. */
export const DEFAULT_RESOURCES = { cpu: '1', memory: '2Gi' } as const;
export const DEFAULT_ACCELERATOR = 'nvidia-l4';

/** Where the model is inside the image when `containerModelPath` is not set. */
export function containerModelPath(model: ModelConfig): string {
  return model.containerModelPath ?? `/models/${model.name}/model.onnx`;
}

/**
 * The server's flags for the model's tuning fields, only for those set, so the server's own
 * defaults apply to the rest (main.ts's command line). Shared with the process runtime.
 */
export function tuningFlags(model: ModelConfig): string[] {
  const flags: string[] = [];
  if (model.gpu) flags.push('--gpu');
  if (model.maxBatchSize !== undefined) flags.push('--max-batch-size', String(model.maxBatchSize));
  if (model.maxBatchDelayMs !== undefined) flags.push('--max-batch-delay-ms', String(model.maxBatchDelayMs));
  if (model.instances !== undefined) flags.push('--instances', String(model.instances));
  if (model.maxQueue !== undefined) flags.push('--max-queue', String(model.maxQueue));
  if (model.versionPolicy !== undefined) flags.push('--version-policy', JSON.stringify(model.versionPolicy));
  return flags;
}

/**
 * The model's Deployment (one replica of the image's server) and its Service. The server listens
 * on 0.0.0.0 in the pod (its default, 127.0.0.1, would hide it from the kubelet's probes and the
 * Service). With `gpu`: one `nvidia.com/gpu` requested and limited, and the accelerator's node
 * selector, which is what GKE (Autopilot and node auto-provisioning) places GPU pods by.
 */
export function modelObjects(model: ModelConfig, namespace?: string): object[] {
  const labels = { 'app.kubernetes.io/name': model.name, 'app.kubernetes.io/component': 'model-server' };
  const metadata = { name: model.name, ...(namespace ? { namespace } : {}), labels };
  const quantities: Record<string, string> = {
    cpu: model.resources?.cpu ?? DEFAULT_RESOURCES.cpu,
    memory: model.resources?.memory ?? DEFAULT_RESOURCES.memory,
    ...(model.gpu ? { 'nvidia.com/gpu': '1' } : {}),
  };
  const container = {
    name: 'model-server',
    image: model.image,
    args: ['--name', model.name, '--model', containerModelPath(model), '--port', String(MODEL_PORT), '--host', '0.0.0.0', ...tuningFlags(model)],
    ports: [{ name: 'http', containerPort: MODEL_PORT }],
    // Ready once the model is loaded; live as long as the server answers (a slow load is not a hang).
    readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
    // Requests equal to limits: the pod is Guaranteed, and what Autopilot bills is what it gets.
    resources: { requests: { ...quantities }, limits: { ...quantities } },
  };
  const podSpec = {
    containers: [container],
    ...(model.gpu ? { nodeSelector: { 'cloud.google.com/gke-accelerator': model.accelerator ?? DEFAULT_ACCELERATOR } } : {}),
  };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': model.name } },
      template: { metadata: { labels }, spec: podSpec },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': model.name },
      ports: [{ name: 'http', port: MODEL_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  };
  return [deployment, service];
}
