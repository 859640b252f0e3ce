import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, UsageError } from '../errors.js';
import { findDevfile, loadDevfile, TEMP_BUNDLE } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../test/fixtures');
const fixture = (name: string) => path.join(fixtures, `devfile-${name}`);

async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.includes('.timestamp-'));
}

test('TEMP_BUNDLE matches the temp bundle names, and not the Devfile', () => {
  assert.match('/p/Devfile.ts.timestamp-1732600000000-9f3a0c1b.mjs', TEMP_BUNDLE);
  assert.doesNotMatch('/p/Devfile.ts', TEMP_BUNDLE);
});

async function loadError(options: Parameters<typeof loadDevfile>[0]): Promise<ConfigError> {
  const err = await loadDevfile(options).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
  return err;
}

async function scratch(t: { after(fn: () => Promise<void>): void }, from?: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'devloop-load-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  if (from) await cp(from, dir, { recursive: true });
  return dir;
}

test('loads a function-form Devfile with its helper, passing mode, command and env', async () => {
  const dir = fixture('valid');
  const loaded = await loadDevfile({ cwd: dir, mode: 'staging', command: 'ci', env: {} });
  assert.equal(loaded.file, path.join(dir, 'Devfile.ts'));
  assert.equal(loaded.dir, dir);
  assert.deepEqual(loaded.dependencies, [path.join(dir, 'Devfile.ts'), path.join(dir, 'shared.ts')]);
  assert.deepEqual(loaded.config.services.api.env, { MODE: 'staging', COMMAND: 'ci' });
  assert.equal(loaded.config.services.api.port, 8080);
  assert.equal(loaded.config.services.web.port, 8081);
  assert.equal(typeof loaded.loadMs, 'number');
  assert.deepEqual(await leftovers(dir), []);
});

test('mode defaults to local and command to up', async () => {
  const loaded = await loadDevfile({ cwd: fixture('valid') });
  assert.deepEqual(loaded.config.services.api.env, { MODE: 'local', COMMAND: 'up' });
});

test('a wrong type is reported at its value, with a code frame', async () => {
  const dir = fixture('type-error');
  const err = await loadError({ cwd: dir });
  assert.equal(err.code, 'DEVFILE_INVALID');
  assert.equal(err.message, 'Devfile.ts:9:13 services.api.port: expected a number, got "80a"');
  assert.equal(err.issues[0].location?.frame, [
    '   7 |       build: { type: \'docker\' },',
    '   8 |       // @ts-expect-error the fixture is wrong on purpose',
    '>  9 |       port: \'80a\',',
    '     |             ^',
    '  10 |     },',
    '  11 |   },',
  ].join('\n'));
  assert.match(err.hint ?? '', /Devfile\.ts/);
  assert.deepEqual(await leftovers(dir), [], 'the temp .mjs is removed after a failed validation');
});

test('an unknown field is reported at its name, with a suggestion', async () => {
  const err = await loadError({ cwd: fixture('unknown-field') });
  assert.equal(err.code, 'DEVFILE_INVALID');
  assert.equal(err.message, 'Devfile.ts:8:7 services.api: unknown field "prot" (did you mean "port"?)');
});

test('a syntax error is reported with esbuild\'s position, 1-based', async () => {
  const dir = fixture('syntax-error');
  const err = await loadError({ cwd: dir });
  assert.equal(err.code, 'DEVFILE_SYNTAX');
  assert.equal(err.message, 'Devfile.ts:7:7 Expected "}" but found "port"');
  assert.equal(err.issues[0].location?.frame?.split('\n').slice(2, 4).join('\n'), "> 7 |       port: 8080,\n    |       ^");
  assert.deepEqual(await leftovers(dir), []);
});

test('paths in messages are relative to cwd when the Devfile is found in a parent folder', async (t) => {
  const dir = await scratch(t, fixture('type-error'));
  const nested = path.join(dir, 'src', 'deep');
  await mkdir(nested, { recursive: true });
  assert.equal(await findDevfile(nested), path.join(dir, 'Devfile.ts'));
  const err = await loadError({ cwd: nested });
  assert.equal(err.message, `${path.join('..', '..', 'Devfile.ts')}:9:13 services.api.port: expected a number, got "80a"`);
});

test('an explicit file is taken relative to cwd, and may name a folder', async () => {
  assert.equal(await findDevfile(fixtures, 'devfile-valid/Devfile.ts'), path.join(fixture('valid'), 'Devfile.ts'));
  assert.equal(await findDevfile(fixtures, 'devfile-valid'), path.join(fixture('valid'), 'Devfile.ts'));
  const loaded = await loadDevfile({ cwd: fixtures, file: 'devfile-valid/Devfile.ts' });
  assert.equal(loaded.config.name, 'fixture-valid');
});

