/** The public API of the `devloop` package: what a Devfile and a plugin import. */
export { defineDevfile } from './devfile/define.js';
export type * from './devfile/types.js';
export type { DevloopPlugin, PluginFactory, PluginSpec } from './plugins/types.js';
export type * from './engine/contexts.js';
export type { EngineHooks } from './engine/hooks.js';
export type { MetricsSource } from './engine/metrics.js';
export type { SpanRecord, SpanSink } from './engine/tracing.js';
export { Engine, createEngine, type EngineOptions } from './engine/engine.js';
export type { Action } from './store/actions.js';
export type { EngineState, ServiceState, Phase, Endpoint, HealthState, LogLine } from './store/state.js';
export { DevloopError, UsageError, ConfigError, PluginError, BugError, CancelledError } from './errors.js';
