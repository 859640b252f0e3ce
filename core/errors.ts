/**
 * The error taxonomy.
 *
 * - `DevloopError`: something the user can fix. It carries a stable `code`, a message that says
 *   what is wrong and where, and a `hint` ("try this"). The CLI prints it without a stack and
 *   exits with its `exitCode`.
 * - `BugError`: devloop itself is wrong. The CLI prints the stack and asks for a report.
 * - `PluginError`: a plugin threw; it names the plugin and the hook, and keeps the cause.
 *
 * Every error has `toJSON()` so the JSON reporter and CI reports can carry it unchanged.
 */

export interface ErrorJSON {
  name: string;
  code: string;
  message: string;
  hint?: string;
  location?: SourceLocation;
  plugin?: string;
  hook?: string;
  service?: string;
  cause?: ErrorJSON;
}

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  /** A few lines of source around the location, with a caret under the column. */
  frame?: string;
}

export interface DevloopErrorOptions {
  code: string;
  hint?: string;
  location?: SourceLocation;
  exitCode?: number;
  cause?: unknown;
  service?: string;
}

export class DevloopError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly location?: SourceLocation;
  readonly exitCode: number;
  service?: string;

  constructor(message: string, options: DevloopErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DevloopError';
    this.code = options.code;
    this.hint = options.hint;
    this.location = options.location;
    this.exitCode = options.exitCode ?? 1;
    this.service = options.service;
  }

  toJSON(): ErrorJSON {
    return compact({
      name: this.name,
      code: this.code,
      message: this.message,
      hint: this.hint,
      location: this.location,
      service: this.service,
      cause: this.cause === undefined ? undefined : errorToJSON(this.cause),
    });
  }
}

/** Bad input on the command line or in the Devfile: exit code 2, like a usage error. */
export class UsageError extends DevloopError {
  constructor(message: string, options: Omit<DevloopErrorOptions, 'exitCode'>) {
    super(message, { ...options, exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** Devfile could not be loaded: syntax error, validation error, import failure. Exit code 2. */
export class ConfigError extends DevloopError {
  /** Every problem found, in source order; `message` is all of them joined. */
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], options: Omit<DevloopErrorOptions, 'exitCode'>) {
    super(issues.map(formatIssue).join('\n'), { ...options, exitCode: 2 });
    this.name = 'ConfigError';
    this.issues = issues;
  }
  override toJSON(): ErrorJSON & { issues: ConfigIssue[] } {
    return { ...super.toJSON(), issues: this.issues };
  }
}

export interface ConfigIssue {
  /** `services.api.port`; empty for file-level problems such as syntax errors. */
  path: string;
  message: string;
  location?: SourceLocation;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.column} ` : '';
  const path = issue.path ? `${issue.path}: ` : '';
  return `${where}${path}${issue.message}`;
}

/** A plugin threw. Names the plugin and the hook, keeps the original error as `cause`. */
export class PluginError extends DevloopError {
  readonly plugin: string;
  readonly hook: string;
  constructor(plugin: string, hook: string, cause: unknown, service?: string) {
    const inner = cause instanceof Error ? cause.message : String(cause);
    super(`plugin "${plugin}" failed in hook "${hook}": ${inner}`, {
      code: cause instanceof DevloopError ? cause.code : 'PLUGIN_FAILED',
      hint: cause instanceof DevloopError && cause.hint ? cause.hint : `This error comes from plugin "${plugin}"; check its options in Devfile.ts or report it to its authors.`,
      cause,
      service,
    });
    this.name = 'PluginError';
    this.plugin = plugin;
    this.hook = hook;
  }
  override toJSON(): ErrorJSON {
    return { ...super.toJSON(), plugin: this.plugin, hook: this.hook };
  }
}

/** devloop itself is wrong. Never thrown for user input. */
export class BugError extends Error {
  readonly code = 'BUG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BugError';
  }
  toJSON(): ErrorJSON {
    return compact({ name: this.name, code: this.code, message: this.message, cause: this.cause === undefined ? undefined : errorToJSON(this.cause) });
  }
}

/** The operation was superseded or the engine is stopping. Not a failure. */
export class CancelledError extends Error {
  readonly code = 'CANCELLED';
  constructor(reason = 'cancelled') {
    super(reason);
    this.name = 'CancelledError';
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError') ||
    (err instanceof PluginError && isCancelled(err.cause));
}

export function errorToJSON(err: unknown): ErrorJSON {
  if (err && typeof err === 'object' && 'toJSON' in err && typeof (err as { toJSON: unknown }).toJSON === 'function') {
    const json = (err as { toJSON(): unknown }).toJSON();
    if (json && typeof json === 'object' && 'message' in json) return json as ErrorJSON;
  }
  if (err instanceof Error) {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as unknown as { code: string }).code : 'ERROR';
    return compact({ name: err.name, code, message: err.message, cause: err.cause === undefined ? undefined : errorToJSON(err.cause) });
  }
  return { name: 'Error', code: 'ERROR', message: String(err) };
}

/** The message plus the hint, for line-oriented output. */
export function describeError(err: unknown): string {
  if (err instanceof DevloopError) {
    return err.hint ? `${err.message}\n  try: ${err.hint}` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

function compact<T extends object>(obj: T): T {
  for (const key of Object.keys(obj) as (keyof T)[]) if (obj[key] === undefined) delete obj[key];
  return obj;
}
