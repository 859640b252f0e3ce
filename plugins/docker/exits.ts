/**
 * What a container's exit means, in words: exit codes that are signals, and OOM kills, which look
 * like a plain `137` unless someone reads `State.OOMKilled` and says which limit was hit.
 */
import { DevloopError } from '../../core/errors.js';
import { formatBytes, formatQuantity, suggestMemory } from './resources.js';

export interface ExitInfo {
  exitCode: number;
  oomKilled: boolean;
  /** Docker's own error for the run, e.g. a failed start. */
  error?: string;
  /** Bytes; undefined when the container had no memory limit. */
  memoryLimit?: number;
  /** Set when `resources.autoRaise` is on and the limit is already at its cap (bytes): the hint says so. */
  autoRaiseCap?: number;
  lastLines: string[];
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

export function describeExitCode(code: number): string {
  if (code > 128 && SIGNALS[code - 128]) return `exit code ${code} (killed by ${SIGNALS[code - 128]})`;
  return `exit code ${code}`;
}

/** One line for the service log. */
export function exitSummary(service: string, exit: ExitInfo): string {
  if (exit.oomKilled) return oomSentence(service, exit);
  return `${service} exited with ${describeExitCode(exit.exitCode)}${exit.error ? `: ${exit.error}` : ''}`;
}

function oomSentence(service: string, exit: ExitInfo): string {
  return exit.memoryLimit
    ? `${service} was killed: out of memory (its container's memory limit is ${formatBytes(exit.memoryLimit)})`
    : `${service} was killed: out of memory (the container had no memory limit; the machine ran out)`;
}

export function exitError(service: string, exit: ExitInfo, restarting?: string): DevloopError {
  const tail = exit.lastLines.length ? `\n  last output:\n${exit.lastLines.map((l) => `    ${l}`).join('\n')}` : '\n  (it printed nothing)';
  const then = restarting ? `; ${restarting}` : '';
  if (exit.oomKilled) {
    return new DevloopError(`${oomSentence(service, exit)}${then}${tail}`, {
      code: 'OOM_KILLED',
      service,
      hint: exit.autoRaiseCap !== undefined
        ? `autoRaise is at its cap (${formatQuantity(exit.autoRaiseCap)}): raise resources.memory or the cap (services.${service}.resources.autoRaise.max) in Devfile.ts, or find what allocates so much`
        : exit.memoryLimit
        ? `raise services.${service}.resources.memory in Devfile.ts (for example "${suggestMemory(exit.memoryLimit)}"), or find what allocates so much`
        : 'give the container a limit with services.' + service + '.resources.memory so it fails on its own, or free memory on this machine',
    });
  }
  return new DevloopError(`${exitSummary(service, exit)}${then}${tail}`, {
    code: 'CONTAINER_EXITED',
    service,
    hint: exit.exitCode === 0
      ? 'the process ended on its own; a server must keep running (does its main function return?)'
      : 'the output above says why; fix it and save, and devloop rebuilds',
  });
}
