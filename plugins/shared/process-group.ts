/**
 * Child processes that lead their own process group, so that stopping one stops everything it
 * started too (`sh -c`, `npm run`, a dev server's workers): no ghosts holding ports after a
 * rebuild. Each group is recorded in the process registry while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DevloopError } from '../../core/errors.js';
import { pipeLines } from './lines.js';
import { groupHasLiveMember } from './procfs.js';
import { forgetProcess, newToken, recordProcess, TOKEN_ENV } from './process-registry.js';
import { sleep } from './time.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GroupProcess {
  child: ChildProcess;
  /** Also the process group id. */
  pid: number;
  /** When the leader exited, with its output read to the end (or given up on shortly after). */
  exited: Promise<ExitInfo>;
  /** False once the leader has exited. */
  readonly running: boolean;
}

export interface SpawnGroupOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Record the group in `<root>/.devloop/processes.json` while it runs. */
  record?: { root: string; service: string; role: string };
}

/** After the leader exits, how long to wait for output still held by a lingering descendant. */
const DRAIN_MS = 300;

/** `argv[0]` is run directly (no shell); pass `['/bin/sh', '-c', cmd]` for a shell command. */
export async function spawnGroup(argv: string[], options: SpawnGroupOptions): Promise<GroupProcess> {
  const token = newToken();
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: { ...options.env, [TOKEN_ENV]: token },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
    throw new DevloopError(`could not start \`${argv.join(' ')}\`: ${err.code === 'ENOENT' ? `${argv[0]} not found` : err.message}`, {
      code: 'SPAWN_FAILED',
      hint: err.code === 'ENOENT' ? `check that ${argv[0]} is installed and on PATH, or give its full path` : `check that ${options.cwd} exists and ${argv[0]} is executable`,
      cause: err,
    });
  }
  const pid = child.pid;
  const onLine = options.onLine ?? (() => {});
  const drained = Promise.all([
    pipeLines(child.stdout!, (l) => onLine(l, 'stdout')),
    pipeLines(child.stderr!, (l) => onLine(l, 'stderr')),
  ]);
  let running = true;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      const info = { code, signal };
      const giveUp = sleep(DRAIN_MS).then(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      });
      void Promise.race([drained, giveUp]).then(() => resolve(info));
    });
  });
  if (options.record) {
    const { root, service, role } = options.record;
    await recordProcess(root, { token, service, role, pid, pgid: pid, command: argv.join(' ') });
    void exited.then(() => forgetProcess(root, token));
  }
  return { child, pid, exited, get running() { return running; } };
}

/** Whether any process of the group is still alive. */
export const groupAlive = groupHasLiveMember;

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pgid, signal); } catch { /* the group is gone */ }
}

/**
 * SIGTERM to the whole group, up to `graceMs` for it to go, then SIGKILL. Resolves once the
 * group is gone (or two seconds after SIGKILL, when something unkillable lingers).
 */
export async function terminateGroup(pgid: number, graceMs = 5_000): Promise<'exited' | 'killed'> {
  if (!groupAlive(pgid)) return 'exited';
  signalGroup(pgid, 'SIGTERM');
  if (await waitGone(pgid, graceMs)) return 'exited';
  signalGroup(pgid, 'SIGKILL');
  await waitGone(pgid, 2_000);
  return 'killed';
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let delay = 5;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return true;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  return !groupAlive(pgid);
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
}

export interface RunToExitOptions extends SpawnGroupOptions {
  /** Aborting stops the whole group (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal: AbortSignal;
  killGraceMs?: number;
}

/**
 * Runs a command to completion in its own group. Resolves with how it exited once the group is
 * gone, background jobs it left behind included (`leftovers` says whether there were any); an
 * aborted run rejects with the abort reason, after its processes are stopped.
 */
export async function runToExit(argv: string[], options: RunToExitOptions): Promise<ExitInfo & { leftovers: boolean }> {
  options.signal.throwIfAborted();
  const proc = await spawnGroup(argv, options);
  const onAbort = () => { void terminateGroup(proc.pid, options.killGraceMs ?? 2_000); };
  options.signal.addEventListener('abort', onAbort, { once: true });
  // The abort may have come while spawnGroup was still recording the process: the listener
  // above would never fire, and a superseded build would run to its end.
  if (options.signal.aborted) onAbort();
  let exit: ExitInfo;
  try {
    exit = await proc.exited;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
  // A background job the command forgot (`server &`) would outlive it and hold ports.
  const leftovers = groupAlive(proc.pid);
  if (leftovers) await terminateGroup(proc.pid, 1_000);
  options.signal.throwIfAborted();
  return { ...exit, leftovers };
}

/** A shell command string runs under `/bin/sh -c`; an array is executed directly. */
export function toArgv(command: string | string[]): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}
