/**
 * Optional model access through any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama's
 * `/v1`, LiteLLM, ...). Configured in Devfile.ts as `ai.ghostbusters.model: { baseUrl, model }`;
 * the key comes from the environment, never from the Devfile, so it is not committed.
 *
 * Agents may use a model to explain or rank findings, never to create them: `explainFindings`
 * only annotates the ids it was given and drops anything else the model says. Without a model
 * every agent works deterministically.
 *
 * `baseUrl` follows the OpenAI SDK convention: it includes the version (`http://host:8000/v1`),
 * and requests go to `${baseUrl}/chat/completions`. No key in the environment sends no
 * `Authorization` header (local servers rarely want one); a 401/403 then says which variable to set.
 *
 * Tokens are counted from `usage.total_tokens` against the caller's budget. A server that omits
 * `usage` counts as 0 tokens: the budget cannot be enforced against a server that does not report.
 */
import { CancelledError, DevloopError } from '../../core/errors.js';
import { findingId } from './finding-id.js';
import type { Finding } from './types.js';

export interface ModelConfig {
  /** `http://127.0.0.1:8000/v1`, `https://api.openai.com/v1`. */
  baseUrl: string;
  model: string;
  /** The environment variable that holds the key (default `OPENAI_API_KEY`). */
  apiKeyEnv?: string;
  /** Per request, connect to last byte (default 30 s). */
  timeoutMs?: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Tokens a run may still spend. `tokensLeft` undefined: no limit. */
export interface TokenBudget {
  readonly tokensLeft?: number;
  spend(tokens: number): void;
}

export interface ChatOptions {
  signal?: AbortSignal;
  budget?: TokenBudget;
  maxTokens?: number;
  temperature?: number;
}

export interface ChatResult {
  content: string;
  /** `usage.total_tokens`, 0 when the server does not report usage. */
  totalTokens: number;
  model: string;
}

export interface ModelClient {
  readonly baseUrl: string;
  readonly model: string;
  chat(messages: ChatMessage[], options?: ChatOptions): Promise<ChatResult>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const CONFIG_HINT = 'Check ai.ghostbusters.model in Devfile.ts (baseUrl includes /v1), or remove it to run the agents without a model.';

export function createModelClient(config: ModelConfig, env: NodeJS.ProcessEnv = process.env): ModelClient {
  const baseUrl = config.baseUrl.replace(/\/+$/, '');
  const keyEnv = config.apiKeyEnv ?? 'OPENAI_API_KEY';
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const url = `${baseUrl}/chat/completions`;
  if (!/^https?:\/\//.test(baseUrl)) {
    throw new DevloopError(`model baseUrl "${config.baseUrl}" is not an http(s) URL`, { code: 'MODEL_CONFIG', hint: CONFIG_HINT });
  }

  return {
    baseUrl,
    model: config.model,
    async chat(messages, options = {}) {
      const { budget } = options;
      if (options.signal?.aborted) throw new CancelledError(`model call to ${url} cancelled`);
      if (budget?.tokensLeft !== undefined && budget.tokensLeft <= 0) {
        throw new DevloopError(`token budget spent: no tokens left for a call to model "${config.model}"`, {
          code: 'MODEL_BUDGET', hint: 'Raise the run\'s token budget, or let the agents run without the model.',
        });
      }
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      const key = env[keyEnv];
      const body = {
        model: config.model,
        messages,
        ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      };

      let status: number;
      let text: string;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify(body),
          signal,
        });
        status = res.status;
        text = await res.text();
      } catch (err) {
        if (options.signal?.aborted) throw new CancelledError(`model call to ${url} cancelled`);
        if (timeout.aborted) {
          throw new DevloopError(`model endpoint ${url} did not answer within ${timeoutMs} ms`, {
            code: 'MODEL_TIMEOUT', cause: err, hint: `Check that the server is not overloaded, or raise ai.ghostbusters.model.timeoutMs. ${CONFIG_HINT}`,
          });
        }
        const reason = networkReason(err);
        throw new DevloopError(`model endpoint down: POST ${url} failed (${reason})`, {
          code: 'MODEL_UNREACHABLE', cause: err, hint: `Start the model server, or fix the address. ${CONFIG_HINT}`,
        });
      }

