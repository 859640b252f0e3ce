// A git-checkout-sized burst through the real `devloop up`: 10,000 changed files under one
// service's sources start exactly one build of that service (covering every file) and none of
// the other, as the README says ("a 10,000-file checkout = one build").
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { copyFixture, repoRoot, startCli } from './helpers.js';

it('10,000 file changes become exactly one full build of the affected service', { timeout: 120_000 }, async () => {
  const dir = copyFixture('watch-burst');
  await copyFile(path.join(repoRoot, 'test/fixtures/cli-inline/inproc-plugin.ts'), path.join(dir, 'inproc-plugin.ts'));
  const up = startCli(['up', '--output', 'json'], { cwd: dir });
  try {
    for (const s of ['a', 'b']) await up.waitFor((e) => e.type === 'service/health' && e.service === s && e.health === 'healthy', 30_000, `${s} healthy`);
    const builds = (s: string) => up.events.filter((e) => e.type === 'build/started' && e.service === s);
    assert.equal(builds('a').length, 1);
    for (const d of ['x', 'y']) await mkdir(path.join(dir, 'a', d), { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 10_000; i++) {
      writes.push(writeFile(path.join(dir, 'a', i % 2 ? 'x' : 'y', `f${i}.txt`), String(i)));
      if (writes.length >= 200) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const full = (e: Record<string, any>) => e.type === 'build/started' && e.service === 'a' && e.build.trigger.files.filter((f: string) => f.endsWith('.txt')).length === 10_000;
    await up.waitFor(full, 30_000, 'a build covering all 10,000 files');
    // Quiet for a while: nothing may follow the full build.
    await new Promise((r) => setTimeout(r, 3000));
    const seen = builds('a').slice(1).map((b) => b.build.trigger.files.length);
    assert.equal(seen.length, 1, `one build for the burst; got builds of ${JSON.stringify(seen)} files`);
    assert.ok(full(builds('a').at(-1)!), 'that build is the full one');
    assert.equal(builds('b').length, 1, 'b untouched');
  } finally {
    up.child.kill('SIGINT');
    await up.exited;
  }
});
