/**
 * `devloop hooks install|uninstall|status`: a git pre-push hook that runs `devloop ci` and the
 * security expert (`devloop agents run --agent security --fail-on error`); either failing blocks
 * the push.
 *
 * - The hooks folder is git's own answer (`git rev-parse --git-path hooks`), so core.hooksPath and
 *   linked worktrees are respected; outside a git repository the command refuses (exit 2).
 * - A pre-push hook that is not ours is never overwritten: it is chained. Install renames it to
 *   `pre-push.devloop-previous` (git never runs that name), ours runs it first with git's
 *   arguments and stdin, and a failure of it blocks the push as before; uninstall puts it back.
 *   Chaining rather than refusing: the user asked for both checks, and nothing of theirs is lost.
 * - Ours carries MARKER on its second line: uninstall removes only a hook carrying it (and is a
 *   no-op otherwise), install of the same hook twice changes nothing and says so.
 * - Which devloop the hook runs: the project's own `node_modules/.bin/devloop` (the Devfile's
 *   folder or one above it, as npx looks) when there is one, so the version pinned as a
 *   devDependency runs; else the devloop that installed the hook, by absolute path with the node
 *   that ran it (a global install, or a checkout; git GUIs often run hooks without node on PATH).
 * - Paths inside the repository are kept relative to its top level: the hook serves every linked
 *   worktree (they share it), each checking its own files.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findDevfile } from '../../core/devfile/find.js';
import { DevloopError } from '../../core/errors.js';
import { EXIT, type GlobalOptions } from '../shared.js';

export const MARKER = '# devloop-managed-hook: pre-push';
export const PREVIOUS = 'pre-push.devloop-previous';
const HOOK = 'pre-push';

interface Repo { hooksDir: string; top: string }

/** Where git runs hooks from for the repository holding `cwd`, and its working tree's top level. */
function gitRepo(cwd: string): Repo {
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  let hooks: string;
  let top: string;
  try {
    hooks = git('rev-parse', '--git-path', 'hooks');
    top = git('rev-parse', '--show-toplevel');
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new DevloopError('git was not found on PATH', { code: 'HOOKS_NO_GIT', exitCode: EXIT.usage, hint: 'install git, then run "devloop hooks install" again' });
    throw new DevloopError(`${cwd} is not inside a git working tree (${String(e.stderr ?? e.message).trim().split('\n')[0]})`, {
      code: 'HOOKS_NOT_A_GIT_REPO', exitCode: EXIT.usage,
      hint: 'run it in the project\'s repository (or give -C <dir>); "git init" makes one',
    });
  }
  return { hooksDir: path.resolve(cwd, hooks), top: realpathSync(top) };
}

const isOurs = (file: string) => existsSync(file) && readFileSync(file, 'utf8').split('\n').slice(0, 5).includes(MARKER);

/** A value for a single-quoted POSIX sh string. */
const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface HookSpec {
  /** The Devfile's folder, relative to the top level ('.' there). */
  projectRel: string;
  /** The Devfile's name in it. */
  devfileName: string;
  /** The node and the devloop entry that installed the hook: the fallback when the project has none. */
  node: string;
  devloop: string;
}

