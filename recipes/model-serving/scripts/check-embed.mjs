// The `embed answers` test: OpenAI's /v1/embeddings with token ids (the server has no
// tokenizer). Token t's vector is [t, 10 t, -t]; a row's embedding is the mean over its tokens.
const base = process.env.DEVLOOP_URL_EMBED ?? 'http://127.0.0.1:8501';
const res = await fetch(`${base}/v1/embeddings`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'embed', input: [[1, 2, 3], [4, 4, 7]] }),
});
const body = await res.json();
const got = body.data?.map((d) => d.embedding);
const expected = [[2, 20, -2], [5, 50, -5]];
const ok = res.status === 200 && JSON.stringify(got) === JSON.stringify(expected);
console.log(`${ok ? 'ok  ' : 'FAIL'} [[1,2,3],[4,4,7]] -> ${JSON.stringify(got ?? body)}${ok ? '' : ` (expected ${JSON.stringify(expected)}, HTTP ${res.status})`}`);
process.exit(ok ? 0 : 1);
