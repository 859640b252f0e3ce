/**
 * `devloop agents run --explain` against a real HTTP server, started here, that speaks the OpenAI
 * chat completions API (the Devfile's `ai.ghostbusters.model` points at it), and the pipeline
 * trace in the `--record` file. The command runs in a child process (tsx) on copies of the
 * planted fixture; the child is spawned asynchronously so this process's server can answer it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { findingId } from '../plugins/ghostbusters/finding-id.js';
import { repoRoot } from './helpers.js';
import { startModelServer, type ModelAnswer } from './model-server.js';

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(closers.map((c) => c()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The planted fixture; with `baseUrl`, its Devfile names that model (and keeps no secret, so only the build expert's findings matter). */
function planted(baseUrl?: string): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-explain-')));
  dirs.push(dir);
  cpSync(path.join(repoRoot, 'test', 'fixtures', 'ghostbusters', 'planted'), dir, { recursive: true });
  if (baseUrl) {
    writeFileSync(path.join(dir, 'Devfile.ts'), `export default {\n  services: { api: { command: 'node server.js' } },\n  ai: { ghostbusters: { model: { baseUrl: ${JSON.stringify(baseUrl)}, model: 'test-model', apiKeyEnv: 'DEVLOOP_TEST_EXPLAIN_KEY', timeoutMs: 5000 } } },\n};\n`);
  }
  return dir;
}

/** The test server (test/model-server.ts), closed after the file. */
async function modelServer(answer: (body: any) => ModelAnswer) {
  const server = await startModelServer(answer);
  closers.push(server.close);
  return { baseUrl: server.baseUrl, seen: server.seen };
}

const completion = (content: string) => JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'test-model',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 },
});

/** Explains every id it was sent, and invents one more finding id: it must not show up. */
function explainer(body: any): ModelAnswer {
  const listing: { id: string }[] = JSON.parse(body.messages[1].content);
  const out: Record<string, string> = { 'build/invented@Dockerfile:99:1': 'a finding the model made up' };
  for (const f of listing) out[f.id] = `explained ${f.id}`;
  return { body: completion(JSON.stringify(out)) };
}

const moduleUrl = JSON.stringify(pathToFileURL(path.join(repoRoot, 'bin', 'commands', 'agents.ts')).href);

function agentsHere(options: Record<string, unknown>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `const { agents } = await import(${moduleUrl}); process.exitCode = await agents(${JSON.stringify(options)});`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { ...process.env, DEVLOOP_TEST_EXPLAIN_KEY: 'sk-explain' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`agents timed out\n${stdout}\n${stderr}`)); }, 120_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

type JsonFinding = { ruleId: string; file: string; line: number; column: number; message: string; explanation?: string };
const strip = (list: JsonFinding[]) => list.map(({ explanation: _e, ...f }) => f);

