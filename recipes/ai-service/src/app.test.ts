// The API's contract, through Hono's app.request (no socket): status codes for each kind of
// failure, the coordination that follows a run, and the metrics it leaves. `npm test` runs it.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { createFramework } from './agents.js';
import { createApp } from './app.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ai-service-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));
cpSync(new URL('.', import.meta.url), path.join(root, 'repo', 'src'), { recursive: true });

function setup(timeoutMs = 5_000) {
  const framework = createFramework({ root, timeoutMs });
  framework.register({ id: 'thrower', description: 'always fails', capabilities: [], execute: async () => { throw new Error('the model said no'); } });
  return createApp({ framework, timeoutMs, version: () => '9.9.9' });
}
const post = (app: ReturnType<typeof setup>['app'], url: string, body: string) => app.request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

it('GET /health counts the agents; GET /agents lists ids, descriptions and capabilities', async () => {
  const { app } = setup();
  assert.deepEqual(await (await app.request('/health')).json(), { status: 'healthy', agents: 7 });
  const { agents } = await (await app.request('/agents')).json() as { agents: { id: string; capabilities: string[]; subscribes: string[] }[] };
  assert.deepEqual(agents.map((a) => a.id), ['security', 'build', 'manifests', 'triage', 'echo', 'sleep', 'thrower']);
  assert.deepEqual(agents.find((a) => a.id === 'triage')!.subscribes, ['findings']);
  assert.deepEqual(await (await app.request('/version')).json(), { version: '9.9.9', revision: process.env.K_REVISION ?? null });
});

it('POST execute: 200 completed, then triage runs on the findings in the background', async () => {
  const { app, pending } = setup();
  const res = await post(app, '/agents/build/execute', JSON.stringify({ path: 'repo' }));
  const body = await res.json() as { status: string; result: { expert: string; findings: unknown[] }; run: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.status, 'completed');
  assert.equal(body.result.expert, 'build');
  await Promise.all([...pending]);
  const run = await (await app.request(`/runs/${body.run}`)).json() as { coordination: { status: string; results: { agent: string; output: { total: number } }[] } };
  assert.equal(run.coordination.status, 'done');
  assert.equal(run.coordination.results[0].agent, 'triage');
  assert.equal(run.coordination.results[0].output.total, body.result.findings.length);
});

it('answers 404 with the known ids, 400 for a body that is not JSON, 403 outside the root, 500 when an agent throws, 504 on timeout', async () => {
  const { app } = setup(300);
  const unknown = await post(app, '/agents/nope/execute', '{}');
  assert.equal(unknown.status, 404);
  assert.ok(((await unknown.json()) as { agents: string[] }).agents.includes('security'));
  const bad = await post(app, '/agents/echo/execute', '{"path": ');
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /^the request body is not JSON: /);
  const outside = await post(app, '/agents/security/execute', JSON.stringify({ path: '..' }));
  assert.equal(outside.status, 403);
  assert.match(((await outside.json()) as { error: string }).error, /outside the allowed root/);
  const missing = await post(app, '/agents/security/execute', JSON.stringify({ path: 'no-such-folder' }));
  assert.equal(missing.status, 404);
  const thrown = await post(app, '/agents/thrower/execute', '{}');
  assert.equal(thrown.status, 500);
  assert.match(((await thrown.json()) as { error: string }).error, /agent "thrower" failed: the model said no/);
  const slow = await post(app, '/agents/sleep/execute', JSON.stringify({ ms: 5_000 }));
  assert.equal(slow.status, 504);
  assert.match(((await slow.json()) as { error: string }).error, /did not finish within 300 ms/);
});

it('GET /metrics has requests by route pattern and the agent histogram', async () => {
  const { app } = setup();
  await post(app, '/agents/echo/execute', '{"a":1}');
  const text = await (await app.request('/metrics')).text();
  assert.match(text, /http_requests_total\{route="\/agents\/:agentId\/execute",method="POST",status="200"\} \d+/);
  assert.match(text, /agent_execution_seconds_count\{agent="echo",outcome="completed"\} \d+/);
});
