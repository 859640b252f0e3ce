import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { shellLine, shQuote } from './shell.js';

describe('shell lines', () => {
  it('single-quotes what sh would read otherwise, and only that', () => {
    assert.equal(shQuote('server.js'), 'server.js');
    assert.equal(shQuote('/usr/bin/node'), '/usr/bin/node');
    assert.equal(shQuote('--inspect=127.0.0.1:9229'), '--inspect=127.0.0.1:9229');
    assert.equal(shQuote(''), "''");
    assert.equal(shQuote('my dir'), "'my dir'");
    assert.equal(shQuote("it's"), `'it'\\''s'`);
    assert.equal(shQuote('$HOME'), "'$HOME'");
    assert.equal(shQuote('a"b`c`\\d'), `'a"b\`c\`\\d'`);
    assert.equal(shQuote('-e'), '-e');
    assert.equal(shQuote('console.log(1)'), "'console.log(1)'");
  });

  it('writes cd, the env devloop set (a secret by name only), then the argv', () => {
    const line = shellLine({ cwd: '/srv/my app', argv: ['node', '-e', "console.log('hi')"], env: { PORT: '1234', HOST: '127.0.0.1', API_TOKEN: 's3cr3t-value', 'NOT-A-NAME': 'x', GREETING: 'hello world' } });
    assert.equal(line, `cd '/srv/my app' && PORT=1234 HOST=127.0.0.1 API_TOKEN="$API_TOKEN" GREETING='hello world' node -e 'console.log('\\''hi'\\'')'`);
    assert.doesNotMatch(line, /s3cr3t/);
  });

  it("puts the existing bin folders before the reader's PATH, or before a PATH the Devfile set", () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-shell-')));
    try {
      mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
      const bins = [path.join(dir, 'node_modules', '.bin'), path.join(dir, 'nope', 'node_modules', '.bin')];
      assert.equal(shellLine({ cwd: dir, argv: ['vite'], pathPrefix: bins }), `cd ${dir} && PATH=${bins[0]}:"$PATH" vite`);
      assert.equal(shellLine({ cwd: dir, argv: ['vite'], pathPrefix: bins, env: { PATH: '/opt/x' } }), `cd ${dir} && PATH=${bins[0]}:/opt/x vite`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pasted into sh, runs the same argv in the same folder with the same env', () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), "devloop shell 'q' ")));
    try {
      const argv = [process.execPath, '-e', 'console.log(JSON.stringify([process.cwd(), process.env.PORT, process.env.MSG, process.argv.slice(1)]))', "a b", "it's", '$HOME', '`id`'];
      const line = shellLine({ cwd: dir, argv, env: { PORT: '4321', MSG: 'say "hi" & $leave' } });
      const r = spawnSync('/bin/sh', ['-c', line], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
      assert.equal(r.status, 0, `${line}\n${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), [dir, '4321', 'say "hi" & $leave', ["a b", "it's", '$HOME', '`id`']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
