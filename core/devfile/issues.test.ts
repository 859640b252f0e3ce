import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeValue, editDistance, suggest } from './issues.js';

test('editDistance counts a swap of neighbours as one edit', () => {
  assert.equal(editDistance('prot', 'port'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('suggest offers a close name and stays quiet for unrelated ones', () => {
  assert.equal(suggest('prot', ['port', 'ports', 'env']), ' (did you mean "port"?)');
  assert.equal(suggest('dependOn', ['dependsOn', 'port']), ' (did you mean "dependsOn"?)');
  assert.equal(suggest('banana', ['port', 'env']), '');
  assert.equal(suggest('x', []), '');
});

test('describeValue quotes strings and names the type of anything else', () => {
  assert.equal(describeValue('80a'), '"80a"');
  assert.equal(describeValue(80), 'a number (80)');
  assert.equal(describeValue(true), 'a boolean (true)');
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue([1]), 'an array');
  assert.equal(describeValue({}), 'an object');
  assert.equal(describeValue(() => 1), 'a function');
});
