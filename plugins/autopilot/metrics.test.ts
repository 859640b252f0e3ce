import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { register as globalRegister } from 'prom-client';
import { CloudRunMetrics } from '../cloud-run/metrics.js';
import { AutopilotMetrics, serveAutopilotMetrics, type AutopilotSnapshot } from './metrics.js';

const P = 'devloop_autopilot_';

/** The sample lines of one metric (exactly `name` or `name{...}`), sorted, for exact comparison. */
function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).sort();
}

/** The value of one sample, or undefined when the series is absent. Labels must match exactly. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const s of parseSamples(text)) {
    if (s.name !== name || Object.keys(s.labels).length !== Object.keys(labels).length) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
  }
  return undefined;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)(?: (-?\d+))?$/;
const LABEL_PAIR = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

interface Sample { name: string; labels: Record<string, string>; value: number }

function parseValue(v: string): number {
  return v === '+Inf' || v === 'Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
}

function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest) {
      const p = LABEL_PAIR.exec(rest);
      if (!p) break;
      labels[p[1]] = p[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(p[0].length);
    }
    out.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  return out;
}

/**
 * Problems with `text` as Prometheus text exposition format 0.0.4 (what `promtool check metrics`
 * reads; promtool is not installed here): the line grammar, HELP and TYPE once per family and
 * before its samples, each family's samples together, no series twice, counters not negative, and
 * histograms complete (ascending `le`, cumulative buckets, +Inf bucket equal to `_count`, a `_sum`).
 */
function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  if (!text.endsWith('\n')) problems.push('text does not end with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: string | undefined;
  const hist = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  body.split('\n').forEach((line, i) => {
    const at = `line ${i + 1} (${JSON.stringify(line.slice(0, 80))})`;
    const enter = (family: string) => {
      if (family === current) return;
      if (closed.has(family)) problems.push(`${at}: family ${family} appears again after other families`);
      if (current) closed.add(current);
      current = family;
    };
    if (line.startsWith('#')) {
      const h = /^# HELP ([^ ]+) (.*)$/.exec(line);
      const t = /^# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (h) {
        if (!METRIC_NAME.test(h[1])) problems.push(`${at}: bad metric name`);
        if (/\\[^\\n]/.test(h[2].replace(/\\\\/g, ''))) problems.push(`${at}: bad escape in HELP`);
        if (helps.has(h[1])) problems.push(`${at}: second HELP for ${h[1]}`);
        helps.add(h[1]);
        enter(h[1]);
      } else if (t) {
        if (!METRIC_NAME.test(t[1])) problems.push(`${at}: bad metric name`);
        if (types.has(t[1])) problems.push(`${at}: second TYPE for ${t[1]}`);
        if (seen.has(`family:${t[1]}`)) problems.push(`${at}: TYPE after samples of ${t[1]}`);
        types.set(t[1], t[2]);
        enter(t[1]);
      } else {
        problems.push(`${at}: a comment that is neither HELP nor TYPE`);
      }
      return;
    }
    // Blank lines are allowed (the Prometheus text parser skips them; prom-client writes one between families).
    if (line === '') return;
    const m = SAMPLE.exec(line);
    if (!m) { problems.push(`${at}: not a sample line`); return; }
    const [, name, labelText = '', valueText] = m;
    if (!FLOAT.test(valueText)) problems.push(`${at}: bad value ${valueText}`);
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest) {
      const p = LABEL_PAIR.exec(rest);
      if (!p) { problems.push(`${at}: bad label syntax at ${JSON.stringify(rest.slice(0, 40))}`); break; }
      if (!LABEL_NAME.test(p[1]) || p[1].startsWith('__')) problems.push(`${at}: bad label name ${p[1]}`);
      if (p[1] in labels) problems.push(`${at}: label ${p[1]} twice`);
      labels[p[1]] = p[2];
      rest = rest.slice(p[0].length);
      if (p[3] === ',' && !rest) problems.push(`${at}: trailing comma in labels`);
    }
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((f) => types.has(f));
    if (!family) { problems.push(`${at}: sample of ${name} without a TYPE`); return; }
    const type = types.get(family)!;
    if (family !== current) problems.push(`${at}: sample of ${family} outside its family's block`);
    seen.add(`family:${family}`);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(id)) problems.push(`${at}: series repeated`);
    seen.add(id);
    const value = parseValue(valueText);
    if (type === 'counter' && !(value >= 0)) problems.push(`${at}: counter below 0`);
    if (type === 'histogram') {
      if (name === family) { problems.push(`${at}: histogram sample without _bucket/_sum/_count`); return; }
      const { le, ...others } = labels;
      const key = `${family}${JSON.stringify(Object.entries(others).sort())}`;
      const h = hist.get(key) ?? { buckets: [] };
      hist.set(key, h);
      if (name.endsWith('_bucket')) {
        if (le === undefined || !FLOAT.test(le)) problems.push(`${at}: bucket without a numeric le`);
        else h.buckets.push([parseValue(le), value]);
      } else if (le !== undefined) problems.push(`${at}: le on ${name}`);
      else if (name.endsWith('_count')) h.count = value;
      else h.sum = value;
    }
  });
  for (const [key, h] of hist) {
    for (let i = 1; i < h.buckets.length; i++) {
      if (!(h.buckets[i][0] > h.buckets[i - 1][0])) problems.push(`${key}: le not ascending`);
      if (h.buckets[i][1] < h.buckets[i - 1][1]) problems.push(`${key}: buckets not cumulative`);
    }
    const inf = h.buckets.at(-1);
    if (!inf || inf[0] !== Infinity) problems.push(`${key}: no +Inf bucket last`);
    else if (h.count !== inf[1]) problems.push(`${key}: _count ${h.count} is not the +Inf bucket ${inf[1]}`);
    if (h.sum === undefined) problems.push(`${key}: no _sum`);
  }
  return problems;
}

