/**
 * The model server: the Open Inference Protocol v2 over HTTP (as KServe and Triton serve it),
 * OpenAI-compatible embeddings for embedding-shaped models, and Prometheus metrics, for the
 * models its {@link ModelHost}s load.
 *
 * Plain `node:http`: a request costs a body read, a JSON parse and a batcher submit, so the HTTP
 * overhead stays a fraction of a millisecond (bench/model-serving.bench.ts measures it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { checkLoopbackHost } from '../shared/loopback-host.js';
import { QueueFullError } from './batcher.js';
import { base64Vector, embeddingInputs, embeddingShape, embeddingVectors, tokenLists, type EmbeddingShape } from './embeddings.js';
import { ModelHost, type ModelHostOptions, type ServedVersion } from './host.js';
import { findTokenizer, type Tokenizer } from './tokenizer.js';
import { encodeInferResponse, errorBody, MAX_BODY_BYTES, modelMetadata, parseInferRequest } from './protocol.js';
import { ProtocolError, type HostTensor } from './types.js';

export const SERVER_NAME = 'devloop-model-server';

export interface ModelServerOptions {
  models: Omit<ModelHostOptions, 'log' | 'warn' | 'error' | 'onBatch' | 'onInference' | 'onReload'>[];
  host?: string;
  /** 0: any free port. */
  port?: number;
  maxBodyBytes?: number;
  log?: (line: string) => void;
  warn?: (line: string) => void;
  error?: (line: string) => void;
}

interface Metrics {
  registry: Registry;
  requests: Counter<'model' | 'route' | 'status'>;
  duration: Histogram<'model' | 'route'>;
  inference: Histogram<'model'>;
  batchRows: Histogram<'model'>;
  batchRequests: Histogram<'model'>;
  reloads: Counter<'model' | 'result'>;
}

