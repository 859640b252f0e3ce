/**
 * The agent framework (`devloop/agents`): agents registered by id, run one at a time with a
 * timeout and cancellation, and chained over a message bus: `coordinateAgents` publishes an
 * agent's result under its kind and runs every agent that subscribed to that kind on it, so a
 * finding becomes a plan, a plan a fix, a fix a re-check. Every step lands in a run record
 * (record.ts) that can be written as JSON and replayed in a test.
 *
 * Containment is the point: an agent that throws gives an AgentError naming it; one that hangs
 * is abandoned at its timeout (its signal aborted, its late logs, emits and model calls dropped)
 * and the framework carries on. JavaScript cannot stop a promise, so an agent that ignores
 * `ctx.signal` keeps its own work running in the background; it just cannot affect the run.
 */
import { CancelledError, DevloopError, errorToJSON, type ErrorJSON } from '../../core/errors.js';
import { MessageBus, type BusHandler, type KindMap } from './bus.js';
import type { ChatOptions, ModelClient, TokenBudget } from './model.js';
import { RECORD_VERSION, snapshot, type RunRecord, type StepRecord } from './record.js';

export interface AgentBudget {
  /** ms since the epoch: when the framework abandons this step. */
  readonly deadline: number;
  /** Model tokens the run may still spend; undefined when there is no limit (or no model). */
  readonly tokensLeft?: number;
}

export interface AgentContext {
  /** Aborted on timeout, on the caller's cancellation, and once the step is over. */
  signal: AbortSignal;
  /** A line for the run record (and the framework's `log` option). */
  log(message: string): void;
  /** Publishes on the bus, from this agent; `framework.on(kind)` handlers see it. */
  emit(kind: string, payload: unknown): void;
  budget: AgentBudget;
  /** Present when the framework has a model: calls follow `signal` and spend from the run's tokens. */
  model?: ModelClient;
}

export interface Agent<I = any, O = any> {
  id: string;
  description: string;
  capabilities: string[];
  /** Kinds of result it takes as input (`finding.result`); `coordinateAgents` runs it on each. */
  subscribes?: string[];
  /** The kind its result is published under (default `${id}.result`). */
  produces?: string;
  execute(task: I, ctx: AgentContext): Promise<O>;
}

export interface FrameworkOptions {
  /** How many subscribed agents `coordinateAgents` runs at once (default 2). */
  concurrency?: number;
  /** Per step unless `execute` says otherwise (default 120 s). */
  timeoutMs?: number;
  model?: ModelClient;
  /** Model tokens for the whole run, counted from `usage.total_tokens` (default: no limit). */
  tokenBudget?: number;
  /** Receives every `ctx.log` line as it happens (the record keeps them too). */
  log?: (agent: string, message: string) => void;
}

export interface ExecuteOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface CoordinateOptions extends ExecuteOptions {
  concurrency?: number;
  /** Hops to follow: 1 runs the direct subscribers; 3 runs finding -> plan -> fix -> re-check (default 1). */
  depth?: number;
}

export interface CoordinatedResult {
  agent: string;
  /** The kind it was run on, and who published it. */
  kind: string;
  from: string;
  depth: number;
  output?: unknown;
  error?: Error;
}

