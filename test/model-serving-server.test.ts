/**
 * The model server end to end on real onnxruntime-node and real HTTP: tiny ONNX models the test
 * writes (test/onnx-models.ts), outputs checked against values worked out by hand.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelServer } from '../plugins/model-serving/server.js';
import { embedding, identityAll, matmulAdd, SMALL_EMBEDDING, SMALL_MATMUL, smallMatmulRow, writeModel } from './onnx-models.js';
import { until } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-models-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Logs { log: string[]; warn: string[]; error: string[] }
function logs(): Logs & { sinks: { log(l: string): void; warn(l: string): void; error(l: string): void } } {
  const l: Logs = { log: [], warn: [], error: [] };
  return { ...l, sinks: { log: (x) => l.log.push(x), warn: (x) => l.warn.push(x), error: (x) => l.error.push(x) } };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text, headers: res.headers };
}

/** The sum of a series' samples whose labels include `labels` (NaN when none). */
function metric(text: string, name: string, labels: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return lines.length ? lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0) : NaN;
}

describe('v2 protocol on a MatMul+Add model', () => {
  let server: ModelServer;
  let base: string;
  const out = logs();
  before(async () => {
    const file = writeModel(path.join(dir, 'mm.onnx'), matmulAdd(SMALL_MATMUL));
    server = new ModelServer({ models: [{ name: 'mm', path: file }], port: 0, ...out.sinks });
    base = await server.start();
  });
  after(() => server.close());

  test('health, server and model metadata read from the model', async () => {
    assert.equal((await fetch(`${base}/v2/health/live`)).status, 200);
    assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
    assert.equal((await fetch(`${base}/v2/models/mm/ready`)).status, 200);
    const meta = await (await fetch(`${base}/v2/models/mm`)).json();
    assert.equal(meta.name, 'mm');
    assert.deepEqual(meta.versions, ['1']);
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }]);
    assert.deepEqual(meta.outputs, [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }]);
    assert.match(out.log.join('\n'), /mm: loaded version 1 in \d+ ms on CPU; inputs x FP32 \[\?,3\]; outputs y FP32 \[\?,2\]/);
  });

  test('infer answers the hand-computed rows, with id and named outputs', async () => {
    const rows = [[1, 1, 1], [2, 0, 1], [0.5, -1, 3]];
    const res = await post(`${base}/v2/models/mm/infer`, { id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 3], data: rows.flat() }], outputs: [{ name: 'y' }] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.model_name, 'mm');
    assert.equal(res.json.model_version, '1');
    assert.equal(res.json.id, 'r1');
    assert.deepEqual(res.json.outputs, [{ name: 'y', datatype: 'FP32', shape: [3, 2], data: rows.flatMap(smallMatmulRow) }]);
    // The same through the version's own URL.
    const v = await post(`${base}/v2/models/mm/versions/1/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
    assert.deepEqual(v.json.outputs[0].data, smallMatmulRow([1, 2, 3]));
  });

  test('binary tensor extension in and out', async () => {
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    }));
    const data = Buffer.from(Float32Array.from([1, 1, 1, 2, 0, 1]).buffer);
    const res = await fetch(`${base}/v2/models/mm/infer`, { method: 'POST', body: Buffer.concat([header, data]), headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' } });
    assert.equal(res.status, 200);
    const n = Number(res.headers.get('inference-header-content-length'));
    const body = Buffer.from(await res.arrayBuffer());
    const json = JSON.parse(body.subarray(0, n).toString());
    assert.deepEqual(json.outputs[0], { name: 'y', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } });
    const y = new Float32Array(body.buffer.slice(body.byteOffset + n, body.byteOffset + n + 16));
    assert.deepEqual(Array.from(y), [...smallMatmulRow([1, 1, 1]), ...smallMatmulRow([2, 0, 1])]);
  });

  test('bad input: protocol-shaped errors with the right status, naming the input', async () => {
    const wrongType = await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 3], data: [1, 2, 3] }] });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json.error, /input "x".*FP32.*INT32/);
    const wrongShape = await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    assert.equal(wrongShape.status, 400);
    assert.match(wrongShape.json.error, /input "x".*\[-1,3\].*\[1,4\]/);
    const unknown = await post(`${base}/v2/models/nope/infer`, { inputs: [] });
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error, /unknown model "nope"; this server serves mm/);
    const noVersion = await post(`${base}/v2/models/mm/versions/7/infer`, { inputs: [] });
    assert.equal(noVersion.status, 404);
    const notJson = await post(`${base}/v2/models/mm/infer`, '{"inputs": [');
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.error, /not valid JSON/);
    const unknownOutput = await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }], outputs: [{ name: 'z' }] });
    assert.equal(unknownOutput.status, 400);
    assert.match(unknownOutput.json.error, /unknown output "z"/);
  });

  test('a 100 MB body is refused with 413 before it is read whole', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/v2/models/mm/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const write = (): void => {
        while (sent < 100) {
          sent++;
          if (!req.write(chunk)) { req.once('drain', write); return; }
        }
        req.end();
      };
      write();
    });
    assert.equal(status, 413);
    // Still serving after it.
    const ok = await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] }] });
    assert.equal(ok.status, 200);
  });

  test('metrics count requests by status and time inference', async () => {
    await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] }] });
    await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] }] });
    await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 3], data: [1, 1, 1] }] });
    await post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 1] }] });
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.ok(metric(text, 'devloop_model_requests_total', 'route="infer",status="200"') >= 2, text);
    assert.ok(metric(text, 'devloop_model_requests_total', 'route="infer",status="400"') >= 2, text);
    assert.ok(metric(text, 'devloop_model_inference_seconds_count', 'model="mm"') >= 2, text);
    assert.equal(metric(text, 'devloop_model_ready', 'model="mm"'), 1);
    assert.match(text, /devloop_model_queue_depth\{model="mm"\} 0/);
  });
});

describe('dynamic batching', () => {
  test('32 concurrent requests merge into few batches and each caller gets its own rows', async () => {
    const file = writeModel(path.join(dir, 'batch.onnx'), matmulAdd(SMALL_MATMUL));
    const server = new ModelServer({ models: [{ name: 'mm', path: file, maxBatchSize: 32, maxBatchDelayMs: 100 }], port: 0, ...logs().sinks });
    const base = await server.start();
    try {
      const rows = Array.from({ length: 32 }, (_, i) => [i, -i, i / 2]);
      const answers = await Promise.all(rows.map((r) => post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: r }] })));
      answers.forEach((a, i) => {
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.json.outputs[0].data, smallMatmulRow(rows[i]!).map((v) => Math.fround(v)));
      });
      const text = await server.metricsText();
      const batches = metric(text, 'devloop_model_batch_size_count', 'model="mm"');
      const rowsRun = metric(text, 'devloop_model_batch_size_sum', 'model="mm"');
      assert.equal(rowsRun, 32, text);
      assert.ok(batches < 32 && batches >= 1, `expected merged batches, got ${batches} for 32 requests`);
      // Some batch held more than one request.
      assert.ok(metric(text, 'devloop_model_batch_requests_bucket', 'le="1"') < batches, text);
    } finally {
      await server.close();
    }
  });

  test('a full queue answers 429 and the server keeps serving', async () => {
    // Requests wait up to 300 ms for company (64 rows never come): the queue holds 4 of them.
    const file = writeModel(path.join(dir, 'q.onnx'), matmulAdd(SMALL_MATMUL));
    const server = new ModelServer({ models: [{ name: 'mm', path: file, maxBatchSize: 64, maxBatchDelayMs: 300, maxQueue: 4 }], port: 0, ...logs().sinks });
    const base = await server.start();
    try {
      const x = { name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] };
      const answers = await Promise.all(Array.from({ length: 12 }, () => post(`${base}/v2/models/mm/infer`, { inputs: [x] })));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((c) => c === 429).length, 8, statuses.join(','));
      assert.equal(statuses.filter((c) => c === 200).length, 4, statuses.join(','));
      const refused = answers.find((a) => a.status === 429)!;
      assert.match(refused.json.error, /queue/i);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal((await post(`${base}/v2/models/mm/infer`, { inputs: [x] })).status, 200);
    } finally {
      await server.close();
    }
  });

  test('two instances on worker threads give exact answers', async () => {
    const file = writeModel(path.join(dir, 'inst.onnx'), matmulAdd(SMALL_MATMUL));
    const out = logs();
    const server = new ModelServer({ models: [{ name: 'mm', path: file, instances: 2, maxBatchSize: 4, maxBatchDelayMs: 5 }], port: 0, ...out.sinks });
    const base = await server.start();
    try {
      assert.match(out.log.join('\n'), /\(2 instances\)/);
      const rows = Array.from({ length: 16 }, (_, i) => [i, 1, 0]);
      const answers = await Promise.all(rows.map((r) => post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: r }] })));
      answers.forEach((a, i) => assert.deepEqual(a.json.outputs[0].data, smallMatmulRow(rows[i]!)));
    } finally {
      await server.close();
    }
  });
});

describe('every datatype through the server', () => {
  test('JSON round trip of each v2 datatype, INT64 beyond 2^53 kept exact', async () => {
    const file = writeModel(path.join(dir, 'types.onnx'), identityAll());
    const server = new ModelServer({ models: [{ name: 'types', path: file }], port: 0, ...logs().sinks });
    const base = await server.start();
    try {
      const values: Record<string, unknown[]> = {
        BOOL: [true, false], UINT8: [0, 255], INT8: [-128, 127], UINT16: [0, 65535], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647],
        INT64: ['-9007199254740993', '9007199254740993'], UINT32: [0, 4294967295], UINT64: ['18446744073709551615', '1'], FP16: [1, -2],
        FP32: [0.5, -1.25], FP64: [1e-300, 3.141592653589793], BYTES: ['héllo', ''],
      };
      const inputs = Object.entries(values).map(([dt, data]) => ({ name: `in_${dt}`, datatype: dt, shape: [1, 2], data }));
      const res = await post(`${base}/v2/models/types/infer`, { inputs });
      assert.equal(res.status, 200, res.text);
      for (const [dt, data] of Object.entries(values)) {
        const o = res.json.outputs.find((x: any) => x.name === `out_${dt}`);
        assert.equal(o.datatype, dt);
        if (dt === 'INT64' || dt === 'UINT64') continue; // checked on the raw text below
        assert.deepEqual(o.data, data, dt);
      }
      // JSON.parse rounds 64-bit integers; the text carries them exactly.
      assert.match(res.text, /"name":"out_INT64","datatype":"INT64","shape":\[1,2\],"data":\[-9007199254740993,9007199254740993\]/);
      assert.match(res.text, /"name":"sum_INT64","datatype":"INT64","shape":\[1,2\],"data":\[-18014398509481986,18014398509481986\]/);
      assert.match(res.text, /"data":\[18446744073709551615,1\]/);
    } finally {
      await server.close();
    }
  });
});

describe('OpenAI-compatible embeddings', () => {
  test('/v1/embeddings and /v1/models on an embedding-shaped model', async () => {
    const file = writeModel(path.join(dir, 'embed.onnx'), embedding(SMALL_EMBEDDING));
    const mm = writeModel(path.join(dir, 'mm2.onnx'), matmulAdd(SMALL_MATMUL));
    const server = new ModelServer({ models: [{ name: 'embed', path: file, maxBatchSize: 8, maxBatchDelayMs: 2 }, { name: 'mm', path: mm }], port: 0, ...logs().sinks });
    const base = await server.start();
    try {
      const list = await (await fetch(`${base}/v1/models`)).json();
      assert.deepEqual(list.data.map((m: any) => m.id), ['embed']);
      // Token t's row is [t, 10t]: the mean of [1, 3] is [2, 20]; of [2, 2, 2] is [2, 20]; of [3] is [3, 30].
      const res = await post(`${base}/v1/embeddings`, { model: 'embed', input: [[1, 3], [2, 2, 2], [3]] });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.data.map((d: any) => d.embedding), [[2, 20], [2, 20], [3, 30]]);
      assert.deepEqual(res.json.data.map((d: any) => d.index), [0, 1, 2]);
      assert.deepEqual(res.json.usage, { prompt_tokens: 6, total_tokens: 6 });
      const b64 = await post(`${base}/v1/embeddings`, { model: 'embed', input: [1, 3], encoding_format: 'base64' });
      assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(Buffer.from(b64.json.data[0].embedding, 'base64')).buffer)), [2, 20]);
      const text = await post(`${base}/v1/embeddings`, { model: 'embed', input: 'hello' });
      assert.equal(text.status, 400);
      assert.match(text.json.error.message, /has no tokenizer \(a BERT WordPiece vocab\.txt beside model\.onnx\): send token ids instead/);
      const notEmbedding = await post(`${base}/v1/embeddings`, { model: 'mm', input: [1] });
      assert.equal(notEmbedding.status, 400);
      assert.match(notEmbedding.json.error.message, /not embedding-shaped/);
    } finally {
      await server.close();
    }
  });
});

describe('reloading a changed model', () => {
  test('a new file is served without dropping requests; a corrupt one keeps the old version', async () => {
    const sub = mkdtempSync(path.join(dir, 'reload-'));
    const file = writeModel(path.join(sub, 'model.onnx'), matmulAdd(SMALL_MATMUL));
    const out = logs();
    const server = new ModelServer({ models: [{ name: 'mm', path: file, maxBatchSize: 8, maxBatchDelayMs: 1, debounceMs: 50 }], port: 0, ...out.sinks });
    const base = await server.start();
    const ask = () => post(`${base}/v2/models/mm/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] }] });
    let stop = false;
    const seen: string[] = [];
    const failures: string[] = [];
    // Requests flow the whole time the file changes.
    const load = (async () => {
      while (!stop) {
        const answers = await Promise.all(Array.from({ length: 4 }, ask));
        for (const a of answers) {
          if (a.status !== 200) failures.push(`${a.status} ${a.text}`);
          else seen.push(JSON.stringify(a.json.outputs[0].data));
        }
      }
    })();
    try {
      await until(() => seen.length > 5, 10_000, 'first answers');
      // Doubled weights: [1,1,1] -> [18.5, 23].
      const tmp = path.join(sub, 'model.onnx.tmp');
      writeFileSync(tmp, matmulAdd({ ...SMALL_MATMUL, weights: SMALL_MATMUL.weights.map((w) => w * 2) }));
      renameSync(tmp, file);
      await until(() => seen.at(-1) === JSON.stringify([18.5, 23]), 15_000, 'the reloaded weights in answers');
      await until(() => out.log.some((l) => /mm: reloaded version 1/.test(l)), 5000, 'reload log line');
      // Corrupt bytes: the doubled version keeps answering, the error is said.
      writeFileSync(file, Buffer.from('this is not an onnx model'));
      await until(() => out.error.some((l) => /mm: version 1 changed but does not load .*still serving/.test(l)), 15_000, 'reload failure line');
      const after = await ask();
      assert.equal(after.status, 200);
      assert.deepEqual(after.json.outputs[0].data, [18.5, 23]);
      assert.equal(metric(await server.metricsText(), 'devloop_model_reloads_total', 'result="failed"') >= 1, true);
      // Written in two halves (a copy in progress): whatever loads in between, the whole file wins.
      const bytes = matmulAdd({ ...SMALL_MATMUL, bias: [100, 200] });
      writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await new Promise((r) => setTimeout(r, 20));
      writeFileSync(file, bytes);
      await until(() => seen.at(-1) === JSON.stringify([109, 212]), 15_000, 'the fully written model in answers');
    } finally {
      stop = true;
      await load;
      await server.close();
    }
    assert.deepEqual(failures, [], 'no request failed during reloads');
  });
});