test('an explicit -f that names nothing says the path was not found and what -f takes', async (t) => {
  const dir = await scratch(t);
  // Each call starts only when awaited: two rejecting promises made up front would leave the second
  // without a handler while the first is awaited (an unhandledRejection if it settles first).
  for (const attempt of [() => findDevfile(dir, 'Nope.ts'), () => loadDevfile({ cwd: dir, file: 'Nope.ts' })]) {
    const err = await attempt().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof UsageError);
    assert.equal(err.code, 'DEVFILE_NOT_FOUND');
    assert.match(err.message, /^-f Nope\.ts: no such file or folder \(looked for .*Nope\.ts\)$/);
    assert.equal(err.hint, 'give a Devfile.ts or the folder holding one; check the path');
  }
  const yaml = await findDevfile(dir, 'missing.yaml').then(() => undefined, (e: unknown) => e);
  assert.ok(yaml instanceof UsageError);
  assert.match(yaml.hint ?? '', /service\.yaml a `devloop cloudrun replace` session runs/);
  // A folder without a Devfile still suggests init.
  const folder = await findDevfile(path.dirname(dir), path.basename(dir)).then(() => undefined, (e: unknown) => e);
  assert.ok(folder instanceof UsageError);
  assert.equal(folder.message, `no Devfile.ts in ${path.basename(dir)}`);
  assert.equal(folder.hint, 'run "devloop init" to create one');
});

test('reloading after an edit returns the new config and the new dependencies', async (t) => {
  const dir = await scratch(t, fixture('valid'));
  const file = path.join(dir, 'Devfile.ts');
  const first = await loadDevfile({ cwd: dir });
  assert.equal(first.config.services.api.port, 8080);
  await writeFile(path.join(dir, 'ports.ts'), 'export const API_PORT = 9090;\n');
  const source = await readFile(file, 'utf8');
  await writeFile(file, `import { API_PORT } from './ports.ts';\n${source.replace("port: servicePort('api')", 'port: API_PORT')}`);
  const second = await loadDevfile({ cwd: dir });
  assert.equal(second.config.services.api.port, 9090);
  assert.deepEqual(second.dependencies, [file, path.join(dir, 'ports.ts'), path.join(dir, 'shared.ts')]);
  await writeFile(path.join(dir, 'ports.ts'), 'export const API_PORT = 9191;\n');
  assert.equal((await loadDevfile({ cwd: dir })).config.services.api.port, 9191, 'an edited helper is picked up too');
  assert.deepEqual(await leftovers(dir), []);
});

test('an error thrown by the Devfile is DEVFILE_EVAL at the line that threw, and the temp file is gone', async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), [
    `import { defineDevfile } from 'devloop';`,
    `type Mode = string;`,
    `export default defineDevfile(({ mode }) => {`,
    `  if ((mode as Mode) === 'local') throw new Error('no local mode here');`,
    `  return { services: {} };`,
    `});`,
  ].join('\n'));
  const err = await loadError({ cwd: dir });
  assert.equal(err.code, 'DEVFILE_EVAL');
  // V8 places the frame where the Error is constructed: the `new`.
  assert.equal(err.message, 'Devfile.ts:4:41 Error: no local mode here');
  assert.ok(err.cause instanceof Error);
  assert.deepEqual(await leftovers(dir), []);
});

test('a top-level throw is located too', async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `const x: number = 1;\nif (x) throw new TypeError('bad');\nexport default { services: {} };\n`);
  const err = await loadError({ cwd: dir });
  assert.equal(err.message, 'Devfile.ts:2:14 TypeError: bad');
});

test('a missing package is DEVFILE_IMPORT and names the Devfile, not the temp file', async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `import x from 'devloop-no-such-package';\nexport default { services: {}, name: String(x) };\n`);
  const err = await loadError({ cwd: dir });
  assert.equal(err.code, 'DEVFILE_IMPORT');
  assert.doesNotMatch(err.message, /timestamp-/);
  assert.match(err.message, /devloop-no-such-package/);
  assert.deepEqual(await leftovers(dir), []);
});

test('a missing relative import is DEVFILE_IMPORT at the import', async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `import { x } from './nope.ts';\nexport default { services: {}, name: x };\n`);
  const err = await loadError({ cwd: dir });
  assert.equal(err.code, 'DEVFILE_IMPORT');
  assert.equal(err.message, 'Devfile.ts:1:19 Could not resolve "./nope.ts"');
});

