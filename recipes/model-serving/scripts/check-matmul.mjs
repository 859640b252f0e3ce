// The `matmul answers` test: four requests sent at once (so the server may batch them), each
// answer checked against y = x W + b worked out by hand (W = [[1,2],[3,4],[5,6]], b = [0.5,-1]).
const base = process.env.DEVLOOP_URL_MATMUL ?? 'http://127.0.0.1:8500';
const cases = [
  { x: [1, 2, 3], y: [22.5, 27] },
  { x: [0, 0, 0], y: [0.5, -1] },
  { x: [1, 0, 0], y: [1.5, 1] },
  { x: [-1, 0.5, 2], y: [11, 11] },
];
const answers = await Promise.all(cases.map(async ({ x }) => {
  const res = await fetch(`${base}/v2/models/matmul/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: x }] }),
  });
  return { status: res.status, body: await res.json() };
}));
let failed = 0;
for (const [i, { x, y }] of cases.entries()) {
  const { status, body } = answers[i];
  const got = body.outputs?.[0]?.data;
  const ok = status === 200 && JSON.stringify(got) === JSON.stringify(y);
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} x=${JSON.stringify(x)} -> y=${JSON.stringify(got ?? body)}${ok ? '' : ` (expected ${JSON.stringify(y)}, HTTP ${status})`}`);
}
process.exit(failed ? 1 : 0);
