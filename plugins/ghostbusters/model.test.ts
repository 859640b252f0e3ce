/**
 * The model client against a real HTTP server, started here, that speaks the OpenAI chat
 * completions API (the request shape is checked on the server side, as a real endpoint sees it).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DevloopError, isCancelled } from '../../core/errors.js';
import { until } from '../../test/helpers.js';
import { startModelServer, type ModelAnswer } from '../../test/model-server.js';
import { findingId } from './finding-id.js';
import { AgentFramework } from './framework.js';
import { createModelClient, explainFindings } from './model.js';
import type { Finding } from './types.js';

/** The test server (test/model-server.ts), closed after the file. */
async function modelServer(answer: (body: any) => ModelAnswer) {
  const server = await startModelServer(answer);
  servers.push(server.close);
  return server;
}

const servers: (() => Promise<void>)[] = [];
after(async () => { await Promise.all(servers.map((c) => c().catch(() => {}))); });

const completion = (content: string, totalTokens = 17) => JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'test-model',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: totalTokens - 5, completion_tokens: 5, total_tokens: totalTokens },
});

const findings: Finding[] = [
  { ruleId: 'security/hardcoded-credential', expert: 'security', message: 'AWS key in source', severity: 'error', confidence: 'high', file: 'src/aws.ts', line: 3, column: 14 },
  { ruleId: 'build/dockerfile-root-user', expert: 'build', message: 'runs as root', severity: 'warning', confidence: 'high', file: 'Dockerfile', line: 1, column: 1 },
];

/** Answers the explain prompt: an explanation for every id it was sent, plus one it was not. */
function explainer(body: any): ModelAnswer {
  const listing: { id: string }[] = JSON.parse(body.messages[1].content);
  const out: Record<string, string> = { 'security/invented@x.ts:1:1': 'made up' };
  for (const f of listing) out[f.id] = `why ${f.id} matters`;
  return { body: completion('```json\n' + JSON.stringify(out) + '\n```', 42) };
}