function fetchText(url: string, options: { method?: string; host?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: false, headers: options.host ? { host: options.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const GP = { computeClass: 'general-purpose', machineType: 'ek-standard-8', spot: false, zone: 'us-central1-a' };
const SO = { computeClass: 'Scale-Out', machineType: 't2d-standard-4', spot: true, zone: 'us-central1-b' };

const FIRST: AutopilotSnapshot = {
  nodes: [
    { name: 'gk3-gp-1', ...GP, state: 'ready' },
    { name: 'gk3-gp-2', ...GP, state: 'ready' },
    { name: 'gk3-so-1', ...SO, state: 'booting' },
  ],
  pods: [
    { namespace: 'shop', computeClass: 'general-purpose', spot: false, bound: true },
    { namespace: 'shop', computeClass: 'general-purpose', spot: false, bound: true },
    { namespace: 'shop', computeClass: 'Scale-Out', spot: true, bound: false, pendingReason: 'awaiting-node' },
    { namespace: 'batch', computeClass: 'Accelerator', spot: false, bound: false, pendingReason: 'unschedulable' },
    // Unbound and not yet looked at by the kube-scheduler: not pending on the provisioner.
    { namespace: 'batch', computeClass: 'general-purpose', spot: false, bound: false },
  ],
  cost: [
    { namespace: 'shop', pods: 0.1234, nodes: 0 },
    { namespace: 'batch', pods: 0, nodes: 2.5 },
  ],
  clusterFeeUsdPerHour: 0.1,
};

/** The Scale-Out node came up and took its pod; one general-purpose node and the batch namespace are gone. */
const SECOND: AutopilotSnapshot = {
  nodes: [
    { name: 'gk3-gp-1', ...GP, state: 'ready' },
    { name: 'gk3-so-1', ...SO, state: 'preempting' },
  ],
  pods: [
    { namespace: 'shop', computeClass: 'general-purpose', spot: false, bound: true },
    { namespace: 'shop', computeClass: 'Scale-Out', spot: true, bound: true },
  ],
  cost: [{ namespace: 'shop', pods: 0.2, nodes: 0 }],
  clusterFeeUsdPerHour: 0.1,
};

describe('AutopilotMetrics', () => {
  it('documents every metric with HELP and TYPE, with conventional names, on its own registry', async () => {
    const m = new AutopilotMetrics();
    const text = await m.metrics();
    const want: Array<[string, string]> = [
      ['nodes', 'gauge'],
      ['nodes_provisioned_total', 'counter'],
      ['nodes_removed_total', 'counter'],
      ['pending_pods', 'gauge'],
      ['pods', 'gauge'],
      ['cost_usd_per_hour', 'gauge'],
      ['admission_reviews_total', 'counter'],
      ['admission_review_duration_seconds', 'histogram'],
      ['evictions_total', 'counter'],
    ];
    for (const [name, type] of want) {
      assert.match(text, new RegExp(`^# HELP ${P}${name} \\S.{20,}$`, 'm'), name);
      assert.match(text, new RegExp(`^# TYPE ${P}${name} ${type}$`, 'm'), name);
    }
    assert.equal([...text.matchAll(/^# TYPE /gm)].length, want.length, 'no metric beyond those');
    assert.deepEqual(expositionProblems(text), []);
    assert.equal((await globalRegister.metrics()).includes(P), false, 'nothing on the global registry');
    // Two instances do not collide.
    const other = new AutopilotMetrics();
    m.update(FIRST);
    assert.deepEqual(lines(await other.metrics(), `${P}nodes`), []);
  });

  it('update sets the gauges from a snapshot, exactly', async () => {
    const m = new AutopilotMetrics();
    m.update(FIRST);
    const text = await m.metrics();
    assert.deepEqual(lines(text, `${P}nodes`), [
      `${P}nodes{compute_class="Scale-Out",machine_type="t2d-standard-4",spot="true",zone="us-central1-b",state="booting"} 1`,
      `${P}nodes{compute_class="general-purpose",machine_type="ek-standard-8",spot="false",zone="us-central1-a",state="ready"} 2`,
    ]);
    assert.deepEqual(lines(text, `${P}pending_pods`), [
      `${P}pending_pods{namespace="batch",reason="unschedulable"} 1`,
      `${P}pending_pods{namespace="shop",reason="awaiting-node"} 1`,
    ]);
    assert.deepEqual(lines(text, `${P}pods`), [
      `${P}pods{namespace="shop",compute_class="general-purpose",spot="false"} 2`,
    ]);
    assert.deepEqual(lines(text, `${P}cost_usd_per_hour`), [
      `${P}cost_usd_per_hour{namespace="",kind="cluster_fee"} 0.1`,
      `${P}cost_usd_per_hour{namespace="batch",kind="nodes"} 2.5`,
      `${P}cost_usd_per_hour{namespace="batch",kind="pods"} 0`,
      `${P}cost_usd_per_hour{namespace="shop",kind="nodes"} 0`,
      `${P}cost_usd_per_hour{namespace="shop",kind="pods"} 0.1234`,
    ]);
    assert.deepEqual(expositionProblems(text), []);
  });

  it('a later snapshot replaces the earlier one: label sets it lacks disappear', async () => {
    const m = new AutopilotMetrics();
    m.update(FIRST);
    m.update(SECOND);
    const text = await m.metrics();
    assert.deepEqual(lines(text, `${P}nodes`), [
      `${P}nodes{compute_class="Scale-Out",machine_type="t2d-standard-4",spot="true",zone="us-central1-b",state="preempting"} 1`,
      `${P}nodes{compute_class="general-purpose",machine_type="ek-standard-8",spot="false",zone="us-central1-a",state="ready"} 1`,
    ]);
    assert.equal(text.includes('state="booting"'), false, 'the booting series of the node that came up is gone');
    assert.deepEqual(lines(text, `${P}pending_pods`), []);
    assert.deepEqual(lines(text, `${P}pods`), [
      `${P}pods{namespace="shop",compute_class="Scale-Out",spot="true"} 1`,
      `${P}pods{namespace="shop",compute_class="general-purpose",spot="false"} 1`,
    ]);
    assert.deepEqual(lines(text, `${P}cost_usd_per_hour`), [
      `${P}cost_usd_per_hour{namespace="",kind="cluster_fee"} 0.1`,
      `${P}cost_usd_per_hour{namespace="shop",kind="nodes"} 0`,
      `${P}cost_usd_per_hour{namespace="shop",kind="pods"} 0.2`,
    ]);
    assert.equal(text.includes('"batch"'), false, 'nothing of the namespace that went away');
    // An empty cluster: only the fee is left.
    m.update({ nodes: [], pods: [], cost: [], clusterFeeUsdPerHour: 0 });
    const empty = await m.metrics();
    assert.deepEqual(lines(empty, `${P}nodes`), []);
    assert.deepEqual(lines(empty, `${P}pods`), []);
    assert.deepEqual(lines(empty, `${P}cost_usd_per_hour`), [`${P}cost_usd_per_hour{namespace="",kind="cluster_fee"} 0`]);
    assert.deepEqual(expositionProblems(empty), []);
  });

  it('refuses a malformed snapshot, naming the field, and keeps the previous values', async () => {
    const m = new AutopilotMetrics();
    m.update(FIRST);
    const before = await m.metrics();
    const bad: Array<[AutopilotSnapshot, RegExp]> = [
      [{ ...SECOND, nodes: [...SECOND.nodes, { ...SECOND.nodes[0] }] }, /nodes\[2\]\.name "gk3-gp-1" repeats nodes\[0\]/],
      [{ ...SECOND, nodes: [{ ...SECOND.nodes[0], state: 'gone' as never }] }, /nodes\[0\]\.state is "gone"; give one of booting, ready, preempting/],
      [{ ...SECOND, nodes: [{ ...SECOND.nodes[0], zone: '' }] }, /nodes\[0\]\.zone is ""; give a non-empty string/],
      [{ ...SECOND, pods: [{ namespace: 'shop', computeClass: 'x', spot: false, bound: false, pendingReason: 'waiting' as never }] }, /pods\[0\]\.pendingReason is "waiting"/],
      [{ ...SECOND, pods: [{ namespace: 'shop', computeClass: 'x', spot: false, bound: true, pendingReason: 'awaiting-node' }] }, /pods\[0\] is bound yet has pendingReason/],
      [{ ...SECOND, cost: [{ namespace: 'shop', pods: Number.NaN, nodes: 0 }] }, /cost\[0\]\.pods is NaN; give USD per hour/],
      [{ ...SECOND, cost: [{ namespace: 'a', pods: 0, nodes: 0 }, { namespace: 'a', pods: 0, nodes: 0 }] }, /cost\[1\]\.namespace "a" repeats cost\[0\]/],
      [{ ...SECOND, clusterFeeUsdPerHour: -1 }, /clusterFeeUsdPerHour is -1/],
    ];
    for (const [snapshot, message] of bad) assert.throws(() => m.update(snapshot), message);
    assert.equal(await m.metrics(), before);
  });

  it('counts provisioned and removed nodes and evictions, from 0 for the known reasons', async () => {
    const m = new AutopilotMetrics();
    const start = await m.metrics();
    for (const reason of ['empty', 'underused', 'preempted', 'shutdown', 'stale']) assert.equal(sample(start, `${P}nodes_removed_total`, { reason }), 0, reason);
    for (const reason of ['preemption', 'consolidation']) assert.equal(sample(start, `${P}evictions_total`, { reason }), 0, reason);
    m.nodeProvisioned('general-purpose', false);
    m.nodeProvisioned('general-purpose', false);
    m.nodeProvisioned('Scale-Out', true);
    m.nodeRemoved('empty');
    m.nodeRemoved('preempted');
    m.nodeRemoved('empty');
    m.eviction('preemption', 3);
    m.eviction('consolidation');
    const text = await m.metrics();
    assert.deepEqual(lines(text, `${P}nodes_provisioned_total`), [
      `${P}nodes_provisioned_total{compute_class="Scale-Out",spot="true"} 1`,
      `${P}nodes_provisioned_total{compute_class="general-purpose",spot="false"} 2`,
    ]);
    assert.equal(sample(text, `${P}nodes_removed_total`, { reason: 'empty' }), 2);
    assert.equal(sample(text, `${P}nodes_removed_total`, { reason: 'preempted' }), 1);
    assert.equal(sample(text, `${P}nodes_removed_total`, { reason: 'stale' }), 0);
    assert.equal(sample(text, `${P}evictions_total`, { reason: 'preemption' }), 3);
    assert.equal(sample(text, `${P}evictions_total`, { reason: 'consolidation' }), 1);
    // A snapshot does not touch the counters.
    m.update({ nodes: [], pods: [], cost: [], clusterFeeUsdPerHour: 0 });
    assert.equal(sample(await m.metrics(), `${P}nodes_removed_total`, { reason: 'empty' }), 2);
    assert.throws(() => m.nodeRemoved('lost' as never), /reason is "lost"; give one of empty, underused, preempted, shutdown, stale/);
    assert.throws(() => m.eviction('preemption', -1), /pods is -1/);
    assert.deepEqual(expositionProblems(text), []);
  });

  it('counts admission reviews by webhook and result and times them', async () => {
    const m = new AutopilotMetrics();
    const reviews: Array<['mutating' | 'validating', 'allowed' | 'denied' | 'patched' | 'error', number]> = [
      ['mutating', 'patched', 0.0008],
      ['mutating', 'patched', 0.004],
      ['mutating', 'allowed', 0.03],
      ['mutating', 'error', 4],
      ['validating', 'denied', 0.002],
      ['validating', 'allowed', 7],
    ];
    for (const [w, r, s] of reviews) m.review(w, r, s);
    const text = await m.metrics();
    assert.equal(sample(text, `${P}admission_reviews_total`, { webhook: 'mutating', result: 'patched' }), 2);
    assert.equal(sample(text, `${P}admission_reviews_total`, { webhook: 'mutating', result: 'allowed' }), 1);
    assert.equal(sample(text, `${P}admission_reviews_total`, { webhook: 'mutating', result: 'denied' }), 0);
    assert.equal(sample(text, `${P}admission_reviews_total`, { webhook: 'validating', result: 'denied' }), 1);
    const count = (webhook: string) => sample(text, `${P}admission_review_duration_seconds_count`, { webhook });
    assert.equal(count('mutating'), 4);
    assert.equal(count('validating'), 2);
    assert.equal(count('mutating')! + count('validating')!, reviews.length);
    assert.ok(Math.abs(sample(text, `${P}admission_review_duration_seconds_sum`, { webhook: 'mutating' })! - 4.0348) < 1e-9);
    // Buckets span 1 ms .. 5 s; 7 s only in +Inf.
    const bucket = (webhook: string, le: string) => sample(text, `${P}admission_review_duration_seconds_bucket`, { webhook, le });
    assert.equal(bucket('mutating', '0.001'), 1);
    assert.equal(bucket('mutating', '0.005'), 2);
    assert.equal(bucket('mutating', '0.05'), 3);
    assert.equal(bucket('mutating', '2.5'), 3);
    assert.equal(bucket('mutating', '5'), 4);
    assert.equal(bucket('validating', '5'), 1);
    assert.equal(bucket('validating', '+Inf'), 2);
    assert.equal(bucket('validating', '10'), undefined, 'no bucket past 5 s');
    assert.throws(() => m.review('mutating', 'allowed', Number.NaN), /seconds is NaN/);
    assert.throws(() => m.review('audit' as never, 'allowed', 0), /webhook is "audit"/);
    assert.equal(sample(await m.metrics(), `${P}admission_review_duration_seconds_count`, { webhook: 'mutating' }), 4, 'a refused call records nothing');
    assert.deepEqual(expositionProblems(text), []);
  });

  it('takes another prefix', async () => {
    const m = new AutopilotMetrics('sim_');
    m.nodeRemoved('stale');
    assert.equal(sample(await m.metrics(), 'sim_nodes_removed_total', { reason: 'stale' }), 1);
  });
});

describe('expositionProblems (the format check the tests rely on)', () => {
  it('finds what is wrong in broken exposition text', () => {
    const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n';
    assert.deepEqual(expositionProblems(ok), []);
    const broken: Array<[string, RegExp]> = [
      ['# TYPE a_total counter\na_total{x="1"} 2', /does not end with a newline/],
      ['# TYPE a_total counter\na_total{x="1} 2\n', /bad label syntax|not a sample/],
      ['# TYPE a_total counter\na_total{x="1",} 2\n', /trailing comma/],
      ['# TYPE a_total counter\na_total{x="1"} two\n', /bad value/],
      ['# TYPE a_total counter\na_total{x="1"} -1\n', /counter below 0/],
      ['# TYPE a_total counter\na_total{x="1"} 1\na_total{x="1"} 2\n', /series repeated/],
      ['b 1\n', /without a TYPE/],
      ['# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n', /outside its family's block/],
      ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
      ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', /_count 3 is not the \+Inf bucket 2/],
      ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no \+Inf bucket/],
      ['# a note\n', /neither HELP nor TYPE/],
    ];
    for (const [text, problem] of broken) {
      const got = expositionProblems(text);
      assert.ok(got.some((p) => problem.test(p)), `${JSON.stringify(text)}: want ${problem}, got ${JSON.stringify(got)}`);
    }
  });
});

describe('serveAutopilotMetrics', () => {
  it('serves valid exposition text at GET /metrics on 127.0.0.1, live, 404 otherwise', async () => {
    const m = new AutopilotMetrics();
    m.update(FIRST);
    m.review('mutating', 'patched', 0.01);
    const server = await serveAutopilotMetrics(m);
    try {
      assert.equal(server.url, `http://127.0.0.1:${server.port}/metrics`);
      const r = await fetchText(server.url);
      assert.equal(r.status, 200);
      assert.equal(r.type, m.registry.contentType);
      assert.deepEqual(expositionProblems(r.body), []);
      assert.equal(r.body, await m.metrics());
      assert.equal(sample(r.body, `${P}nodes`, { compute_class: 'general-purpose', machine_type: 'ek-standard-8', spot: 'false', zone: 'us-central1-a', state: 'ready' }), 2);
      // Live: a later snapshot shows up and what it lacks is gone.
      m.update(SECOND);
      const again = (await fetchText(server.url)).body;
      assert.equal(sample(again, `${P}nodes`, { compute_class: 'general-purpose', machine_type: 'ek-standard-8', spot: 'false', zone: 'us-central1-a', state: 'ready' }), 1);
      assert.equal(again.includes('state="booting"'), false);
      assert.deepEqual(expositionProblems(again), []);
      assert.equal((await fetchText(`http://127.0.0.1:${server.port}/`)).status, 404);
      assert.equal((await fetchText(`http://127.0.0.1:${server.port}/metricsx`)).status, 404);
      assert.equal((await fetchText(server.url, { method: 'POST' })).status, 404);
    } finally {
      await server.close();
    }
  });

  it('refuses requests addressed to a name other than loopback (DNS rebinding)', async () => {
    const m = new AutopilotMetrics();
    m.update(FIRST);
    const server = await serveAutopilotMetrics(m);
    try {
      const refused = await fetchText(server.url, { host: `rebind.example:${server.port}` });
      assert.equal(refused.status, 403);
      assert.match(refused.body, /Autopilot metrics endpoint only answers requests addressed to localhost, 127\.0\.0\.1, \[::1\]/);
      assert.equal(refused.body.includes(P), false, 'no metric leaks into the refusal');
      assert.equal((await fetchText(server.url, { host: `localhost:${server.port}` })).status, 200);
      assert.equal((await fetchText(server.url, { host: `[::1]:${server.port}` })).status, 200);
    } finally {
      await server.close();
    }
  });

  it('serves any object holding a registry (the Cloud Run metrics too)', async () => {
    const cr = new CloudRunMetrics();
    cr.requestFinished('api', 'api-00001-abc', 200, 0.01);
    const server = await serveAutopilotMetrics(cr);
    try {
      const r = await fetchText(server.url);
      assert.equal(r.status, 200);
      assert.match(r.body, /^devloop_cloudrun_requests_total\{service="api",revision="api-00001-abc",code_class="2xx",code="200"\} 1$/m);
      assert.deepEqual(expositionProblems(r.body), []);
    } finally {
      await server.close();
    }
  });
});
