// `devloop ci`'s test: the service is healthy and an agent runs end to end.
const base = process.env.DEVLOOP_URL_AI ?? 'http://127.0.0.1:8080';
const health = await (await fetch(`${base}/health`)).json();
if (health.status !== 'healthy' || !(health.agents > 0)) throw new Error(`unhealthy: ${JSON.stringify(health)}`);
const res = await fetch(`${base}/agents/echo/execute`, { method: 'POST', body: JSON.stringify({ hello: 'agents' }) });
const body = await res.json();
if (res.status !== 200 || body.status !== 'completed' || body.result?.hello !== 'agents') throw new Error(`echo failed: ${res.status} ${JSON.stringify(body)}`);
console.log(`ok: ${health.agents} agents, echo completed`);