function createMetrics(hosts: Map<string, ModelHost>): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256];
  const metrics: Metrics = {
    registry,
    requests: new Counter({ name: 'devloop_model_requests_total', help: 'Model server requests by model, route and HTTP status.', labelNames: ['model', 'route', 'status'], registers }),
    duration: new Histogram({
      name: 'devloop_model_request_duration_seconds', help: 'Whole request time (read, queue, inference, answer) by model and route.', labelNames: ['model', 'route'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    inference: new Histogram({
      name: 'devloop_model_inference_seconds', help: 'Time in onnxruntime per executed batch.', labelNames: ['model'], registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    batchRows: new Histogram({ name: 'devloop_model_batch_size', help: 'Rows (along the batch dimension) per executed batch.', labelNames: ['model'], registers, buckets: sizes }),
    batchRequests: new Histogram({ name: 'devloop_model_batch_requests', help: 'Requests merged into each executed batch.', labelNames: ['model'], registers, buckets: sizes }),
    reloads: new Counter({ name: 'devloop_model_reloads_total', help: 'Model reloads after a file change, by result.', labelNames: ['model', 'result'], registers }),
  };
  new Gauge({
    name: 'devloop_model_queue_depth', help: 'Requests waiting for a batch slot.', labelNames: ['model'], registers,
    collect() {
      for (const [name, host] of hosts) this.set({ model: name }, host.depth);
    },
  });
  new Gauge({
    name: 'devloop_model_ready', help: '1 when the model has a loaded version, with its newest version and execution provider.', labelNames: ['model', 'version', 'provider'], registers,
    collect() {
      this.reset();
      for (const [name, host] of hosts) {
        const served = host.get();
        this.set({ model: name, version: served?.version ?? '', provider: served?.model.provider ?? '' }, served ? 1 : 0);
      }
    },
  });
  return metrics;
}

type Route = 'infer' | 'metadata' | 'ready' | 'embeddings' | 'other';

export class ModelServer {
  readonly hosts = new Map<string, ModelHost>();
  private readonly metrics: Metrics;
  private server?: http.Server;
  private readonly log: (line: string) => void;
  private readonly maxBody: number;
  /** Embedding shapes by model and version, worked out once per loaded signature. */
  private readonly shapes = new WeakMap<object, EmbeddingShape | string>();
  private readonly tokenizers = new WeakMap<ServedVersion, Tokenizer | null>();
  address = '';

  constructor(private readonly opts: ModelServerOptions) {
    this.log = opts.log ?? ((line) => process.stdout.write(line + '\n'));
    const warn = opts.warn ?? ((line: string) => process.stderr.write(`warning: ${line}\n`));
    const error = opts.error ?? ((line: string) => process.stderr.write(`error: ${line}\n`));
    this.maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
    this.metrics = createMetrics(this.hosts);
    for (const m of opts.models) {
      if (this.hosts.has(m.name)) throw new Error(`two models are named "${m.name}"`);
      this.hosts.set(m.name, new ModelHost({
        ...m, log: this.log, warn, error,
        onBatch: (model, rows, requests) => {
          this.metrics.batchRows.observe({ model }, rows);
          this.metrics.batchRequests.observe({ model }, requests);
        },
        onInference: (model, seconds) => this.metrics.inference.observe({ model }, seconds),
        onReload: (model, ok) => this.metrics.reloads.inc({ model, result: ok ? 'ok' : 'failed' }),
      }));
    }
  }

  /** Loads every model (throws naming the first that does not load), then listens. */
  async start(): Promise<string> {
    const results = await Promise.allSettled([...this.hosts.values()].map((h) => h.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all([...this.hosts.values()].map((h) => h.close()));
      throw failed.reason;
    }
    const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    this.server = server;
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.address = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return this.address;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stops listening, lets requests in flight finish, frees the sessions. */
  async close(): Promise<void> {
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    }
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
  }

  metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const bindHost = this.opts.host ?? '127.0.0.1';
    if ((bindHost === '127.0.0.1' || bindHost === 'localhost' || bindHost === '::1') && !checkLoopbackHost(req, res, 'The model server')) return;
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let model = '';
    let route: Route = 'other';
    const done = (status: number, body: Buffer | string, headers: Record<string, string | number> = {}): void => {
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, ...headers });
      res.end(buf);
      if (model) {
        this.metrics.requests.inc({ model, route, status: String(status) });
        if (route === 'infer' || route === 'embeddings') this.metrics.duration.observe({ model, route }, (performance.now() - started) / 1000);
      }
    };
    const fail = (err: unknown): void => {
      if (err instanceof ProtocolError) return done(err.status, errorBody(err.message));
      if (err instanceof QueueFullError) return done(429, errorBody(err.message), { 'retry-after': 1 });
      done(500, errorBody(`inference failed: ${(err as Error)?.message ?? String(err)}`));
    };
    try {
      if (path.startsWith('/v2/models/')) {
        const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready)?$/.exec(path);
        if (!m) return done(404, errorBody(`no such endpoint: ${req.method} ${path}`));
        const name = decodeURIComponent(m[1]!);
        const version = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
        const host = this.hosts.get(name);
        if (!host) return done(404, errorBody(`unknown model "${name}"; this server serves ${[...this.hosts.keys()].join(', ')}`));
        model = name;
        route = m[3] === '/infer' ? 'infer' : m[3] === '/ready' ? 'ready' : 'metadata';
        const served = host.get(version);
        if (!served) {
          if (version !== undefined && host.ready) return done(404, errorBody(`model "${name}" has no version "${version}" loaded; loaded: ${host.versions().join(', ')}`));
          return done(503, errorBody(`model "${name}" is not ready`));
        }
        if (route === 'ready') return req.method === 'GET' ? done(200, '') : done(405, errorBody('use GET'), { allow: 'GET' });
        if (route === 'metadata') return req.method === 'GET' ? done(200, JSON.stringify(modelMetadata(name, host.versions(), served.model.signature))) : done(405, errorBody('use GET'), { allow: 'GET' });
        if (req.method !== 'POST') return done(405, errorBody(`use POST for ${path}`), { allow: 'POST' });
        this.readBody(req, res, (body) => {
          const header = req.headers['inference-header-content-length'];
          const headerLength = header === undefined ? undefined : Number(header);
          if (headerLength !== undefined && (!Number.isInteger(headerLength) || headerLength < 0)) return done(400, errorBody(`Inference-Header-Content-Length must be a byte count, got ${JSON.stringify(header)}`));
          const request = parseInferRequest(body, headerLength, served.model.signature, name);
          const rows = request.inputs[0]?.shape[0];
          if (served.batchable && request.inputs.some((t) => t.shape[0] !== rows)) {
            throw new ProtocolError(400, `inputs disagree on dimension 0 (${request.inputs.map((t) => `${t.name}: ${t.shape[0]}`).join(', ')}); model "${name}" batches along it, so every input needs the same size there`);
          }
          served.batcher.submit(request.inputs).then((outputs) => {
            const chosen = request.outputs ? request.outputs.map((o) => outputs.find((t) => t.name === o.name)!) : outputs;
            const encoded = encodeInferResponse({ modelName: name, modelVersion: served.version, id: request.id, outputs: chosen, request });
            const headers: Record<string, string | number> = {};
            if (encoded.headerLength !== undefined) {
              headers['inference-header-content-length'] = encoded.headerLength;
              headers['content-type'] = 'application/octet-stream';
            }
            done(200, encoded.body, headers);
          }, fail);
        }, (status, message) => done(status, errorBody(message)), fail);
        return;
      }
      switch (path) {
        case '/v2/health/live':
          return done(200, '');
        case '/v2/health/ready': {
          const waiting = [...this.hosts.values()].filter((h) => !h.ready).map((h) => h.name);
          return waiting.length ? done(503, errorBody(`not ready: ${waiting.join(', ')}`)) : done(200, '');
        }
        case '/v2':
          return done(200, JSON.stringify({ name: SERVER_NAME, version: '2', extensions: ['binary_tensor_data', 'model_repository'] }));
        case '/metrics':
          this.metrics.registry.metrics().then((text) => done(200, text, { 'content-type': this.metrics.registry.contentType }), fail);
          return;
        case '/v1/models':
          return done(200, JSON.stringify({ object: 'list', data: this.embeddingModels().map((id) => ({ id, object: 'model', created: 0, owned_by: 'devloop' })) }));
        case '/v1/embeddings':
          if (req.method !== 'POST') return done(405, openAiError('use POST for /v1/embeddings', 'method'), { allow: 'POST' });
          route = 'embeddings';
          this.readBody(req, res, (body) => this.embeddings(body, (m) => { model = m; }, done), (status, message) => done(status, openAiError(message)), (err) => {
            if (err instanceof ProtocolError) return done(err.status, openAiError(err.message));
            if (err instanceof QueueFullError) return done(429, openAiError(err.message), { 'retry-after': 1 });
            done(500, openAiError(`embedding failed: ${(err as Error)?.message ?? String(err)}`, undefined, 'server_error'));
          });
          return;
        default:
          return done(404, errorBody(`no such endpoint: ${req.method} ${path}; the model server answers /v2/..., /v1/embeddings, /v1/models and /metrics`));
      }
    } catch (err) {
      fail(err);
    }
  }

  /**
   * Reads a request body up to the limit. Above it the answer is 413 at once, and the rest of
   * the upload is read and dropped so the client gets to see that answer.
   */
  private readBody(req: http.IncomingMessage, res: http.ServerResponse, then: (body: Buffer) => void, reject: (status: number, message: string) => void, fail: (err: unknown) => void): void {
    const limit = this.maxBody;
    const tooBig = (): void => {
      res.setHeader('connection', 'close');
      reject(413, `request body is larger than the limit of ${limit} bytes (${(limit / 1048576).toFixed(0)} MiB); send fewer rows per request, or use the binary tensor extension, which is about 4x smaller than JSON for floats`);
      req.resume();
    };
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return tooBig();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        tooBig();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      try {
        then(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      } catch (err) {
        fail(err);
      }
    });
    req.on('error', () => undefined);
  }

  /** The tokenizer beside a served version's file, looked for once per version. */
  private tokenizerOf(served: ServedVersion): Tokenizer | undefined {
    if (!this.tokenizers.has(served)) this.tokenizers.set(served, findTokenizer(served.file) ?? null);
    return this.tokenizers.get(served) ?? undefined;
  }

  private embeddingModels(): string[] {
    return [...this.hosts.entries()].filter(([, h]) => {
      const served = h.get();
      return served && typeof this.shapeOf(served.model.signature) !== 'string';
    }).map(([name]) => name);
  }

  private shapeOf(sig: object & Parameters<typeof embeddingShape>[0]): EmbeddingShape | string {
    let shape = this.shapes.get(sig);
    if (shape === undefined) {
      shape = embeddingShape(sig);
      this.shapes.set(sig, shape);
    }
    return shape;
  }

  private embeddings(body: Buffer, setModel: (m: string) => void, done: (status: number, body: string) => void): void {
    let parsed: { model?: unknown; input?: unknown; encoding_format?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new ProtocolError(400, `request body is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null) throw new ProtocolError(400, 'request body must be a JSON object with "model" and "input"');
    const name = parsed.model;
    if (typeof name !== 'string') throw new ProtocolError(400, `"model" must be a string: one of ${this.embeddingModels().join(', ') || '(no embedding model is loaded)'}`);
    const host = this.hosts.get(name);
    if (!host) throw new ProtocolError(404, `unknown model "${name}"; embedding models here: ${this.embeddingModels().join(', ') || '(none)'}`);
    setModel(name);
    const served = host.get();
    if (!served) throw new ProtocolError(503, `model "${name}" is not ready`);
    const shape = this.shapeOf(served.model.signature);
    if (typeof shape === 'string') throw new ProtocolError(400, `model "${name}" is not embedding-shaped: ${shape}. Use POST /v2/models/${name}/infer`);
    const format = parsed.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') throw new ProtocolError(400, `"encoding_format" must be "float" or "base64", got ${JSON.stringify(format)}`);
    const seq = shape.ids.shape[1]!;
    const rows = tokenLists(parsed.input, this.tokenizerOf(served), seq > 0 ? seq : 512);
    // Without a mask, padding would be averaged in: rows of one length go together.
    const groups = new Map<number, number[]>();
    rows.forEach((r, i) => {
      const key = shape.mask ? 0 : r.length;
      const group = groups.get(key);
      if (group) group.push(i);
      else groups.set(key, [i]);
    });
    const vectors: number[][] = new Array(rows.length);
    const runs = [...groups.values()].map(async (idx) => {
      const group = idx.map((i) => rows[i]!);
      const outputs: HostTensor[] = await served.batcher.submit(embeddingInputs(shape, group));
      embeddingVectors(shape, outputs, group).forEach((v, k) => { vectors[idx[k]!] = v; });
    });
    Promise.all(runs).then(() => {
      const tokens = rows.reduce((n, r) => n + r.length, 0);
      done(200, JSON.stringify({
        object: 'list', model: name,
        data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? base64Vector(v) : v })),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      }));
    }, (err: unknown) => {
      if (err instanceof ProtocolError) return done(err.status, openAiError(err.message));
      if (err instanceof QueueFullError) return done(429, openAiError(err.message));
      done(500, openAiError(`embedding failed: ${(err as Error)?.message ?? String(err)}`, undefined, 'server_error'));
    });
  }
}

/** OpenAI's error shape. */
function openAiError(message: string, param?: string, type = 'invalid_request_error'): string {
  return JSON.stringify({ error: { message, type, param: param ?? null, code: null } });
}