/** The hook: POSIX sh; its stdout goes to git's stderr, so everything it says reaches the pusher. */
export function hookScript(s: HookSpec): string {
  return `#!/bin/sh
${MARKER}
# Written by "devloop hooks install"; "devloop hooks uninstall" removes it (and restores a chained
# ${PREVIOUS}). Runs "devloop ci" and the security expert before every push; a failure blocks it.
# Bypass once: DEVLOOP_SKIP_HOOKS=1 git push, or git push --no-verify.
project_rel=${shQuote(s.projectRel)}
devfile=${shQuote(s.devfileName)}
installed_node=${shQuote(s.node)}
installed_devloop=${shQuote(s.devloop)}
bypass='bypass once with: DEVLOOP_SKIP_HOOKS=1 git push (or git push --no-verify)'

# A pre-push hook that was here before devloop's runs first, with git's arguments and stdin.
previous="$(dirname "$0")/${PREVIOUS}"
# Like git, a previous hook that is not executable is not run.
if [ -x "$previous" ]; then
  "$previous" "$@" || { status=$?; echo "devloop pre-push: the earlier pre-push hook ($previous) failed (exit $status): push blocked" >&2; exit "$status"; }
else
  cat >/dev/null
fi
if [ "\${DEVLOOP_SKIP_HOOKS:-}" = 1 ]; then
  echo "devloop pre-push: skipped (DEVLOOP_SKIP_HOOKS=1)" >&2
  exit 0
fi

top=$(git rev-parse --show-toplevel) || exit 1
# A relative GIT_DIR from git would point elsewhere once the hook changes folder.
if [ -n "\${GIT_DIR:-}" ]; then GIT_DIR=$(cd "$GIT_DIR" && pwd) && export GIT_DIR; fi
if [ "$project_rel" = . ]; then project=$top; else project="$top/$project_rel"; fi
cd "$project" || { echo "devloop pre-push: $project is missing (the folder of $devfile when the hook was installed): push blocked; run \\"devloop hooks install\\" again, or $bypass" >&2; exit 1; }

# The project's own devloop (a devDependency) first, as npx would find it; else the one that installed the hook.
# (git's arguments were for the earlier hook: "$@" becomes the devloop command.)
set --
dir=$(pwd)
while :; do
  if [ -x "$dir/node_modules/.bin/devloop" ]; then set -- "$dir/node_modules/.bin/devloop"; break; fi
  [ "$dir" = / ] && break
  dir=$(dirname "$dir")
done
if [ $# -eq 0 ]; then
  if [ -f "$installed_devloop" ] && [ -x "$installed_node" ]; then set -- "$installed_node" "$installed_devloop"
  elif [ -f "$installed_devloop" ] && command -v node >/dev/null 2>&1; then set -- node "$installed_devloop"
  else
    echo "devloop pre-push: no devloop found (no node_modules/.bin/devloop from $project up, and $installed_devloop is gone): push blocked; npm install -D devloop, or $bypass" >&2
    exit 1
  fi
fi

echo "devloop pre-push: devloop ci in $project ($bypass)" >&2
"$@" --no-tui -f "$devfile" ci </dev/null || { status=$?; echo "devloop pre-push: devloop ci failed (exit $status): push blocked; fix it, or $bypass" >&2; exit 1; }
echo "devloop pre-push: security expert over $top" >&2
"$@" agents run --agent security --fail-on error "$top" </dev/null || { status=$?; echo "devloop pre-push: the security expert found errors (exit $status): push blocked; see above, or $bypass" >&2; exit 1; }
echo "devloop pre-push: ok" >&2
`;
}

/** What the hook should say about the project at `opts`; the Devfile must be inside the working tree. */
async function specFor(opts: GlobalOptions, repo: Repo): Promise<HookSpec> {
  const devfile = realpathSync(await findDevfile(opts.cwd, opts.file));
  const projectRel = path.relative(repo.top, path.dirname(devfile)) || '.';
  if (projectRel.startsWith('..') || path.isAbsolute(projectRel)) {
    throw new DevloopError(`${devfile} is outside the git working tree ${repo.top}`, {
      code: 'HOOKS_DEVFILE_OUTSIDE_REPO', exitCode: EXIT.usage,
      hint: 'install the hook from the repository that holds the Devfile (devloop -C <project> hooks install)',
    });
  }
  // process.argv[1] is the entry that is running: bin/devloop.js of a checkout or of a global install.
  const entry = process.argv[1] ? realpathSync(process.argv[1]) : '';
  return { projectRel: projectRel.split(path.sep).join('/'), devfileName: path.basename(devfile), node: process.execPath, devloop: entry };
}

