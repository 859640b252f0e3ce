/**
 * `devloop:cloud-run`: the Cloud Run simulator. Each concept is its own file:
 *
 * | file          | what                                                                  |
 * | ------------- | --------------------------------------------------------------------- |
 * | data.ts       | every number Cloud Run documents (limits, defaults, scaling presets)   |
 * | spec.ts       | service.yaml / inline options -> validated CloudRunSpec               |
 * | yaml-tree.ts  | the YAML with positions, and the reader that records located issues   |
 * | rules.ts      | Cloud Run's rules (CPU/memory, concurrency, ports, env, traffic, ...)  |
 * | plugin.ts     | the hooks: resolveRuntime, deploy.for('cloud-run'), shutdown          |
 * | runtime.ts    | the deploy work (loaded on the first Cloud Run deploy)                |
 * | service.ts    | one service: revisions, traffic, URLs, state for the TUI              |
 * | proxy.ts      | the front end: routing, headers, streaming, WebSockets, 429/503/504   |
 * | revision.ts   | instances, the request queue, scaling actions                         |
 * | autoscaler.ts | the KPA-style decision (pure)                                         |
 * | instances.ts  | containers / processes as instances, startup probes                   |
 * | liveness.ts   | liveness probes of ready instances                                    |
 * | cpu-meter.ts  | CPU utilisation, the second scaling driver                            |
 * | metadata.ts   | the metadata server each instance reaches                             |
 * | metrics.ts    | Prometheus metrics (prom-client)                                      |
 */
export { cloudRunPlugin, cloudRunPlugin as default, type CloudRunPluginOptions } from './plugin.js';
export { CloudRunService, PLUGIN as CLOUD_RUN_PLUGIN } from './service.js';
export { parseServiceYaml, specFromInline } from './spec.js';
export type { CloudRunSpec, RevisionTemplate, TrafficTarget, ScalingSettings } from './types.js';
