// `devloop hooks`: the pre-push hook in a real git repository pushing to a real bare remote; the
// hook runs this checkout's devloop (the one that installed it: the temp project has no
// node_modules) and blocks the push while `devloop ci` fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MARKER, PREVIOUS } from '../bin/commands/hooks.js';
import { copyFixture, runCli } from './helpers.js';

// The user's git configuration (a global core.hooksPath, signing, templates) must not leak in.
const gitEnv = (extra: Record<string, string> = {}) => {
  const blank = path.join(os.tmpdir(), 'devloop-hooks-empty-gitconfig');
  if (!existsSync(blank)) writeFileSync(blank, '');
  return {
    ...process.env, GIT_CONFIG_GLOBAL: blank, GIT_CONFIG_NOSYSTEM: '1', CI: 'true', NO_COLOR: '1',
    GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', ...extra,
  };
};

function git(cwd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('git', args, { cwd, env: gitEnv(env), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function gitOk(cwd: string, ...args: string[]): string {
  const r = git(cwd, args);
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.out}`);
  return r.out.trim();
}

/** A project repository with a bare `origin`, its first commit made. */
function repoWithRemote(): { dir: string; remote: string } {
  const dir = copyFixture('hooks');
  const remote = path.join(realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-hooks-remote-'))), 'origin.git');
  gitOk(path.dirname(remote), 'init', '-q', '--bare', remote);
  gitOk(dir, 'init', '-q', '-b', 'main');
  gitOk(dir, 'remote', 'add', 'origin', remote);
  writeFileSync(path.join(dir, '.gitignore'), '.devloop/\n');
  gitOk(dir, 'add', '-A');
  gitOk(dir, 'commit', '-q', '-m', 'broken service');
  return { dir, remote };
}

const remoteHas = (remote: string, ref: string) => git(path.dirname(remote), ['--git-dir', remote, 'rev-parse', '--verify', '-q', ref]).out.trim();
const cli = (args: string[], cwd: string) => runCli(args, { cwd, env: { GIT_CONFIG_GLOBAL: gitEnv().GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM: '1' } });

describe('devloop hooks', { concurrency: false }, () => {
  it('pre-push blocks a push while devloop ci fails, lets it through once fixed; the user\'s own hook is chained and restored', { timeout: 120_000 }, async () => {
    const { dir, remote } = repoWithRemote();
    const hooksDir = path.join(dir, '.git', 'hooks');
    // A pre-push hook of the user's own: it must survive install and uninstall, and still run.
    const userHook = '#!/bin/sh\necho "user hook ran" >> "$(git rev-parse --show-toplevel)/user-hook.log"\n';
    mkdirSync(hooksDir, { recursive: true });
    writeFileSync(path.join(hooksDir, 'pre-push'), userHook);
    chmodSync(path.join(hooksDir, 'pre-push'), 0o755);

    const install = await cli(['hooks', 'install'], dir);
    assert.equal(install.code, 0, install.stdout + install.stderr);
    assert.match(install.stdout, /kept the existing pre-push hook as .*pre-push\.devloop-previous/);
    const hook = path.join(hooksDir, 'pre-push');
    assert.ok(readFileSync(hook, 'utf8').includes(MARKER));
    assert.equal(statSync(hook).mode & 0o111, 0o111, 'the hook is executable');
    assert.equal(readFileSync(path.join(hooksDir, PREVIOUS), 'utf8'), userHook);

    const again = await cli(['hooks', 'install'], dir);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /already installed .*nothing changed/);
    assert.equal(readFileSync(path.join(hooksDir, PREVIOUS), 'utf8'), userHook, 'a second install does not chain our own hook');

    const blocked = git(dir, ['push', 'origin', 'HEAD']);
    assert.notEqual(blocked.code, 0, blocked.out);
    assert.match(blocked.out, /devloop pre-push: devloop ci failed \(exit 1\): push blocked/);
    assert.match(blocked.out, /DEVLOOP_SKIP_HOOKS=1 git push \(or git push --no-verify\)/);
    assert.equal(remoteHas(remote, 'refs/heads/main'), '', 'the remote did not receive the commit');
    assert.match(readFileSync(path.join(dir, 'user-hook.log'), 'utf8'), /user hook ran/);

    // The bypass: the user's hook still runs, devloop's checks do not.
    const skipped = git(dir, ['push', 'origin', 'HEAD:refs/heads/skipped'], { DEVLOOP_SKIP_HOOKS: '1' });
    assert.equal(skipped.code, 0, skipped.out);
    assert.match(skipped.out, /devloop pre-push: skipped \(DEVLOOP_SKIP_HOOKS=1\)/);
    assert.equal(remoteHas(remote, 'refs/heads/skipped'), gitOk(dir, 'rev-parse', 'HEAD'));

    const devfile = path.join(dir, 'Devfile.ts');
    writeFileSync(devfile, readFileSync(devfile, 'utf8').replace(/command: \[[^\]]*\]/, "command: ['node', 'server.mjs']"));
    gitOk(dir, 'commit', '-q', '-am', 'healthy service');
    const pushed = git(dir, ['push', 'origin', 'HEAD']);
    assert.equal(pushed.code, 0, pushed.out);
    assert.match(pushed.out, /devloop pre-push: ok/);
    assert.equal(remoteHas(remote, 'refs/heads/main'), gitOk(dir, 'rev-parse', 'HEAD'), 'the remote has the fixed commit');

    // A committed key: ci passes, the security expert blocks. (Built here so this file holds no key.)
    writeFileSync(path.join(dir, 'settings.txt'), `aws_access_key_id = ${'AKIA'}${'Q'.repeat(16)}\n`);
    gitOk(dir, 'add', 'settings.txt');
    gitOk(dir, 'commit', '-q', '-m', 'a key');
    const leaky = git(dir, ['push', 'origin', 'HEAD']);
    assert.notEqual(leaky.code, 0, leaky.out);
    assert.match(leaky.out, /security\/aws-access-key/);
    assert.match(leaky.out, /the security expert found errors \(exit 1\): push blocked/);
    assert.equal(remoteHas(remote, 'refs/heads/main'), gitOk(dir, 'rev-parse', 'HEAD~1'), 'the remote still has only the fixed commit');

    const status = await cli(['hooks', 'status'], dir);
    assert.match(status.stdout, new RegExp(`pre-push: devloop's .*runs devloop ci in ${dir}, after the earlier hook`));

    const un = await cli(['hooks', 'uninstall'], dir);
    assert.equal(un.code, 0, un.stdout + un.stderr);
    assert.match(un.stdout, /restored the earlier one/);
    assert.equal(readFileSync(hook, 'utf8'), userHook);
    assert.equal(statSync(hook).mode & 0o111, 0o111, 'the user\'s hook is still executable');
    assert.equal(existsSync(path.join(hooksDir, PREVIOUS)), false);

    const unAgain = await cli(['hooks', 'uninstall'], dir);
    assert.equal(unAgain.code, 0, unAgain.stdout + unAgain.stderr);
    assert.match(unAgain.stdout, /is not devloop's: left as it is/);
    assert.equal(readFileSync(hook, 'utf8'), userHook);
  });

  it('installs where core.hooksPath points, from a subfolder, and uninstall there leaves nothing', { timeout: 60_000 }, async () => {
    const { dir } = repoWithRemote();
    gitOk(dir, 'config', 'core.hooksPath', 'githooks');
    mkdirSync(path.join(dir, 'sub'));
    const install = await cli(['hooks', 'install'], path.join(dir, 'sub'));
    assert.equal(install.code, 0, install.stdout + install.stderr);
    const hook = path.join(dir, 'githooks', 'pre-push');
    assert.ok(readFileSync(hook, 'utf8').includes(MARKER), install.stdout);
    assert.equal(existsSync(path.join(dir, '.git', 'hooks', 'pre-push')), false);
    const un = await cli(['hooks', 'uninstall'], dir);
    assert.equal(un.code, 0, un.stdout + un.stderr);
    assert.equal(existsSync(hook), false);
  });

  it('refuses outside a git repository with exit 2, saying what to do', { timeout: 60_000 }, async () => {
    const outside = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-hooks-norepo-')));
    writeFileSync(path.join(outside, 'Devfile.ts'), "import { defineDevfile } from 'devloop';\nexport default defineDevfile({ services: {} });\n");
    // A repository above the temp folder must not count.
    const r = await runCli(['hooks', 'install'], { cwd: outside, env: { GIT_CEILING_DIRECTORIES: path.dirname(outside) } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /is not inside a git working tree/);
    assert.match(r.stderr, /git init/);
    assert.equal(existsSync(path.join(outside, '.git')), false);
  });
});
