/**
 * `devloop:monitoring`: one `/metrics` for the session, and a Prometheus and Alertmanager wired
 * to it, when the Devfile has a `monitoring` block.
 *
 * | hook      | what                                                                           |
 * | --------- | ------------------------------------------------------------------------------ |
 * | (apply)   | claims `engine.metrics`, so the simulators' series join the session endpoint   |
 * | start     | serves `/metrics`, starts Prometheus, Alertmanager and Jaeger (runtime.ts)      |
 * | watch     | counts the file changes that reached each service                              |
 * | shutdown  | sends the last spans, stops the parts and the endpoint                         |
 *
 * Projects without a `monitoring` block pay nothing: the runtime (and prom-client) is loaded
 * only when the block is there, the OpenTelemetry SDK (tracing.ts) only once Jaeger runs. A Devfile edit that changes the block takes effect at the next
 * `devloop up`, which the log says.
 */
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { PLUGIN } from './id.js';

export interface MonitoringPluginOptions {
  /** Names (or paths) to look for each part's binary under, instead of the usual ones. */
  binaries?: Partial<Record<'prometheus' | 'alertmanager' | 'promtool' | 'jaeger', string[]>>;
}

export function monitoringPlugin(options: MonitoringPluginOptions = {}): DevloopPlugin {
  return {
    name: PLUGIN,
    apply(engine) {
      const config = engine.devfile.monitoring;
      if (!config) return;
      let runtime: import('./runtime.js').MonitoringRuntime | undefined;
      if (config.metrics !== false) engine.metrics.claim(PLUGIN, () => runtime?.metricsUrl);
      const at = JSON.stringify(config);

      engine.hooks.start.tapPromise(PLUGIN, async () => {
        const { MonitoringRuntime } = await import('./runtime.js');
        runtime = new MonitoringRuntime(engine, config, options.binaries);
        await runtime.start();
      });

      engine.hooks.watch.tapPromise(PLUGIN, async (ctx) => {
        runtime?.metrics.watched(ctx.service, ctx.changedFiles.length);
      });

      let told = false;
      engine.subscribe((_state, action) => {
        if (action.type !== 'config/loaded' || told || !runtime) return;
        if (JSON.stringify(engine.devfile.monitoring) === at) return;
        told = true;
        engine.logger().warn('monitoring: the Devfile\'s monitoring block changed; the change takes effect at the next devloop up');
      });

      engine.hooks.shutdown.tapPromise(PLUGIN, async () => {
        await runtime?.shutdown();
      });
    },
  };
}
