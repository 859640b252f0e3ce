/**
 * The HTTP API on Hono. Kept free of `listen` and signals (server.ts has those) so tests call
 * `app.request()` directly.
 *
 *   POST /agents/:agentId/execute  run an agent on the JSON body; then, in the background, the
 *                                  agents subscribed to its result (GET /runs/latest shows them)
 *   GET  /agents                   ids, descriptions, capabilities
 *   GET  /runs/latest, /runs/:id   a run and its coordination
 *   GET  /health  /version  /metrics
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { routePath } from 'hono/route';
import type { AgentFramework, CoordinatedResult } from 'devloop/agents';
import { TaskError } from './agents.js';
import { log, traceFrom, type TraceContext } from './log.js';
import { agentSeconds, coordinationSeconds, registry, requests } from './metrics.js';

export interface Run {
  id: string;
  agent: string;
  status: 'completed';
  result: unknown;
  startedAt: string;
  durationMs: number;
  coordination: { status: 'running' | 'done'; durationMs?: number; results: { agent: string; kind: string; output?: unknown; error?: string }[] };
}

export interface AppOptions {
  framework: AgentFramework;
  version: () => string;
  /** Longest an execution may take, and the cap on a request's `?timeoutMs=`. */
  timeoutMs: number;
}

type Env = { Variables: { trace?: TraceContext } };
const KEEP_RUNS = 50;

