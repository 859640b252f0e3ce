/**
 * Child processes that lead their own process group, so that stopping one stops everything it
 * started too (`sh -c`, `npm run`, a dev server's workers): no ghosts holding ports after a
 * rebuild. A descendant that left the group (`setsid`, a daemon's double fork) is still found by
 * the random token in its environment, and stopped with the group. Each tree is recorded in the
 * process registry until the last process carrying its token is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DevloopError } from '../../core/errors.js';
import { pipeLines } from './lines.js';
import { groupHasLiveMember, processesWithEnv, processStartTime, type ProcStat } from './procfs.js';
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
  const tree: Tree = { token, root: options.record?.root, startTime: processStartTime(pid) };
  trees.set(pid, [...(trees.get(pid) ?? []), tree]);
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
  }
  // A descendant still carrying the token keeps the record: if devloop dies now, the next one
  // must still find it. terminateGroup() forgets the tree once it is really gone.
  void exited.then(() => { if (carriers(tree).length === 0) void forgetTree(pid, tree); });
  return { child, pid, exited, get running() { return running; } };
}

/** A tree started by spawnGroup: its leader's group, plus whatever inherited its token. */
interface Tree {
  token: string;
  root?: string;
  /** The leader's; descendants start no earlier. */
  startTime?: string;
}

/**
 * By group id. A list, because once a group is empty its leader's pid may be reused by a new
 * group while a daemonised descendant of the old one still runs.
 */
const trees = new Map<number, Tree[]>();

function carriers(tree: Tree): ProcStat[] {
  return processesWithEnv(`${TOKEN_ENV}=${tree.token}`, tree.startTime);
}

function treeMembers(pgid: number): ProcStat[] {
  return (trees.get(pgid) ?? []).flatMap(carriers);
}

async function forgetTree(pgid: number, tree: Tree): Promise<void> {
  const rest = (trees.get(pgid) ?? []).filter((t) => t !== tree);
  if (rest.length) trees.set(pgid, rest);
  else trees.delete(pgid);
  if (tree.root) await forgetProcess(tree.root, tree.token);
}

/** Whether any process of the group is still alive. */
export const groupAlive = groupHasLiveMember;

/** Whether anything of the tree led by `pgid` still runs: its group, or a descendant that left it. */
export function treeAlive(pgid: number): boolean {
  return groupAlive(pgid) || treeMembers(pgid).length > 0;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pgid, signal); } catch { /* the group is gone */ }
}

/** The group, and every process outside it that carries the tree's token (checked just now). */
function signalTree(pgid: number, signal: NodeJS.Signals): void {
  signalGroup(pgid, signal);
  for (const p of treeMembers(pgid)) {
    // Its pid could have been reused since the scan: only the same process is signalled.
    if (processStartTime(p.pid) === p.startTime) {
      try { process.kill(p.pid, signal); } catch { /* gone */ }
    }
  }
}

/**
 * SIGTERM to the whole tree (the group and the descendants that left it), up to `graceMs` for it
 * to go, then SIGKILL. Resolves once it is gone (or two seconds after SIGKILL, when something
 * unkillable lingers), and drops its registry record.
 */
export async function terminateGroup(pgid: number, graceMs = 5_000): Promise<'exited' | 'killed'> {
  let result: 'exited' | 'killed' = 'exited';
  if (treeAlive(pgid)) {
    signalTree(pgid, 'SIGTERM');
    if (!(await waitGone(pgid, graceMs))) {
      result = 'killed';
      signalTree(pgid, 'SIGKILL');
      await waitGone(pgid, 2_000);
    }
  }
  const left = treeAlive(pgid);
  for (const tree of trees.get(pgid) ?? []) if (!left) await forgetTree(pgid, tree);
  return result;
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let delay = 5;
  while (Date.now() < deadline) {
    if (!treeAlive(pgid)) return true;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  return !treeAlive(pgid);
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
  // A background job the command forgot (`server &`, `setsid server &`) would outlive it and hold ports.
  const leftovers = treeAlive(proc.pid);
  if (leftovers) await terminateGroup(proc.pid, 1_000);
  options.signal.throwIfAborted();
  return { ...exit, leftovers };
}

/** A shell command string runs under `/bin/sh -c`; an array is executed directly. */
export function toArgv(command: string | string[]): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}
