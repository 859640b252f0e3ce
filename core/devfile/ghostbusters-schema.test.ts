/** `ai.ghostbusters` in the schema: the layering rules keep their shape, the model is checked field by field. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDevfile } from './schema.js';

const withGhostbusters = (ghostbusters: unknown) => ({ services: {}, ai: { ghostbusters } });
const problems = (value: unknown) => { const r = validateDevfile(value); return r.ok ? [] : r.issues.map((i) => `${i.path}${i.key ? `.${i.key}` : ''}: ${i.message}`); };

test('layers accept a glob or globs in from, package names and a reason; true and a model are accepted', () => {
  assert.deepEqual(problems(withGhostbusters({ layers: [{ from: 'core/**', notImport: ['ui/**', 'react'], because: 'headless' }, { from: ['a/**', 'b/**'], notImport: ['c/**'] }] })), []);
  assert.deepEqual(problems(withGhostbusters(true)), []);
  assert.deepEqual(problems(withGhostbusters({ model: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'm', apiKeyEnv: 'MY_KEY', timeoutMs: 5000 } })), []);
});

test('a malformed layers field, a model without a URL, and an unknown key are errors naming the field', () => {
  assert.match(problems(withGhostbusters({ layers: 'core' })).join('\n'), /ai\.ghostbusters\.layers: must be a list of \{ from, notImport \} rules/);
  assert.match(problems(withGhostbusters({ layers: [{ from: 'a/**', notImport: [] }] })).join('\n'), /ai\.ghostbusters\.layers\.0\.notImport: expected at least one glob or package name/);
  assert.match(problems(withGhostbusters({ model: { baseUrl: 'localhost:8000', model: 'm' } })).join('\n'), /ai\.ghostbusters\.model\.baseUrl: expected an http\(s\) URL/);
  assert.match(problems(withGhostbusters({ model: { baseUrl: 'http://x/v1' } })).join('\n'), /ai\.ghostbusters\.model/);
  assert.match(problems(withGhostbusters({ modle: {} })).join('\n'), /modle/);
});