/** An agent threw. Names the agent and keeps the cause (and its code, when it had one). */
export class AgentError extends DevloopError {
  readonly agent: string;
  constructor(agent: string, cause: unknown) {
    const inner = cause instanceof Error ? cause.message : String(cause);
    super(`agent "${agent}" failed: ${inner}`, {
      code: cause instanceof DevloopError ? cause.code : 'AGENT_FAILED',
      hint: cause instanceof DevloopError && cause.hint ? cause.hint : `The error comes from agent "${agent}"; its step in the run record has the input it failed on.`,
      cause,
    });
    this.name = 'AgentError';
    this.agent = agent;
  }
  override toJSON(): ErrorJSON & { agent: string } {
    return { ...super.toJSON(), agent: this.agent };
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;

export class AgentFramework<M extends KindMap = KindMap> {
  private readonly registry = new Map<string, Agent>();
  private readonly bus: MessageBus<M>;
  private readonly steps: StepRecord[] = [];
  private readonly tokens: { limit?: number; used: number };
  private seq = 0;

  constructor(private readonly options: FrameworkOptions = {}) {
    checkCount(options.concurrency, 'concurrency');
    checkCount(options.timeoutMs, 'timeoutMs');
    this.tokens = { limit: options.tokenBudget, used: 0 };
    this.bus = new MessageBus<M>((err, message) => {
      options.log?.('framework', `a handler for "${message.kind}" threw: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  register(agent: Agent): this {
    if (!agent || typeof agent.id !== 'string' || !agent.id || typeof agent.execute !== 'function') {
      throw new DevloopError('an agent needs a non-empty string `id` and an `execute(task, ctx)` function', { code: 'BAD_AGENT', hint: 'See the Agent interface in devloop/agents.' });
    }
    if (this.registry.has(agent.id)) {
      throw new DevloopError(`agent "${agent.id}" is already registered`, { code: 'DUPLICATE_AGENT', hint: 'Give each agent its own id.' });
    }
    this.registry.set(agent.id, agent);
    return this;
  }

  get agents(): Agent[] {
    return [...this.registry.values()];
  }

  getAgent(id: string): Agent {
    const agent = this.registry.get(id);
    if (agent) return agent;
    const known = [...this.registry.keys()];
    throw new DevloopError(`unknown agent "${id}"; known agents: ${known.length ? known.join(', ') : '(none registered)'}`, {
      code: 'UNKNOWN_AGENT', hint: known.length ? `Use one of: ${known.join(', ')}.` : 'Register the agent with framework.register(agent) first.',
    });
  }

  /** Subscribes to a kind on the bus (`*` for all): agents' `ctx.emit` and results `coordinateAgents` publishes. */
  on<K extends keyof M & string>(kind: K | '*', handler: BusHandler<K, M[K]>): () => void {
    return this.bus.on(kind, handler);
  }

  /** Model tokens spent so far in this framework's run. */
  get tokensUsed(): number {
    return this.tokens.used;
  }

  /** Runs one agent. Rejects (never throws synchronously), also for an unknown id. */
  async execute<O = unknown>(agentId: string, task: unknown, options: ExecuteOptions = {}): Promise<O> {
    return (await this.run(this.getAgent(agentId), task, options)) as O;
  }

  /**
   * Publishes `result` under the agent's kind and runs each subscribed agent on it, at most
   * `concurrency` at a time; with `depth` > 1 their results are published and followed in turn.
   * A subscriber that fails is reported in its entry and does not stop the others.
   */
  async coordinateAgents(agentId: string, result: unknown, options: CoordinateOptions = {}): Promise<CoordinatedResult[]> {
    const limit = options.concurrency ?? this.options.concurrency ?? 2;
    checkCount(limit, 'concurrency');
    const maxDepth = options.depth ?? 1;
    const out: CoordinatedResult[] = [];
    let wave: { from: Agent; payload: unknown }[] = [{ from: this.getAgent(agentId), payload: result }];
    for (let depth = 1; depth <= maxDepth && wave.length; depth++) {
      const jobs: { agent: Agent; kind: string; from: string; payload: unknown }[] = [];
      for (const { from, payload } of wave) {
        const kind = from.produces ?? `${from.id}.result`;
        (this.bus as MessageBus).publish(kind, payload, from.id);
        for (const agent of this.registry.values()) {
          if (agent.subscribes?.includes(kind)) jobs.push({ agent, kind, from: from.id, payload });
        }
      }
      const results = await mapLimit(jobs, limit, async ({ agent, kind, from, payload }): Promise<CoordinatedResult> => {
        try {
          return { agent: agent.id, kind, from, depth, output: await this.run(agent, payload, options, { kind, from }) };
        } catch (err) {
          return { agent: agent.id, kind, from, depth, error: err as Error };
        }
      });
      out.push(...results);
      wave = results.filter((r) => !r.error).map((r) => ({ from: this.registry.get(r.agent)!, payload: r.output }));
    }
    return out;
  }

  /** Every finished step, in start order, as plain JSON. */
  record(): RunRecord {
    return { version: RECORD_VERSION, steps: snapshot(this.steps.filter((s) => s.endedAt)) as StepRecord[] };
  }

  private async run(agent: Agent, task: unknown, options: ExecuteOptions, trigger?: StepRecord['trigger']): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    checkCount(timeoutMs, 'timeoutMs');
    const start = Date.now();
    const step: StepRecord = { seq: ++this.seq, agent: agent.id, input: snapshot(task), startedAt: new Date(start).toISOString(), endedAt: '', durationMs: 0, logs: [] };
    if (trigger) step.trigger = trigger;
    this.steps.push(step);

    const controller = new AbortController();
    const stop = (reason: Error) => { if (!controller.signal.aborted) controller.abort(reason); };
    const timer = setTimeout(() => stop(new DevloopError(`agent "${agent.id}" did not finish within ${timeoutMs} ms`, {
      code: 'AGENT_TIMEOUT', hint: `Raise the timeout, or make "${agent.id}" finish sooner; an agent should return when ctx.signal aborts.`,
    })), timeoutMs);
    const onCancel = () => stop(new CancelledError(`agent "${agent.id}" cancelled`));
    if (options.signal?.aborted) onCancel();
    else options.signal?.addEventListener('abort', onCancel, { once: true });

    // A step that has ended must not log, publish or spend any more: a hung agent that wakes
    // up later would otherwise leak stale results into the run.
    let ended = false;
    let spent = 0;
    const tokens = this.tokens;
    const tokensLeft = () => (tokens.limit === undefined ? undefined : Math.max(0, tokens.limit - tokens.used));
    const budget: TokenBudget = {
      get tokensLeft() { return ended ? 0 : tokensLeft(); },
      spend(n) { spent += n; tokens.used += n; },
    };
    const ctx: AgentContext = {
      signal: controller.signal,
      log: (message) => {
        if (ended) return;
        step.logs.push(message);
        this.options.log?.(agent.id, message);
      },
      emit: (kind, payload) => { if (!ended) (this.bus as MessageBus).publish(kind, payload, agent.id); },
      budget: { deadline: start + timeoutMs, get tokensLeft() { return tokensLeft(); } },
      model: this.options.model && boundModel(this.options.model, controller.signal, budget),
    };

    const aborted = new Promise<never>((_, reject) => {
      if (controller.signal.aborted) reject(controller.signal.reason);
      else controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    // Async wrapper: an agent that throws synchronously becomes a rejection like any other.
    const work = (async () => agent.execute(task, ctx))();
    // The loser of the race must not become an unhandled rejection that kills the process.
    work.catch(() => {});
    aborted.catch(() => {});
    try {
      const output = await Promise.race([work, aborted]);
      step.output = snapshot(output);
      return output;
    } catch (err) {
      const error = controller.signal.aborted ? (controller.signal.reason as Error) : new AgentError(agent.id, err);
      step.error = errorToJSON(error);
      throw error;
    } finally {
      ended = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCancel);
      stop(new CancelledError(`agent "${agent.id}": step over`));
      const end = Date.now();
      step.endedAt = new Date(end).toISOString();
      step.durationMs = end - start;
      if (spent) step.tokens = spent;
    }
  }
}

/** The framework's model as one step sees it: cancelled with the step, spending from the run's tokens. */
function boundModel(client: ModelClient, signal: AbortSignal, budget: TokenBudget): ModelClient {
  return {
    baseUrl: client.baseUrl,
    model: client.model,
    chat: (messages, options: ChatOptions = {}) =>
      client.chat(messages, { ...options, signal: options.signal ? AbortSignal.any([signal, options.signal]) : signal, budget }),
  };
}

/** `fn` over `items`, at most `limit` running at once, results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function checkCount(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new DevloopError(`agent framework option ${name} must be a whole number of at least 1, got ${value}`, { code: 'BAD_AGENT_OPTIONS', hint: `Pass ${name} as a positive integer.` });
  }
}