describe('bad models', () => {
  test('a corrupt model file does not start, with a clear error; a good one beside it is unaffected', async () => {
    const bad = path.join(dir, 'bad.onnx');
    writeFileSync(bad, Buffer.from([0x08, 0x07, 0x12, 0xff, 0xff, 0xff]));
    const server = new ModelServer({ models: [{ name: 'bad', path: bad }], port: 0, ...logs().sinks });
    await assert.rejects(server.start(), (err: Error) => /cannot load .*bad\.onnx: /.test(err.message));
    const good = new ModelServer({ models: [{ name: 'mm', path: writeModel(path.join(dir, 'good.onnx'), matmulAdd(SMALL_MATMUL)) }], port: 0, ...logs().sinks });
    const base = await good.start();
    try {
      assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
    } finally {
      await good.close();
    }
    const missing = new ModelServer({ models: [{ name: 'gone', path: path.join(dir, 'nope.onnx') }], port: 0, ...logs().sinks });
    await assert.rejects(missing.start(), /model file not found: .*nope\.onnx/);
  });
});

describe('model versions', () => {
  test('a folder of numbered versions: the policy picks them, a new version folder is loaded and the old one unloaded', async () => {
    const repo = mkdtempSync(path.join(dir, 'versions-'));
    const version = (v: number, bias: number) => {
      mkdirSync(path.join(repo, String(v)), { recursive: true });
      writeModel(path.join(repo, String(v), 'model.onnx'), matmulAdd({ ...SMALL_MATMUL, bias: [bias, bias] }));
    };
    version(1, 0);
    version(2, 1000);
    mkdirSync(path.join(repo, 'notes'));
    const out = logs();
    const all = new ModelServer({ models: [{ name: 'all', path: repo, versionPolicy: { all: true } }, { name: 'latest', path: repo, debounceMs: 50 }], port: 0, ...out.sinks });
    const base = await all.start();
    const ask = async (model: string, v?: string) => (await post(`${base}/v2/models/${model}${v ? `/versions/${v}` : ''}/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] }] }));
    try {
      assert.deepEqual((await (await fetch(`${base}/v2/models/all`)).json()).versions, ['2', '1']);
      assert.deepEqual((await ask('all', '1')).json.outputs[0].data, [9, 12]);
      assert.deepEqual((await ask('all', '2')).json.outputs[0].data, [1009, 1012]);
      // Without a version: the newest.
      assert.equal((await ask('all')).json.model_version, '2');
      assert.deepEqual((await (await fetch(`${base}/v2/models/latest`)).json()).versions, ['2']);
      const gone = await ask('latest', '1');
      assert.equal(gone.status, 404);
      assert.match(gone.json.error, /model "latest" has no version "1" loaded; loaded: 2/);
      version(3, 5000);
      await until(async () => (await ask('latest')).json?.model_version === '3', 15_000, 'version 3 served');
      assert.deepEqual((await ask('latest')).json.outputs[0].data, [5009, 5012]);
      await until(() => out.log.some((l) => /latest: unloaded version 2 \(not selected by versionPolicy\)/.test(l)), 5000, 'version 2 unloaded');
    } finally {
      await all.close();
    }
  });
});

describe('embeddings of text through the model\'s WordPiece vocabulary', () => {
  test('a vocab.txt beside the model turns text into token ids; each text gets its mean row', async () => {
    const sub = mkdtempSync(path.join(dir, 'text-'));
    // Token t's row is [t, 10t]; the vocabulary: 2 = [CLS], 3 = [SEP], 4 = hello, 6 = world.
    const table = Array.from({ length: 8 }, (_, t) => [t, 10 * t]).flat();
    const file = writeModel(path.join(sub, 'model.onnx'), embedding({ table, vocab: 8, dim: 2 }));
    writeFileSync(path.join(sub, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'hello', ',', 'world', '!'].join('\n'));
    const server = new ModelServer({ models: [{ name: 'embed', path: file }], port: 0, ...logs().sinks });
    const base = await server.start();
    try {
      // "Hello World" -> [CLS] hello world [SEP] = 2, 4, 6, 3: mean 3.75; "hello" -> 2, 4, 3: mean 3.
      const res = await post(`${base}/v1/embeddings`, { model: 'embed', input: ['Hello World', 'hello'] });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.data.map((d: any) => d.embedding), [[3.75, 37.5], [3, 30]]);
      assert.deepEqual(res.json.usage, { prompt_tokens: 7, total_tokens: 7 });
      const one = await post(`${base}/v1/embeddings`, { model: 'embed', input: 'hello, world!' });
      // 2, 4, 5, 6, 7, 3: mean 4.5.
      assert.deepEqual(one.json.data[0].embedding, [4.5, 45]);
      const mixed = await post(`${base}/v1/embeddings`, { model: 'embed', input: ['hello', 4] });
      assert.equal(mixed.status, 400);
      assert.match(mixed.json.error.message, /mixes text and token ids/);
    } finally {
      await server.close();
    }
  });
});