export async function hooksInstall(opts: GlobalOptions): Promise<number> {
  const repo = gitRepo(opts.cwd);
  const script = hookScript(await specFor(opts, repo));
  const hook = path.join(repo.hooksDir, HOOK);
  const previous = path.join(repo.hooksDir, PREVIOUS);
  const say = (t: string) => process.stdout.write(`${t}\n`);
  if (isOurs(hook)) {
    if (readFileSync(hook, 'utf8') === script) {
      say(`devloop's pre-push hook is already installed in ${hook}; nothing changed`);
      return EXIT.ok;
    }
    writeHook(hook, script);
    say(`updated devloop's pre-push hook in ${hook}`);
    return EXIT.ok;
  }
  mkdirSync(repo.hooksDir, { recursive: true });
  if (existsSync(hook)) {
    if (existsSync(previous)) {
      // Renaming would destroy one of the two user hooks.
      throw new DevloopError(`${hook} is not devloop's, and ${previous} already exists: chaining the first would overwrite the second`, {
        code: 'HOOKS_PREVIOUS_EXISTS', exitCode: EXIT.usage,
        hint: `merge or remove one of them (${PREVIOUS} is run by devloop's hook before its checks), then run "devloop hooks install" again`,
      });
    }
    renameSync(hook, previous);
    say(`kept the existing pre-push hook as ${previous}: devloop's hook runs it first`);
  }
  writeHook(hook, script);
  say(`installed devloop's pre-push hook in ${hook}: each push runs devloop ci and the security expert; bypass once with DEVLOOP_SKIP_HOOKS=1 git push (or git push --no-verify)`);
  return EXIT.ok;
}

function writeHook(file: string, script: string): void {
  writeFileSync(file, script);
  chmodSync(file, 0o755);
}

export async function hooksUninstall(opts: GlobalOptions): Promise<number> {
  const repo = gitRepo(opts.cwd);
  const hook = path.join(repo.hooksDir, HOOK);
  const previous = path.join(repo.hooksDir, PREVIOUS);
  const say = (t: string) => process.stdout.write(`${t}\n`);
  if (!isOurs(hook)) {
    say(existsSync(hook) ? `${hook} is not devloop's: left as it is` : `no devloop pre-push hook in ${repo.hooksDir}: nothing to remove`);
    return EXIT.ok;
  }
  rmSync(hook);
  if (existsSync(previous)) {
    renameSync(previous, hook);
    say(`removed devloop's pre-push hook and restored the earlier one to ${hook}`);
  } else {
    say(`removed devloop's pre-push hook from ${hook}`);
  }
  return EXIT.ok;
}

export async function hooksStatus(opts: GlobalOptions): Promise<number> {
  const repo = gitRepo(opts.cwd);
  const hook = path.join(repo.hooksDir, HOOK);
  const previous = path.join(repo.hooksDir, PREVIOUS);
  const state = isOurs(hook) ? 'devloop' : existsSync(hook) ? 'other' : 'none';
  const project = state === 'devloop' ? /^project_rel='(.*)'$/m.exec(readFileSync(hook, 'utf8'))?.[1]?.replace(/'\\''/g, "'") : undefined;
  const result = { hooksDir: repo.hooksDir, prePush: state, project, chainedPrevious: existsSync(previous) ? previous : undefined };
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else if (state === 'devloop') {
    process.stdout.write(`pre-push: devloop's (${hook}), runs devloop ci in ${path.join(repo.top, project ?? '.')}${result.chainedPrevious ? `, after the earlier hook ${previous}` : ''}\n`);
  } else {
    process.stdout.write(state === 'other' ? `pre-push: ${hook} is not devloop's; "devloop hooks install" would chain it\n` : `pre-push: none in ${repo.hooksDir}; "devloop hooks install" adds devloop's\n`);
  }
  return EXIT.ok;
}
