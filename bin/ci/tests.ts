/**
 * Runs the Devfile's declared `tests` against the running services. Each test gets the URLs of
 * the services as `DEVLOOP_URL_<SERVICE>` (upper case, dashes as underscores).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { TestConfig } from '../../core/devfile/types.js';
import type { EngineState } from '../../core/store/state.js';

export interface TestOutcome {
  name: string;
  ok: boolean;
  durationMs: number;
  exitCode: number | null;
  output: string;
  reason?: string;
}

export function serviceUrlEnv(state: EngineState): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of Object.values(state.services)) {
    if (s.endpoints[0]) env[`DEVLOOP_URL_${s.name.toUpperCase().replace(/-/g, '_')}`] = s.endpoints[0].url;
  }
  return env;
}

export function runTest(test: TestConfig, root: string, state: EngineState, onLine: (line: string) => void, signal: AbortSignal): Promise<TestOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', test.command], {
      cwd: path.resolve(root, test.cwd ?? '.'),
      env: { ...process.env, ...serviceUrlEnv(state), ...test.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let partial = '';
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.length > 64 * 1024) output = output.slice(-64 * 1024);
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let reason: string | undefined;
    const kill = (why: string) => {
      reason = why;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    };
    const timer = test.timeoutMs ? setTimeout(() => kill(`timed out after ${test.timeoutMs} ms`), test.timeoutMs) : undefined;
    const onAbort = () => kill('interrupted');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code) => {
      if (partial) onLine(partial);
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      const ok = code === 0 && !reason;
      resolve({ name: test.name, ok, durationMs: Date.now() - started, exitCode: code, output, reason: reason ?? (ok ? undefined : `exited with code ${code}`) });
    });
  });
}
