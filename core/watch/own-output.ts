/**
 * devloop's own stdout and stderr, when they are regular files: `devloop up > out.log 2>&1` run
 * inside the project makes every line devloop prints a change in a watched folder, and each
 * redeploy prints lines, so without this a service watching `.` redeploys for ever.
 *
 * Linux names the files behind the descriptors in /proc/self/fd, so their events can be dropped
 * as they arrive. Elsewhere only the identity (device and inode, from fstat) is known: the
 * watcher compares it with each changed file when a batch is flushed.
 */
import { fstatSync, readlinkSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { FileId } from './contents.js';

export interface OwnOutputs {
  /** Absolute paths of the regular files behind stdout and stderr, where the system names them. */
  paths: string[];
  ids: FileId[];
}

export function ownOutputs(fds: readonly number[] = [1, 2]): OwnOutputs {
  const out: OwnOutputs = { paths: [], ids: [] };
  for (const fd of fds) {
    let st;
    try {
      st = fstatSync(fd);
    } catch {
      continue; // closed
    }
    if (!st.isFile()) continue; // a terminal or a pipe: nothing on disk
    if (!out.ids.some((id) => id.dev === st.dev && id.ino === st.ino)) out.ids.push({ dev: st.dev, ino: st.ino });
    if (process.platform !== 'linux') continue;
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      // A deleted file reads as "/path (deleted)": nothing left to watch there.
      if (isAbsolute(target) && !target.endsWith(' (deleted)') && !out.paths.includes(target)) out.paths.push(target);
    } catch {
      // No /proc (a container without it): the identity check still applies.
    }
  }
  return out;
}

export function isOwnOutput(id: FileId | undefined, outputs: OwnOutputs): boolean {
  return id !== undefined && outputs.ids.some((o) => o.dev === id.dev && o.ino === id.ino);
}
