/**
 * `devloop/agents`: the Ghostbusters agent framework, importable by users' services (the
 * ai-service template builds on it). Nothing here loads the experts or the CLI: a service that
 * only runs its own agents pays for the framework alone.
 */
export { AgentError, AgentFramework, mapLimit } from './framework.js';
export type { Agent, AgentBudget, AgentContext, CoordinatedResult, CoordinateOptions, ExecuteOptions, FrameworkOptions } from './framework.js';
export { MessageBus } from './bus.js';
export type { BusHandler, BusMessage, KindMap } from './bus.js';
export { parseRunRecord, replay, RECORD_VERSION } from './record.js';
export type { ReplayMismatch, RunRecord, StepRecord } from './record.js';
export { crewPipeline, END, initialCrewState, PipelineError, runPipeline } from './graph.js';
export type { CrewOptions, CrewParts, CrewReport, CrewState, FixOutcome, PipelineResult, PipelineStep, RunPipelineOptions, StepContext, TraceEntry } from './graph.js';
export { chooseFixes, sameProblem, validateFindings } from './triage.js';
export type { Deferred, Dropped } from './triage.js';
export { createModelClient, explainFindings, parseCompletion } from './model.js';
export type { ChatMessage, ChatOptions, ChatResult, ModelClient, ModelConfig, TokenBudget } from './model.js';
export { findingId } from './finding-id.js';
export type { Confidence, Expert, Finding, Fix, RepoView, Severity, TextEdit } from './types.js';
