/** Prometheus metrics served at GET /metrics: one registry, so tests and a restart start clean. */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const requests = new Counter({
  name: 'http_requests_total', help: 'HTTP requests by route pattern, method and status code',
  labelNames: ['route', 'method', 'status'] as const, registers: [registry],
});

export const agentSeconds = new Histogram({
  name: 'agent_execution_seconds', help: 'How long one agent execution took, by agent and outcome',
  labelNames: ['agent', 'outcome'] as const, registers: [registry],
  buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

export const coordinationSeconds = new Histogram({
  name: 'agent_coordination_seconds', help: 'How long coordinating the subscribed agents took after an execution, by the agent whose result was passed on',
  labelNames: ['agent'] as const, registers: [registry],
  buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});
