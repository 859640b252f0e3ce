/**
 * GKE Autopilot, simulated: admission (defaults, minimums, ratios, GPU and Spot rules, Warden's
 * security constraints), cost estimates, and a node auto-provisioning planner. `admit` and `plan`
 * are pure so they can be served unchanged by a real admission webhook or a capacity planner.
 */
export { admit, type AdmissionResult, type Denial, type PodRequests } from './admission.js';
export { estimate, podHourly, type Estimate } from './estimate.js';
export { ManifestError, parseManifests, readManifests, type ManifestObject, type ManifestSource } from './manifests.js';
export { autopilotPlugin, admitService, hintFor, PLUGIN_NAME, type AutopilotDeployData, type AutopilotPluginOptions } from './plugin.js';
export { plan, type Cost, type Plan, type PlanNode, type PlanPod, type PlanSettings, type PlacementRecord, type ProvisioningTimings, type TimelineEvent } from './scheduler.js';
export { servicePod, EXTENSION_KEY, type AutopilotExtension } from './service-pod.js';
export { compareGkeVersions, resolveSettings, VersionError, type ClusterSettings, type ResolvedSettings } from './settings.js';
export { formatDenials, WARDEN_WEBHOOK } from './warden.js';
export { canonical, formatQuantity, parseQuantity, QuantityError, type Quantity } from './quantity.js';
export { describeObject, isWorkload, podCount, podTemplate, WORKLOAD_KINDS } from './workload.js';
export { autopilotPlugin as default } from './plugin.js';
export { review, type AdmissionReviewRequest, type AdmissionReviewResponse } from './webhook.js';
