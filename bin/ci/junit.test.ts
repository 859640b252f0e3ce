import assert from 'node:assert/strict';
import { it } from 'node:test';
import { junitXml } from './junit.js';

it('writes a well-formed suite with failures counted and text escaped', () => {
  const xml = junitXml('devloop ci', [
    { name: 'api ready', classname: 'devloop.services', timeSeconds: 1.5 },
    { name: 'web ready', classname: 'devloop.services', timeSeconds: 2, failure: { message: 'web failed: "<boom>" & \u0007bell', details: 'line1\nline2' } },
  ], new Date('2026-01-01T00:00:00Z'));
  assert.equal(xml, [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<testsuites name="devloop ci" tests="2" failures="1" time="3.500">',
    '  <testsuite name="devloop ci" tests="2" failures="1" errors="0" skipped="0" time="3.500" timestamp="2026-01-01T00:00:00.000Z">',
    '    <testcase name="api ready" classname="devloop.services" time="1.500"/>',
    '    <testcase name="web ready" classname="devloop.services" time="2.000">',
    '      <failure message="web failed: &quot;&lt;boom&gt;&quot; &amp; bell">line1\nline2</failure>',
    '    </testcase>',
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n'));
});
