import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codeFrame } from './frame.js';
import { locateIssues, locatePath } from './locate.js';

/** LINE:COL of `path` (and `key`) in `source`, as a string. */
async function at(source: string, path: string, key?: string): Promise<string> {
  const pos = await locatePath(source, 'Devfile.ts', path, key);
  return pos ? `${pos.line}:${pos.column}` : 'none';
}

test('finds the object passed to defineDevfile()', async () => {
  const src = [
    `import { defineDevfile } from 'devloop';`,
    `export default defineDevfile({`,
    `  services: {`,
    `    api: { port: '80a', 'image': 'x', 8: 1 },`,
    `  },`,
    `});`,
  ].join('\n');
  assert.equal(await at(src, 'services.api.port'), '4:18');
  assert.equal(await at(src, 'services.api.image'), '4:34');
  assert.equal(await at(src, 'services.api', 'prot'), '4:10', 'a missing key points at the object that lacks it');
  assert.equal(await at(src, 'services.api', 'image'), '4:25', 'an unknown key points at its name');
  assert.equal(await at(src, 'services.api.8'), '4:42', 'numeric keys match');
  assert.equal(await at(src, ''), '2:30');
});

test('finds `export default {...}` with satisfies, as or parentheses', async () => {
  for (const wrap of ['{ services: { api: { port: 1 } } } satisfies DevfileConfig', '({ services: { api: { port: 1 } } }) as DevfileConfig', '{ services: { api: { port: 1 } } }']) {
    assert.equal(await at(`export default ${wrap};`, 'services.api.port'), `1:${wrap.indexOf('port: 1') + 'export default '.length + 7}`, wrap);
  }
});

test('finds the object returned by a function passed to defineDevfile', async () => {
  const arrow = `export default defineDevfile(({ mode }) => ({\n  services: { api: { port: mode } },\n}));`;
  assert.equal(await at(arrow, 'services.api.port'), '2:28');
  const block = [
    `export default defineDevfile(async function (ctx) {`,
    `  const helper = () => { return { wrong: 1 }; };`,
    `  return {`,
    `    services: { api: { port: 'x' } },`,
    `  };`,
    `});`,
  ].join('\n');
  assert.equal(await at(block, 'services.api.port'), '4:30', 'the return of a nested function does not count');
  const declared = `export default function devfile() {\n  return { name: 1, services: {} };\n}`;
  assert.equal(await at(declared, 'name'), '2:18');
});

test('follows a top-level const once, for the config and for nested values', async () => {
  const src = [
    `const api = {`,
    `  port: '80a',`,
    `};`,
    `const config = defineDevfile({ services: { api, web: api } });`,
    `export default config;`,
  ].join('\n');
  assert.equal(await at(src, 'services.api.port'), '2:9', 'shorthand property');
  assert.equal(await at(src, 'services.web.port'), '2:9', 'identifier value');
  assert.equal(await at(src, 'services.api'), '4:44', 'the value itself stays where it is written');
});

test('indexes into array literals, and stops at spreads it cannot count', async () => {
  const src = `export default {\n  services: {},\n  plugins: ['a', { name: 'x' }],\n  ignore: [...base, 'x'],\n};`;
  assert.equal(await at(src, 'plugins.1'), '3:18');
  assert.equal(await at(src, 'plugins.1.name'), '3:26');
  assert.equal(await at(src, 'ignore.1'), '4:11');
  assert.equal(await at(src, 'plugins.7'), '3:12');
});

test('reports the deepest node it could reach when the value is computed', async () => {
  const src = `export default {\n  services: Object.fromEntries(list),\n};`;
  assert.equal(await at(src, 'services.api.port'), '2:13');
});

test('the last of duplicate keys wins, as it does at run time', async () => {
  assert.equal(await at(`export default { port: 1, port: 2 };`, 'port'), '1:33');
});

test('locateIssues adds file, position and a code frame', async () => {
  const src = `export default {\n  services: {\n    api: {\n      port: '80a',\n    },\n  },\n};\n`;
  const [issue] = await locateIssues(src, 'Devfile.ts', [{ path: 'services.api.port', message: 'expected a number, got "80a"' }]);
  assert.deepEqual(issue, {
    path: 'services.api.port',
    message: 'expected a number, got "80a"',
    location: {
      file: 'Devfile.ts', line: 4, column: 13,
      frame: [
        '  2 |   services: {',
        '  3 |     api: {',
        '> 4 |       port: \'80a\',',
        '    |             ^',
        '  5 |     },',
        '  6 |   },',
      ].join('\n'),
    },
  });
});

test('codeFrame clips at the file edges, pads line numbers and keeps tabs before the caret', () => {
  assert.equal(codeFrame('a\n\tb: 1\nc', 2, 5), ['  1 | a', '> 2 | \tb: 1', '    | \t   ^', '  3 | c'].join('\n'));
  const many = Array.from({ length: 12 }, (_, i) => `l${i + 1}`).join('\n');
  assert.equal(codeFrame(many, 10, 1), ['   8 | l8', '   9 | l9', '> 10 | l10', '     | ^', '  11 | l11', '  12 | l12'].join('\n'));
});
