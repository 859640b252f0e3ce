/**
 * Files editors write beside the one being edited: swap and lock files while it is open, backups
 * and temp files while it is saved. None of them is something that runs, so none may start a
 * redeploy or be named as its trigger. An atomic save writes a temp file and renames it over the
 * real one: the real file's own event is in the same batch, so it is what gets reported.
 *
 * Pure: names only.
 */
import { basename } from 'node:path';

/**
 * vim checks that it may create files in a folder by creating and deleting `4913` (then 5036,
 * 5159, ... while the name is taken: `:h backupcopy`).
 */
function isVimProbe(name: string): boolean {
  if (!/^\d{4,6}$/.test(name)) return false;
  const n = Number(name);
  return n >= 4913 && (n - 4913) % 123 === 0;
}

const SUFFIXES = [
  '~', //                  backups: vim (`file~`), emacs, nano, kate, gedit
  '___jb_tmp___', //       JetBrains "safe write": the new content before the rename
  '___jb_old___', //       JetBrains "safe write": the old file during the rename
  '.kate-swp', //          kate's swap file (`.file.kate-swp`)
  '.vsctmp', //            VS Code's atomic write (`file.vsctmp`, renamed over `file`)
];

/** True when `path` names an editor's swap, lock, backup or temp file. */
export function isEditorTemp(path: string): boolean {
  const name = basename(path);
  for (const s of SUFFIXES) if (name.length > s.length && name.endsWith(s)) return true;
  // vim swap files: `.file.swp`, then `.swo`, `.swn`, ... `.swa` when taken; `.swx` probes.
  if (/\.sw[a-px]$/.test(name) && name.startsWith('.')) return true;
  // emacs: `.#file` is a lock (a dangling symlink), `#file#` the auto-save.
  if (name.startsWith('.#') || (name.length > 2 && name.startsWith('#') && name.endsWith('#'))) return true;
  // GIO (gedit, GNOME apps) saves through `.goutputstream-XXXXXX`.
  if (name.startsWith('.goutputstream-')) return true;
  return isVimProbe(name);
}