export function createApp({ framework, version, timeoutMs }: AppOptions) {
  const app = new Hono<Env>();
  const runs = new Map<string, Run>();
  /** Coordinations still running: SIGTERM waits for them (server.ts). */
  const pending = new Set<Promise<void>>();

  app.use('*', async (c, next) => {
    c.set('trace', traceFrom(c.req.raw.headers));
    await next();
    // The route pattern, not the URL: one series per route, however many agent ids are asked for.
    const route = routePath(c, -1) === '*' ? 'unmatched' : routePath(c, -1);
    requests.inc({ route, method: c.req.method, status: String(c.res.status) });
  });

  app.get('/health', (c) => c.json({ status: 'healthy', agents: framework.agents.length }));
  app.get('/version', (c) => c.json({ version: version(), revision: process.env.K_REVISION ?? null }));
  app.get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }));
  app.get('/agents', (c) => c.json({
    agents: framework.agents.map((a) => ({ id: a.id, description: a.description, capabilities: a.capabilities, subscribes: a.subscribes ?? [] })),
  }));

  app.post('/agents/:agentId/execute', async (c) => {
    const agentId = c.req.param('agentId');
    const known = framework.agents.map((a) => a.id);
    if (!known.includes(agentId)) return c.json({ error: `unknown agent "${agentId}"`, code: 'UNKNOWN_AGENT', agents: known }, 404);
    const parsed = parseTask(await c.req.text());
    if ('error' in parsed) return c.json({ error: parsed.error, code: 'BAD_TASK', hint: 'send the task as a JSON object, e.g. {"path": "."}' }, 400);
    const limit = requestTimeout(c.req.query('timeoutMs'), timeoutMs);
    if (typeof limit === 'string') return c.json({ error: limit, code: 'BAD_TASK' }, 400);

    const trace = c.get('trace');
    const started = Date.now();
    log('DEBUG', `agent ${agentId} started`, { agent: agentId }, trace);
    let result: unknown;
    try {
      result = await framework.execute(agentId, parsed.task, { timeoutMs: limit, signal: c.req.raw.signal });
    } catch (err) {
      const { status, body } = failure(err, agentId);
      agentSeconds.observe({ agent: agentId, outcome: status === 504 ? 'timeout' : 'error' }, (Date.now() - started) / 1000);
      log(status >= 500 ? 'ERROR' : 'WARNING', `agent ${agentId}: ${body.error}`, { agent: agentId, status }, trace);
      return c.json(body, status);
    }
    const durationMs = Date.now() - started;
    agentSeconds.observe({ agent: agentId, outcome: 'completed' }, durationMs / 1000);
    const run: Run = { id: randomUUID(), agent: agentId, status: 'completed', result, startedAt: new Date(started).toISOString(), durationMs, coordination: { status: 'running', results: [] } };
    remember(runs, run);
    log('INFO', `agent ${agentId} completed in ${durationMs} ms`, { agent: agentId, run: run.id, durationMs }, trace);
    const done = coordinate(framework, run, trace, timeoutMs).finally(() => pending.delete(done));
    pending.add(done);
    return c.json({ result, status: 'completed', run: run.id });
  });

  app.get('/runs/latest', (c) => {
    const last = [...runs.values()].at(-1);
    return last ? c.json(last) : c.json({ error: 'no run yet', code: 'NO_RUN' }, 404);
  });
  app.get('/runs/:id', (c) => {
    const run = runs.get(c.req.param('id'));
    return run ? c.json(run) : c.json({ error: `no run "${c.req.param('id')}" (the last ${KEEP_RUNS} are kept)`, code: 'NO_RUN' }, 404);
  });

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}`, code: 'NOT_FOUND' }, 404));
  app.onError((err, c) => {
    log('ERROR', `unhandled: ${err.message}`, { stack: err.stack }, c.get('trace'));
    return c.json({ error: err.message, code: 'INTERNAL' }, 500);
  });

  return { app, pending, runs };
}

/** Runs the agents subscribed to the run's result; never rejects (a failure lands in the run). */
async function coordinate(framework: AgentFramework, run: Run, trace: TraceContext | undefined, timeoutMs: number): Promise<void> {
  const started = Date.now();
  let results: CoordinatedResult[] = [];
  try {
    results = await framework.coordinateAgents(run.agent, run.result, { timeoutMs });
  } catch (err) {
    results = [{ agent: '(framework)', kind: '', from: run.agent, depth: 0, error: err as Error }];
  }
  const durationMs = Date.now() - started;
  coordinationSeconds.observe({ agent: run.agent }, durationMs / 1000);
  run.coordination = {
    status: 'done', durationMs,
    results: results.map((r) => ({ agent: r.agent, kind: r.kind, ...(r.error ? { error: r.error.message } : { output: r.output }) })),
  };
  for (const r of run.coordination.results) {
    log(r.error ? 'ERROR' : 'INFO', `coordinated ${r.agent} on ${r.kind} from ${run.agent}: ${r.error ?? JSON.stringify(r.output)}`, { agent: r.agent, run: run.id, durationMs }, trace);
  }
}

function parseTask(text: string): { task: unknown } | { error: string } {
  if (!text.trim()) return { task: {} };
  try {
    return { task: JSON.parse(text) };
  } catch (err) {
    return { error: `the request body is not JSON: ${(err as Error).message}` };
  }
}

function requestTimeout(query: string | undefined, max: number): number | string {
  if (query === undefined) return max;
  const ms = Number(query);
  if (!Number.isInteger(ms) || ms < 1) return `timeoutMs must be a whole number of milliseconds >= 1, got "${query}"`;
  return Math.min(ms, max);
}

function failure(err: unknown, agentId: string): { status: 400 | 403 | 404 | 500 | 504; body: { error: string; code: string } } {
  const e = err as Error & { code?: string; cause?: unknown };
  if (e?.code === 'AGENT_TIMEOUT') return { status: 504, body: { error: e.message, code: e.code } };
  // The framework wraps what an agent throws (AgentError); a TaskError inside is the caller's mistake.
  const cause = e?.cause instanceof TaskError ? e.cause : err instanceof TaskError ? err : undefined;
  if (cause) return { status: cause.status, body: { error: cause.message, code: 'BAD_TASK' } };
  return { status: 500, body: { error: e instanceof Error ? e.message : `agent "${agentId}" failed: ${String(err)}`, code: e?.code ?? 'AGENT_FAILED' } };
}

function remember(runs: Map<string, Run>, run: Run): void {
  runs.set(run.id, run);
  while (runs.size > KEEP_RUNS) runs.delete(runs.keys().next().value!);
}