describe('model client', () => {
  it('POSTs a chat completion with the model, messages and the key from the named env var', async () => {
    const srv = await modelServer(() => ({ body: completion('hello', 23) }));
    process.env.DEVLOOP_TEST_MODEL_KEY = 'sk-test-123';
    try {
      const client = createModelClient({ baseUrl: `${srv.baseUrl}/`, model: 'test-model', apiKeyEnv: 'DEVLOOP_TEST_MODEL_KEY' });
      let spent = 0;
      const result = await client.chat([{ role: 'user', content: 'hi' }], { budget: { tokensLeft: 100, spend: (n) => { spent += n; } }, maxTokens: 64 });
      assert.deepEqual(result, { content: 'hello', totalTokens: 23, model: 'test-model' });
      assert.equal(spent, 23);
    } finally {
      delete process.env.DEVLOOP_TEST_MODEL_KEY;
    }
    const [req] = srv.seen;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1/chat/completions');
    assert.equal(req.authorization, 'Bearer sk-test-123');
    assert.equal(req.contentType, 'application/json');
    assert.deepEqual(req.body, { model: 'test-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 64 });
  });

  it('reads OPENAI_API_KEY by default, sends no Authorization without a key, and says which variable on a 401', async () => {
    const srv = await modelServer(() => ({ status: 401, body: '{"error":{"message":"Incorrect API key"}}' }));
    await assert.rejects(createModelClient({ baseUrl: srv.baseUrl, model: 'm' }, { OPENAI_API_KEY: 'sk-default' }).chat([{ role: 'user', content: 'x' }]),
      (err: DevloopError) => err.code === 'MODEL_HTTP' && /answered HTTP 401: .*Incorrect API key/.test(err.message) && /key in OPENAI_API_KEY was refused/.test(err.hint!));
    assert.equal(srv.seen[0].authorization, 'Bearer sk-default');
    await assert.rejects(createModelClient({ baseUrl: srv.baseUrl, model: 'm' }, {}).chat([{ role: 'user', content: 'x' }]),
      (err: DevloopError) => err.hint === 'No key was sent: set OPENAI_API_KEY in the environment.');
    assert.equal(srv.seen[1].authorization, undefined);
  });

  it('gives up on a slow server at the timeout', async () => {
    const srv = await modelServer(() => 'hang');
    const client = createModelClient({ baseUrl: srv.baseUrl, model: 'm', timeoutMs: 200 });
    const started = Date.now();
    await assert.rejects(client.chat([{ role: 'user', content: 'x' }]), (err: DevloopError) =>
      err.code === 'MODEL_TIMEOUT' && err.message === `model endpoint ${srv.baseUrl}/chat/completions did not answer within 200 ms`);
    const took = Date.now() - started;
    assert.ok(took >= 190 && took < 5_000, `took ${took} ms`);
    assert.equal(srv.seen.length, 1, 'the request reached the server');
  });

  it('says clearly when the server answers garbage', async () => {
    let reply = '<html>502 Bad Gateway</html>';
    const srv = await modelServer(() => ({ body: reply }));
    const client = createModelClient({ baseUrl: srv.baseUrl, model: 'm' }, {});
    await assert.rejects(client.chat([{ role: 'user', content: 'x' }]), (err: DevloopError) =>
      err.code === 'MODEL_BAD_RESPONSE' && err.message.includes('answered something that is not a chat completion: the body is not JSON (body: "<html>502 Bad Gateway</html>")'));
    reply = '{"choices":[{"message":{"content":null}}]}';
    await assert.rejects(client.chat([{ role: 'user', content: 'x' }]), /"choices\[0\]\.message\.content" is not a string/);
    reply = '{"object":"list","data":[]}';
    await assert.rejects(client.chat([{ role: 'user', content: 'x' }]), /no "choices" array/);
  });

  it('says the endpoint is down when nothing listens', async () => {
    const srv = await modelServer(() => ({ body: completion('x') }));
    await srv.close();
    const client = createModelClient({ baseUrl: srv.baseUrl, model: 'm' }, {});
    await assert.rejects(client.chat([{ role: 'user', content: 'x' }]), (err: DevloopError) =>
      err.code === 'MODEL_UNREACHABLE' && err.message === `model endpoint down: POST http://127.0.0.1:${srv.port}/v1/chat/completions failed (ECONNREFUSED)` && /Start the model server/.test(err.hint!));
  });

  it('reports a server error with its body, and stops on cancellation', async () => {
    const srv = await modelServer((body) => (body.messages[0].content === 'hang' ? 'hang' : { status: 500, body: 'upstream overloaded' }));
    const client = createModelClient({ baseUrl: srv.baseUrl, model: 'm' }, {});
    await assert.rejects(client.chat([{ role: 'user', content: 'x' }]), /answered HTTP 500: "upstream overloaded"/);
    const controller = new AbortController();
    const call = client.chat([{ role: 'user', content: 'hang' }], { signal: controller.signal });
    await until(() => srv.seen.length === 2, 5_000, 'second request');
    controller.abort();
    await assert.rejects(call, (err: Error) => isCancelled(err));
  });
});

describe('explainFindings', () => {
  it('returns one explanation per finding id, ignoring ids the model made up, and spends the run budget', async () => {
    const srv = await modelServer(explainer);
    const model = createModelClient({ baseUrl: srv.baseUrl, model: 'test-model' }, {});
    const fw = new AgentFramework({ model, tokenBudget: 50 }).register({
      id: 'explainer', description: 'explains findings', capabilities: ['explain'],
      execute: async (task: Finding[], ctx) => explainFindings(ctx.model!, task),
    });
    const explained = await fw.execute<Record<string, string>>('explainer', findings);
    assert.deepEqual(explained, Object.fromEntries(findings.map((f) => [findingId(f), `why ${findingId(f)} matters`])));
    assert.equal(fw.tokensUsed, 42);
    assert.equal(fw.record().steps[0].tokens, 42);
    const prompt = srv.seen[0].body.messages;
    assert.equal(prompt[0].role, 'system');
    assert.deepEqual(JSON.parse(prompt[1].content).map((f: { id: string }) => f.id), findings.map(findingId));

    // 42 of 50 spent: the next call is still allowed and overspends; after that there is nothing left.
    await fw.execute('explainer', findings);
    await assert.rejects(fw.execute('explainer', findings), (err: DevloopError) => err.code === 'MODEL_BUDGET' && /token budget spent/.test(err.message));
    assert.equal(srv.seen.length, 2, 'no request once the budget is spent');
  });

  it('fails clearly on prose instead of JSON, or on a missing explanation', async () => {
    let content = 'Sure! Here are the explanations you asked for.';
    const srv = await modelServer(() => ({ body: completion(content) }));
    const model = createModelClient({ baseUrl: srv.baseUrl, model: 'test-model' }, {});
    await assert.rejects(explainFindings(model, findings), (err: DevloopError) =>
      err.code === 'MODEL_BAD_RESPONSE' && err.message.startsWith(`model "test-model" at ${srv.baseUrl} did not answer with the JSON object of explanations asked for: "Sure!`));
    content = JSON.stringify({ [findingId(findings[0])]: 'one only' });
    await assert.rejects(explainFindings(model, findings), new RegExp(`gave no explanation for 1 of 2 findings: ${escape(findingId(findings[1]))}`));
    assert.deepEqual(await explainFindings(model, []), {});
    assert.equal(srv.seen.length, 2, 'no findings, no request');
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