test('without a default export a named `devfile` export is used, and without both it is an error', async (t) => {
  const dir = await scratch(t);
  const file = path.join(dir, 'Devfile.ts');
  await writeFile(file, `export const devfile = { services: { api: { port: 1 } } };\n`);
  assert.deepEqual((await loadDevfile({ cwd: dir })).config, { services: { api: { port: 1 } } });
  await writeFile(file, `export const config = { services: {} };\n`);
  const err = await loadError({ cwd: dir });
  assert.equal(err.code, 'DEVFILE_NO_EXPORT');
  assert.equal(err.message, 'Devfile.ts has no default export');
});

test('a function-form Devfile is located inside the function', async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), [
    `import { defineDevfile } from 'devloop';`,
    `export default defineDevfile(async ({ mode }) => {`,
    `  return {`,
    `    services: { api: { dependsOn: ['db'] }, db: { dependsOn: ['api'] } },`,
    `  };`,
    `});`,
  ].join('\n'));
  const err = await loadError({ cwd: dir });
  assert.equal(err.message, 'Devfile.ts:4:63 services.db.dependsOn.0: dependency cycle: api -> db -> api');
});

test('issues are listed in source order', async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `export default {\n  parallelism: 'x',\n  services: { api: { port: 0 } },\n  nmae: 'x',\n};\n`);
  const err = await loadError({ cwd: dir });
  assert.deepEqual(err.message.split('\n'), [
    'Devfile.ts:2:16 parallelism: expected a number, got "x"',
    'Devfile.ts:3:28 services.api.port: expected a port from 1 to 65535, got 0',
    'Devfile.ts:4:3 unknown field "nmae" (did you mean "name"?)',
  ]);
});

