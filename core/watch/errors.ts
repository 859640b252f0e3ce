/**
 * Turns the watcher backend's errors into ones a user can act on. The classic trap (Tilt #2079):
 * running out of inotify watches surfaces as ENOSPC, "no space left on device", and people go
 * looking for a full disk.
 */
import { readFileSync } from 'node:fs';
import { DevloopError } from '../errors.js';

export const WATCH_LIMIT_CODE = 'WATCH_LIMIT';
export const WATCH_INSTANCES_CODE = 'WATCH_INSTANCES_LIMIT';
export const WATCH_FAILED_CODE = 'WATCH_FAILED';

export function translateWatchError(err: unknown, dir?: string): Error {
  if (err instanceof DevloopError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const where = dir ? ` while watching ${dir}` : '';

  if (code === 'ENOSPC' || /ENOSPC|no space left on device/i.test(message)) {
    const current = readLimit('max_user_watches');
    return new DevloopError(
      `The inotify watch limit${current ? ` (fs.inotify.max_user_watches=${current})` : ''} was reached${where}. ` +
        'This is not a full disk: Linux reports too many watched folders as "no space left on device".',
      {
        code: WATCH_LIMIT_CODE,
        hint:
          'Raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 ' +
          '(to keep it after a reboot: echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/99-devloop.conf && sudo sysctl --system). ' +
          'Or watch less: add large generated folders to .gitignore or to `ignore` in the Devfile.',
        cause: err,
      },
    );
  }
  if (code === 'EMFILE' || /EMFILE|too many open files/i.test(message)) {
    const current = readLimit('max_user_instances');
    return new DevloopError(
      `The inotify instance limit${current ? ` (fs.inotify.max_user_instances=${current})` : ''} or the open file limit was reached${where}.`,
      {
        code: WATCH_INSTANCES_CODE,
        hint: 'Raise it: sudo sysctl fs.inotify.max_user_instances=1024, or close other watching tools (editors, other dev servers); check `ulimit -n` too.',
        cause: err,
      },
    );
  }
  return new DevloopError(`File watching failed${where}: ${message}`, {
    code: WATCH_FAILED_CODE,
    hint: 'Check that the folder exists and is readable; `devloop` keeps running but may miss changes until restarted.',
    cause: err,
  });
}

function readLimit(name: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
