/**
 * Live update's `restart` without restarting the container. A container restart tears down and
 * rebuilds the container's network (and docker-proxy's connections into it), which costs about a
 * second from a save to the new content; restarting only the service's process inside keeps the
 * container, its address and its published ports, as Tilt's restart-process extension does.
 *
 * A service whose liveUpdate has a `restart` step runs under a small POSIX sh supervisor (under
 * Docker's init when `init` is on): it runs the image's command as its child, passes the stop
 * signals on, exits with the child's exit code (so crashes are reported and restarted as before),
 * and on SIGHUP (sent by devloop through the kill API: no exec, no tool needed in the image)
 * stops the child (SIGTERM, SIGKILL after the restart grace period) and starts it again, printing
 * a marker line the log follower takes out of the output and the deployment waits for.
 *
 * `devloop debug` restarts the process the same way, with NODE_OPTIONS read from a file devloop
 * writes into the container through the archive API (NODE_OPTIONS_FILE): a non-empty file sets
 * NODE_OPTIONS for the next start of the command, an empty one leaves the container's own. Node
 * services (see looksLikeNode) run under the supervisor for this even without a restart step.
 *
 * A shell is the only requirement. An image without /bin/sh (FROM scratch with a static binary)
 * runs its command directly, and live update restarts the container there, as it did before; the
 * service log says so once per image.
 */
import type Docker from 'dockerode';
import { statusOf } from './client.js';
import { packEntries } from './tar.js';

/** The line the supervisor prints to stderr each time it starts the command again. */
export const RESTART_MARKER = '@devloop:process-restarted';

/** The signal devloop sends the supervisor to restart the service's process. */
export const RESTART_SIGNAL = 'SIGHUP';

/** NODE_OPTIONS for the next start of the command, when not empty (read with the shell's own `read`: no tool needed). */
export const NODE_OPTIONS_FILE = '/.devloop/node-options';

/**
 * $1: seconds between SIGTERM and SIGKILL on a restart; the rest: the command. `wait` returns
 * early when a trapped signal arrives, so the loop waits again until the child is really gone.
 * `sleep` is only needed for the SIGKILL; without it the child has as long as it takes (and
 * devloop falls back to a container restart after the grace period).
 */
export const SUPERVISOR_SCRIPT = [
  't=$1; shift',
  'child=; restart=; stopping=; killer=',
  'hup() {',
  '  restart=1',
  '  [ -n "$child" ] || return 0',
  '  kill -TERM "$child" 2>/dev/null',
  '  ( sleep "$t" 2>/dev/null && kill -KILL "$child" 2>/dev/null ) &',
  '  killer=$!',
  '}',
  'fwd() { stopping=1; [ -n "$child" ] && kill -"$1" "$child" 2>/dev/null; }',
  'trap hup HUP',
  "trap 'fwd TERM' TERM",
  "trap 'fwd INT' INT",
  "trap 'fwd QUIT' QUIT",
  'while :; do',
  `  if [ -s ${NODE_OPTIONS_FILE} ] && read -r o < ${NODE_OPTIONS_FILE}; then NODE_OPTIONS="$o" "$@" & else "$@" & fi`,
  '  child=$!',
  '  while :; do',
  '    wait "$child"; code=$?',
  '    kill -0 "$child" 2>/dev/null || break',
  '  done',
  '  child=',
  '  if [ -n "$killer" ]; then kill "$killer" 2>/dev/null; killer=; fi',
  '  if [ -n "$stopping" ] || [ -z "$restart" ]; then exit "$code"; fi',
  '  restart=',
  `  echo '${RESTART_MARKER}' >&2`,
  'done',
].join('\n');

export interface ImageCommand {
  entrypoint: string[];
  cmd: string[];
}

/** The archive that writes NODE_OPTIONS_FILE (`''`: the container's own NODE_OPTIONS), for putArchive at `/`. */
export function nodeOptionsArchive(nodeOptions: string): NodeJS.ReadableStream {
  const name = NODE_OPTIONS_FILE.replace(/^\/+/, '');
  return packEntries([
    { name: name.split('/')[0], type: 'directory', mode: 0o755 },
    { name, type: 'file', mode: 0o644, content: Buffer.from(nodeOptions ? `${nodeOptions}\n` : '') },
  ]) as unknown as NodeJS.ReadableStream;
}

/**
 * Whether a container runs Node, so that `devloop debug` can restart its process in place: the
 * image is a Node image (NODE_VERSION, as the official images set) or the command starts node,
 * npm, npx or tsx.
 */
export function looksLikeNode(info: Docker.ImageInspectInfo, argv: string[]): boolean {
  if ((info.Config?.Env ?? []).some((e) => e.startsWith('NODE_VERSION='))) return true;
  const words = argv.length > 2 && /(^|\/)sh$/.test(argv[0]) && argv[1] === '-c' ? argv[2].split(/\s+/) : argv;
  return words.some((w) => /(^|\/)(node|nodejs|npm|npx|tsx)$/.test(w));
}

/** The image's ENTRYPOINT and CMD, as the container would run them. */
export function imageCommand(info: Docker.ImageInspectInfo): ImageCommand {
  const list = (v: unknown): string[] => Array.isArray(v) ? v as string[] : typeof v === 'string' && v ? [v] : [];
  return { entrypoint: list(info.Config?.Entrypoint), cmd: list(info.Config?.Cmd) };
}

/**
 * The create parameters that run `argv` (the image's entrypoint followed by the service command,
 * or the image's CMD) under the supervisor.
 */
export function supervisedEntrypoint(argv: string[], restartTimeoutS: number): { Entrypoint: string[]; Cmd: string[] } {
  return { Entrypoint: ['/bin/sh', '-c', SUPERVISOR_SCRIPT, 'devloop-supervisor', String(restartTimeoutS)], Cmd: argv };
}

/**
 * Whether a created (not yet started) container has /bin/sh. The archive API answers for a
 * created container, so this costs one request and no start (the archive of /bin/sh, or of its
 * link, whose body is not read).
 */
export async function hasShell(container: Docker.Container): Promise<boolean> {
  try {
    // GET, and the body dropped at once: dockerode's HEAD (infoArchive) never frees its socket,
    // which then holds the event loop open, one per container created.
    const archive = await container.getArchive({ path: '/bin/sh' }) as unknown as NodeJS.ReadableStream & { destroy(): void };
    archive.destroy();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}