describe('devloop agents run --explain', () => {
  it('adds one explanation per finding from the Devfile\'s model, sends it the findings, and never adds or removes a finding', { timeout: 180_000 }, async () => {
    const srv = await modelServer(explainer);
    const dir = planted(srv.baseUrl);
    const plain = await agentsHere({ cwd: dir, agent: 'build', output: 'json' });
    const explained = await agentsHere({ cwd: dir, agent: 'build', output: 'json', explain: true });
    assert.equal(explained.code, plain.code, explained.stderr);
    assert.equal(explained.stderr, '', 'no warning when the model answers');
    const before: JsonFinding[] = JSON.parse(plain.stdout).findings;
    const withModel: JsonFinding[] = JSON.parse(explained.stdout).findings;
    assert.equal(before.length, 9);
    assert.deepEqual(strip(withModel), before, 'the same findings, in the same order');
    for (const f of withModel) assert.equal(f.explanation, `explained ${findingId(f)}`);

    assert.equal(srv.seen.length, 1);
    const [req] = srv.seen;
    assert.equal(req.url, '/v1/chat/completions');
    assert.equal(req.authorization, 'Bearer sk-explain');
    assert.equal(req.body.model, 'test-model');
    const sent: { id: string; rule: string; message: string }[] = JSON.parse(req.body.messages[1].content);
    assert.deepEqual(sent.map((s) => s.id), before.map(findingId));
    assert.deepEqual(sent.map((s) => s.message), before.map((f) => f.message));

    const text = await agentsHere({ cwd: dir, agent: 'build', explain: true });
    assert.match(text.stdout, /^ {2}Dockerfile:1:1 \S+ build\/dockerignore-missing .+\n {6}fix: .+\n {6}explain: explained build\/dockerignore-missing@Dockerfile:1:1$/m);
    assert.equal(text.stdout.match(/^ {6}explain: /gm)?.length, 9);
    assert.doesNotMatch(text.stdout, /invented|made up/);
    const sarif = await agentsHere({ cwd: dir, agent: 'build', output: 'sarif', explain: true });
    const results = JSON.parse(sarif.stdout).runs[0].results;
    assert.equal(results.length, 9);
    assert.ok(results.every((r: { properties: { explanation?: string } }) => r.properties.explanation?.startsWith('explained ')));
  });

  it('a model answering garbage is one warning; the findings and the exit code are those of a run without it', { timeout: 180_000 }, async () => {
    const srv = await modelServer(() => ({ body: '<html>502 Bad Gateway</html>' }));
    const dir = planted(srv.baseUrl);
    const plain = await agentsHere({ cwd: dir, agent: 'build' });
    const r = await agentsHere({ cwd: dir, agent: 'build', explain: true });
    assert.equal(r.code, plain.code);
    assert.equal(r.stdout, plain.stdout);
    const warnings = r.stderr.trim().split('\n');
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0], /^warning: --explain: model endpoint .+ answered something that is not a chat completion: the body is not JSON .+; the findings are shown without explanations$/);
    assert.equal(srv.seen.length, 1);

    // Nothing listening at all: the same, one warning naming the endpoint.
    const gone = await modelServer(() => ({ body: '' }));
    await closers.pop()!();
    const down = await agentsHere({ cwd: planted(gone.baseUrl), agent: 'build', explain: true });
    assert.equal(down.code, plain.code);
    assert.equal(down.stdout, plain.stdout);
    assert.match(down.stderr, /^warning: --explain: model endpoint down: POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions failed \(ECONNREFUSED\); the findings are shown without explanations\n$/);
  });

  it('without a model in the Devfile, --explain is a usage error naming the field; --token-budget must be a count', { timeout: 120_000 }, async () => {
    const dir = planted();
    const r = await agentsHere({ cwd: dir, agent: 'build', explain: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--explain needs a model: .*Devfile\.ts sets no ai\.ghostbusters\.model: \{ baseUrl, model, apiKeyEnv\? \}\ntry: /);
    assert.equal(r.stdout, '');
    const budget = await agentsHere({ cwd: dir, agent: 'build', explain: true, tokenBudget: 'lots' });
    assert.equal(budget.code, 2);
    assert.match(budget.stderr, /--token-budget: expected a whole number of tokens from 1, got "lots"/);
  });
});

describe('devloop agents run --record', () => {
  it('records the pipeline trace (detect -> validate -> plan -> fix -> recheck -> report) next to the framework steps it ran', { timeout: 180_000 }, async () => {
    const dir = planted();
    const r = await agentsHere({ cwd: dir, agent: 'build,tests', apply: true, record: 'run.json' });
    assert.match(r.stdout, /^applied; re-check: \d+ fixed findings gone, 0 still there/m);
    const { parseRunRecord } = await import('../plugins/ghostbusters/record.js');
    const text = readFileSync(path.join(dir, 'run.json'), 'utf8');
    const record = parseRunRecord(text);
    const pipeline: { step: string; durationMs: number; changed: string[]; agentSteps?: number[] }[] = JSON.parse(text).pipeline;
    assert.deepEqual(pipeline.map((p) => p.step), ['detect', 'validate', 'plan', 'fix', 'recheck', 'report']);
    assert.ok(pipeline.every((p) => typeof p.durationMs === 'number' && Array.isArray(p.changed)));
    // detect ran both experts; the re-check only the one whose findings were fixed (tests has no fixes).
    const agentOf = (seq: number) => record.steps.find((s) => s.seq === seq)?.agent;
    assert.deepEqual(pipeline[0].agentSteps!.map(agentOf).sort(), ['build', 'tests']);
    assert.deepEqual(pipeline[4].agentSteps!.map(agentOf), ['build']);
    assert.deepEqual(record.steps.map((s) => s.seq), [1, 2, 3], 'one numbering across the runs');
  });
});
