/**
 * Secrets never leave devloop: every text that enters the store (log lines, errors with their
 * hints and causes, plugin data) goes through the engine's one Redactor, and so do the reports
 * written outside it (JUnit, snapshot). A secret is matched as written, line by line (a PEM key
 * printed by a service arrives as one log line per line), JSON-escaped, and base64-encoded.
 */

const SECRET_NAME = /(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH)/i;
/**
 * devloop's own environment is not declared by the project: a short value there (`AUTH_MODE=dev`)
 * is more likely a setting than a secret, and redacting it everywhere would garble every line.
 */
const MIN_AMBIENT_LENGTH = 6;
/**
 * A name that looks secret is a guess; `AUTH_ENABLED=true` holds no secret, and redacting "true"
 * would break every JSON line. Values from secretKeyRef or a secrets file are never skipped.
 */
const FLAG_VALUE = /^(true|false|yes|no|on|off|0|1|null|none|enabled|disabled)$/i;
/** Lines of a multi-line secret shorter than this (blank lines, a lone `}`) are too common to match alone. */
const MIN_LINE_LENGTH = 6;
export const REDACTED = '[redacted]';

export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern?: RegExp;

  /**
   * Registers the values of env vars whose names look secret. `ambient` marks devloop's own
   * process environment, where short values are skipped.
   */
  addEnv(env: Record<string, string | undefined>, options: { ambient?: boolean } = {}): void {
    for (const [name, value] of Object.entries(env)) {
      if (!value || !SECRET_NAME.test(name) || FLAG_VALUE.test(value.trim())) continue;
      if (options.ambient && value.length < MIN_AMBIENT_LENGTH) continue;
      this.add(value);
    }
  }

  /** Registers a declared secret (any length) with the forms it may take in output. */
  add(secret: string): void {
    if (!secret.trim() || this.secrets.has(secret)) return;
    const forms = new Set<string>([secret]);
    if (/[\r\n]/.test(secret)) {
      for (const line of secret.split(/\r?\n/)) if (line.trim().length >= MIN_LINE_LENGTH) forms.add(line.trim());
    }
    for (const f of [...forms]) forms.add(JSON.stringify(f).slice(1, -1));
    const bytes = Buffer.from(secret, 'utf8');
    const b64 = bytes.toString('base64');
    forms.add(b64);
    forms.add(b64.replace(/=+$/, ''));
    forms.add(bytes.toString('base64url'));
    for (const f of forms) if (f) this.secrets.add(f);
    this.secrets.add(secret);
    this.pattern = undefined;
  }

  get size(): number { return this.secrets.size; }

  /** Takes every secret (in every form) another redactor knows. */
  merge(other: Redactor): void {
    for (const s of other.secrets) this.secrets.add(s);
    this.pattern = undefined;
  }

  redact(text: string): string {
    if (this.secrets.size === 0 || typeof text !== 'string' || text === '') return text;
    return text.replace(this.regex(), REDACTED);
  }

  /**
   * A copy of `value` with every string redacted. Plain objects and arrays are walked; anything
   * else (class instances, functions) is passed through untouched, since rebuilding it would break
   * it. Branches without a secret keep their identity, so reducers' `===` checks still hold.
   */
  redactDeep<T>(value: T): T {
    if (this.secrets.size === 0) return value;
    return this.walk(value, 0) as T;
  }

  /** Redacts an error in place (message, hint, stack, causes) so it can be rethrown as is. */
  redactError<E>(err: E): E {
    if (this.secrets.size === 0) return err;
    const seen = new Set<unknown>();
    let e: unknown = err;
    while (e && typeof e === 'object' && !seen.has(e)) {
      seen.add(e);
      const o = e as { message?: unknown; hint?: unknown; stack?: unknown; cause?: unknown };
      for (const key of ['message', 'hint', 'stack'] as const) {
        // DevloopError's fields are readonly to callers; the redactor is the one writer allowed.
        if (typeof o[key] === 'string') try { o[key] = this.redact(o[key] as string); } catch { /* frozen: leave it */ }
      }
      if (typeof o.cause === 'string') try { o.cause = this.redact(o.cause); } catch { /* frozen */ }
      e = o.cause;
    }
    return err;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (!value || typeof value !== 'object' || depth > 64) return value;
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      value.forEach((v, i) => {
        const r = this.walk(v, depth + 1);
        if (r !== v) (out ??= value.slice())[i] = r;
      });
      return out ?? value;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const r = this.walk(v, depth + 1);
      if (r !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = r;
    }
    return out ?? value;
  }

  private regex(): RegExp {
    // One alternation, longest first: a secret containing another is replaced whole.
    this.pattern ??= new RegExp([...this.secrets].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
    return this.pattern;
  }
}

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