      if (status !== 200) {
        const auth = status === 401 || status === 403;
        throw new DevloopError(`model endpoint ${url} answered HTTP ${status}: ${excerpt(text)}`, {
          code: 'MODEL_HTTP',
          hint: auth
            ? (key ? `The key in ${keyEnv} was refused; check it is valid for ${baseUrl}.` : `No key was sent: set ${keyEnv} in the environment.`)
            : CONFIG_HINT,
        });
      }
      const parsed = parseCompletion(text);
      if (typeof parsed === 'string') {
        throw new DevloopError(`model endpoint ${url} answered something that is not a chat completion: ${parsed} (body: ${excerpt(text)})`, {
          code: 'MODEL_BAD_RESPONSE', hint: `The server at ${baseUrl} must speak the OpenAI chat completions API. ${CONFIG_HINT}`,
        });
      }
      budget?.spend(parsed.totalTokens);
      return { ...parsed, model: parsed.model || config.model };
    },
  };
}

/** The completion, or what is wrong with it. Hand-checked so the message says which field. */
export function parseCompletion(text: string): ChatResult | string {
  let json: unknown;
  try { json = JSON.parse(text); } catch { return 'the body is not JSON'; }
  if (!isObject(json)) return 'the body is not a JSON object';
  if (!Array.isArray(json.choices) || json.choices.length === 0) return 'no "choices" array';
  const first = json.choices[0];
  if (!isObject(first) || !isObject(first.message)) return '"choices[0].message" is missing';
  const content = first.message.content;
  if (typeof content !== 'string') return '"choices[0].message.content" is not a string';
  let totalTokens = 0;
  if (json.usage !== undefined && json.usage !== null) {
    const total = isObject(json.usage) ? json.usage.total_tokens : undefined;
    if (typeof total !== 'number' || !Number.isFinite(total) || total < 0) return '"usage.total_tokens" is not a count';
    totalTokens = total;
  }
  return { content, totalTokens, model: typeof json.model === 'string' ? json.model : '' };
}

const MAX_EXPLANATION = 300;

/**
 * One short explanation per finding, keyed by `findingId`. The model sees the findings and is
 * asked for a JSON object; ids it was not given are dropped (a model does not create findings),
 * and a missing id or an answer that is not that object is an error naming what is wrong.
 */
export async function explainFindings(client: ModelClient, findings: Finding[], options: ChatOptions = {}): Promise<Record<string, string>> {
  if (findings.length === 0) return {};
  const ids = findings.map(findingId);
  const listing = findings.map((f, i) => ({ id: ids[i], rule: f.ruleId, severity: f.severity, where: `${f.file}:${f.line}:${f.column}`, message: f.message }));
  const result = await client.chat([
    {
      role: 'system',
      content: 'You explain static-analysis findings to developers. Answer with one JSON object only, no prose: '
        + 'keys are the finding ids you were given, values are one sentence (under 40 words) on why it matters and how to fix it. '
        + 'Do not add ids.',
    },
    { role: 'user', content: JSON.stringify(listing) },
  ], { temperature: 0, ...options });

  const answer = parseJsonObject(result.content);
  const where = `model "${client.model}" at ${client.baseUrl}`;
  if (!answer) {
    throw new DevloopError(`${where} did not answer with the JSON object of explanations asked for: ${excerpt(result.content)}`, {
      code: 'MODEL_BAD_RESPONSE', hint: 'Use a model that follows instructions for JSON output, or run without the model.',
    });
  }
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const id of ids) {
    const text = answer[id];
    if (typeof text === 'string' && text.trim()) out[id] = clip(text.trim(), MAX_EXPLANATION);
    else missing.push(id);
  }
  if (missing.length) {
    throw new DevloopError(`${where} gave no explanation for ${missing.length} of ${ids.length} findings: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`, {
      code: 'MODEL_BAD_RESPONSE', hint: 'Retry with fewer findings at a time, or run without the model.',
    });
  }
  return out;
}

/** Models often wrap JSON in a ```json fence; accept that, nothing looser. */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  try {
    const value: unknown = JSON.parse(fenced ? fenced[1] : text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function networkReason(err: unknown): string {
  // undici puts the system error (ECONNREFUSED, ENOTFOUND) on `cause`.
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function excerpt(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one ? JSON.stringify(clip(one, 200)) : '(empty body)';
}