// How fast a warm load is, is a figure in bench/devfile.bench.ts ("Devfile load, warm median"),
// measured beside esbuild bundle + import in the same run: a bound here failed on a loaded machine.
test('loading a valid Devfile never loads the TypeScript parser, cold or warm', { timeout: 60_000 }, async () => {
  const script = `
    import { createRequire } from 'node:module';
    import { loadDevfile } from ${JSON.stringify(path.join(here, 'load.ts'))};
    const require = createRequire(import.meta.url);
    const ts = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/typescript/'));
    await loadDevfile({ cwd: ${JSON.stringify(fixture('valid'))} });
    await loadDevfile({ cwd: ${JSON.stringify(fixture('valid'))} });
    const valid = ts();
    await loadDevfile({ cwd: ${JSON.stringify(fixture('type-error'))} }).catch(() => {});
    console.log(JSON.stringify({ valid, invalid: ts() }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(here, '../..') });
  const result = JSON.parse(stdout) as { valid: boolean; invalid: boolean };
  assert.equal(result.valid, false, 'typescript was loaded for a valid Devfile');
  assert.equal(result.invalid, true, 'the check itself can see typescript being loaded');
});

test('an endless loop in the Devfile is stopped at the time limit with a DEVFILE_TIMEOUT error', { timeout: 30_000 }, async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `while (true) {}\nexport default { services: {} };\n`);
  const started = Date.now();
  const err = await loadError({ cwd: dir, timeoutMs: 500 });
  assert.equal(err.code, 'DEVFILE_TIMEOUT');
  assert.equal(err.message, 'Devfile.ts did not finish evaluating within 500 ms, so it was stopped (an endless loop, or a promise that never settles?)');
  assert.match(err.hint ?? '', /keeps the last good config/);
  // Generous: the point is that the load returns at all (it used to hang forever).
  assert.ok(Date.now() - started < 15_000, 'the load came back');
  assert.deepEqual(await leftovers(dir), []);
  // The next load gets a fresh worker: a good Devfile loads again.
  await writeFile(path.join(dir, 'Devfile.ts'), `export default { services: { api: { port: 8080 } } };\n`);
  assert.equal((await loadDevfile({ cwd: dir })).config.services.api.port, 8080);
});

test('a function-form Devfile whose promise never settles times out too', { timeout: 30_000 }, async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `export default () => new Promise(() => {});\n`);
  assert.equal((await loadError({ cwd: dir, timeoutMs: 300 })).code, 'DEVFILE_TIMEOUT');
});

test('DEVLOOP_DEVFILE_TIMEOUT sets the limit', { timeout: 30_000 }, async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `for (;;) {}\n`);
  const err = await loadError({ cwd: dir, env: { DEVLOOP_DEVFILE_TIMEOUT: '400ms' } });
  assert.match(err.message, /within 400 ms/);
});

test('a config holding functions and class instances keeps them (evaluated on the main thread after the worker)', { timeout: 30_000 }, async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), [
    `class P { name = 'p'; apply(engine: unknown) { return engine; } }`,
    `export default { plugins: [new P(), { name: 'inline', apply() {} }], services: { api: { port: 1 } } };`,
  ].join('\n'));
  const loaded = await loadDevfile({ cwd: dir });
  const plugins = loaded.config.plugins as { name: string; apply: unknown }[];
  assert.equal(typeof plugins[0].apply, 'function', 'a prototype method survives');
  assert.equal(typeof plugins[1].apply, 'function', 'an own function survives');
  assert.equal(plugins[0].name, 'p');
});

test('an error thrown in the worker keeps its Devfile location', { timeout: 30_000 }, async (t) => {
  const dir = await scratch(t);
  await writeFile(path.join(dir, 'Devfile.ts'), `const n: number = 1;\nif (n) throw new Error('boom');\nexport default { services: {} };\n`);
  const err = await loadError({ cwd: dir });
  assert.equal(err.code, 'DEVFILE_EVAL');
  assert.equal(err.issues[0].location?.line, 2);
  assert.match(err.issues[0].message, /Error: boom/);
});

// The test runner tracks promises for async hooks, so in this process loadDevfile always asks the
// worker (sandbox.ts, promiseHooksActive); the path a CLI takes is seen from a plain process.
test('in a plain process a Devfile is evaluated on this thread, and the worker only takes what the sandbox cannot', { timeout: 60_000 }, async (t) => {
  const dir = await scratch(t);
  const cases: Record<string, string> = {
    plain: `import { defineDevfile } from 'devloop';\nexport default defineDevfile({ name: import.meta.url.startsWith('file:') ? 'url' : 'no-url', services: { api: { port: Number(process.env.LOAD_TEST_PORT) } } });\n`,
    syncLoop: `while (true) {}\nexport default { services: {} };\n`,
    asyncLoop: `export default async () => { for (;;) await null; };\n`,
    inline: `class P { name = 'p'; apply() {} }\nexport default { plugins: [new P()], services: { api: { port: 1 } } };\n`,
    throws: `const n: number = 1;\nif (n) throw new Error('boom');\nexport default { services: {} };\n`,
    tla: `const port = await Promise.resolve(2);\nexport default { services: { api: { port } } };\n`,
    pkg: `import { port } from 'load-test-pkg';\nexport default { services: { api: { port } } };\n`,
  };
  await mkdir(path.join(dir, 'node_modules', 'load-test-pkg'), { recursive: true });
  await writeFile(path.join(dir, 'node_modules', 'load-test-pkg', 'package.json'), '{ "name": "load-test-pkg", "type": "module", "exports": "./index.js" }');
  await writeFile(path.join(dir, 'node_modules', 'load-test-pkg', 'index.js'), 'export const port = 3;\n');
  for (const [name, code] of Object.entries(cases)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'Devfile.ts'), code);
  }
  const script = `
    import { Worker } from 'node:worker_threads';
    // Jobs sent to the Devfile worker (one worker serves many loads; tsx has a worker of its own).
    let workers = 0;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (...a) { if (a[0]?.url && a[0]?.ctx) workers++; return post.apply(this, a); };
    const { loadDevfile } = await import(${JSON.stringify(path.join(here, 'load.ts'))});
    const out = {};
    for (const name of ${JSON.stringify(Object.keys(cases))}) {
      const before = workers;
      try {
        // The worker's own start (and tsx's, from source) counts against the limit: a short one only for the loops.
        const { config } = await loadDevfile({ cwd: ${JSON.stringify(dir)} + '/' + name, timeoutMs: name.endsWith('Loop') ? 300 : 20_000 });
        out[name] = { name: config.name, port: config.services.api?.port, apply: typeof config.plugins?.[0]?.apply };
      } catch (err) {
        out[name] = { code: err.code, line: err.issues?.[0]?.location?.line };
      }
      out[name].worker = workers > before;
    }
    // The event loop is still this process's: the loops were stopped, not left running.
    await new Promise((r) => setTimeout(r, 10));
    console.log(JSON.stringify(out));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(here, '../..'), env: { ...process.env, LOAD_TEST_PORT: '4' }, timeout: 50_000 });
  assert.deepEqual(JSON.parse(stdout), {
    plain: { name: 'url', port: 4, apply: 'undefined', worker: false },
    syncLoop: { code: 'DEVFILE_TIMEOUT', worker: false },
    asyncLoop: { code: 'DEVFILE_TIMEOUT', worker: false },
    inline: { port: 1, apply: 'function', worker: false },
    throws: { code: 'DEVFILE_EVAL', line: 2, worker: true },
    tla: { port: 2, apply: 'undefined', worker: true },
    pkg: { port: 3, apply: 'undefined', worker: true },
  });
});
