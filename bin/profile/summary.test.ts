import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatTop, summarize, type CallFrame, type CpuProfile } from './summary.js';

const frame = (functionName: string, url = '', lineNumber = -1): CallFrame => ({ functionName, scriptId: '1', url, lineNumber, columnNumber: 0 });

// root -> main -> hot (two call paths to hot: V8 gives each its own node)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 6] },
    { id: 2, callFrame: frame('main', 'file:///p/a.js', 0), children: [4, 5] },
    { id: 3, callFrame: frame('(idle)') },
    { id: 4, callFrame: frame('hot', 'file:///p/a.js', 9) },
    { id: 5, callFrame: frame('other', 'file:///p/a.js', 19), children: [7] },
    { id: 6, callFrame: frame('(garbage collector)') },
    { id: 7, callFrame: frame('hot', 'file:///p/a.js', 9) },
  ],
  startTime: 0,
  endTime: 10_000,
  samples: [4, 4, 7, 3, 3, 2, 6, 5, 4, 3],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 3000, 1000],
};

it('self time: each sample lasts until the next; paths to one function merged; idle and root left out', () => {
  const s = summarize(profile);
  assert.equal(s.totalUs, 10_000);
  // samples 0,1,2,8 are hot: 1000+1000+1000 (next deltas) + the last-but-one's next delta (1000)
  const byName = Object.fromEntries(s.functions.map((f) => [f.callFrame.functionName, f.selfUs]));
  assert.deepEqual(Object.keys(byName), ['hot', 'other', 'main', '(garbage collector)']);
  assert.equal(byName.hot, 4000);
  assert.equal(byName.other, 3000);
  assert.equal(byName.main, 1000);
  assert.equal(byName['(garbage collector)'], 1000);
  assert.equal(s.busyUs, 9000);
});

it('without samples, hitCount times the mean interval', () => {
  const s = summarize({ ...profile, samples: undefined, timeDeltas: undefined, nodes: profile.nodes.map((n) => ({ ...n, hitCount: n.id === 4 ? 3 : n.id === 3 ? 1 : 0 })) });
  assert.equal(s.functions[0].callFrame.functionName, 'hot');
  assert.equal(s.functions[0].selfUs, 7500);
});

it('the table: ms, % of the whole profile, name, where', () => {
  const lines = formatTop(summarize(profile), (f) => ({ file: f.url.replace('file:///p/', ''), line: f.lineNumber >= 0 ? f.lineNumber + 1 : undefined }), 2);
  assert.deepEqual(lines, [
    'self ms  self %  function  location',
    '    4.0   40.0%  hot       a.js:10',
    '    3.0   30.0%  other     a.js:20',
  ]);
});
