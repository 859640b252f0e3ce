/**
 * Issue 18: the web dashboard in a real browser (Debian's Chromium via puppeteer-core, test/browser.ts)
 * against a real `devloop up` (test/fixtures/dashboard: a Cloud Run service run by the simulator
 * from local processes, and a worker process; no Docker). The session takes the dashboard's
 * default port or the next free one, and the test reads the URL from `devloop status -o json`.
 * Screenshots of the main views go to test-results/dashboard/ (looked at, not diffed).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'puppeteer-core';
import { launchBrowser, type DashboardBrowser, type PageProblems } from './browser.js';
import { copyFixture, httpGet, repoRoot, runCli, startCli, until, type RunningCli } from './helpers.js';

const SECRET = 's3cr3t-d4shb0ard-7Kq9';
const SHOTS = path.join(repoRoot, 'test-results', 'dashboard');
/** The page's counters (ui/web/client/main.ts). */
interface PageWindow { __devloopPage: { hello: number; events: number; logLines: number; frames: number } }

/** One HTTP request with exactly these headers (Host included), a fresh connection. */
function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: false, headers: options.headers ?? {}, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${url} timed out`)));
    req.once('error', reject);
    req.end(options.body);
  });
}

/** What the SSE stream sends in its first `ms` milliseconds. */
function readStream(url: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    const req = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('error', () => undefined);
    });
    req.once('error', reject);
    setTimeout(() => { req.destroy(); resolve(body); }, ms);
  });
}

describe('the web dashboard in a real browser', { concurrency: false, timeout: 150_000 }, () => {
  let dir = '';
  let up: RunningCli | undefined;
  let browser: DashboardBrowser | undefined;
  let page: Page;
  let problems: PageProblems;
  let url = '';
  let webUrl = '';

  const state = async () => JSON.parse((await httpGet(`${url}api/state`)).body) as { services: Record<string, any>; config: { error?: { message: string } } };
  const status = async () => {
    const r = await runCli(['status', '-o', 'json'], { cwd: dir, timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return JSON.parse(r.stdout) as { dashboard: string | null; services: Record<string, any>; configError?: unknown };
  };
  const text = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '').catch(() => undefined);
  const cell = (service: string, col: string) => text(`#services tr[data-service="${service}"] td[data-col="${col}"]`);
  /** The phase word of a row (the cell is "<glyph> <phase>"; "unhealthy" is not "healthy"). */
  const phase = async (service: string) => (await cell(service, 'phase'))?.trim().split(/\s+/).pop();
  const logCount = async () => Number(/^(\d+) lines?$/.exec((await text('#log-count')) ?? '')?.[1] ?? NaN);
  const rows = () => page.$$eval('#logs .log-row', (els) => els.map((el) => ({ service: (el as HTMLElement).dataset.service, seq: Number((el as HTMLElement).dataset.seq), text: el.textContent ?? '', html: el.innerHTML })));
  const setFilter = async (value: string) => {
    await page.click('#log-filter', { count: 3 });
    await page.keyboard.press('Backspace');
    if (value) await page.type('#log-filter', value);
  };
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
  const logged = (service: string | undefined, re: RegExp) => up!.events.some((e) => e.type === 'log' && e.line?.service === service && re.test(e.line?.message ?? ''));

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = copyFixture('dashboard');
    up = startCli(['up', '--output', 'json'], { cwd: dir });
    const healthy = (s: string) => (e: Record<string, any>) => e.type === 'service/health' && e.service === s && e.health === 'healthy';
    const web = await up.waitFor(healthy('web'), 45_000, 'web healthy');
    await up.waitFor(healthy('worker'), 30_000, 'worker healthy');
    webUrl = web.state.endpoints[0].url as string;
    // `devloop status -o json` carries the URL once the dashboard listens.
    url = (await until(async () => (await status()).dashboard, 20_000, 'the dashboard URL in devloop status -o json'));
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await until(() => logged(undefined, new RegExp(`^dashboard at ${url.replace(/[.]/g, '\\.')}$`)), 5_000, 'the session to log "dashboard at <url>"');
    browser = await launchBrowser();
    ({ page, problems } = await browser.open(url));
  });

  after(async () => {
    await browser?.close();
    if (up && up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([up.exited.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), 20_000); })]);
      clearTimeout(timer);
      if (!stopped) {
        up.child.kill('SIGKILL');
        await runCli(['down'], { cwd: dir, timeoutMs: 30_000 }).catch(() => undefined);
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no console errors, page errors or failed requests, and its stream goes live', { timeout: 20_000 }, async (t) => {
    t.diagnostic(`dashboard at ${url}`);
    await until(async () => (await text('#connection')) === 'live', 10_000, '#connection to say live');
    await until(() => page.evaluate(() => (window as unknown as PageWindow).__devloopPage?.hello === 1), 10_000, 'the hello event');
    const counters = await page.evaluate(() => (window as unknown as PageWindow).__devloopPage);
    assert.ok(counters.logLines > 0 && counters.frames > 0, JSON.stringify(counters));
    const plain = await runCli(['status'], { cwd: dir, timeoutMs: 20_000 });
    assert.ok(plain.stdout.includes(`Dashboard: ${url}`), plain.stdout);
    assert.deepEqual(problems.all(), []);
  });

  it('shows the running services, healthy, with no error panel', { timeout: 20_000 }, async () => {
    await until(async () => (await phase('web')) === 'healthy' && (await phase('worker')) === 'healthy', 10_000, 'both rows healthy');
    assert.deepEqual(await page.$$eval('#services tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.service)), ['web', 'worker']);
    assert.equal(await cell('worker', 'restarts'), '0');
    assert.equal(await cell('web', 'trigger'), 'auto');
    assert.match((await cell('web', 'build')) ?? '', /\S/, 'web (esbuild) shows its last build');
    assert.equal(await page.$('#error-panel'), null);
    await shot('main.png');
  });

  it('updates a restart count without a reload when the worker crashes', { timeout: 20_000 }, async () => {
    writeFileSync(path.join(dir, 'crash.flag'), '');
    await until(async () => (await cell('worker', 'restarts')) === '1', 15_000, 'worker restarts 1 in the page');
    await until(async () => (await phase('worker')) === 'healthy', 10_000, 'worker healthy again');
    assert.equal(await page.evaluate(() => (window as unknown as PageWindow).__devloopPage.hello), 1, 'no reload, no reconnect: still the first hello');
    assert.equal((await state()).services.worker.restarts, 1);
  });

  it('filters logs, renders ANSI colours as spans and Cloud Logging JSON as text, never shows the secret', { timeout: 30_000 }, async () => {
    await until(async () => (await logCount()) > 5, 10_000, 'log lines in the page');
    const all = await logCount();
    await setFilter('zebra-quokka');
    await until(async () => (await logCount()) < all, 5_000, '#log-count to drop');
    const filtered = await logCount();
    const visible = await rows();
    assert.ok(filtered >= 1, `${filtered} lines match`);
    assert.equal(visible.length, filtered, 'every matching line is on screen (few enough)');
    for (const r of visible) {
      assert.match(r.text, /filter-needle zebra-quokka/);
      assert.equal(r.service, 'web');
    }
    await shot('logs-filtered.png');
    await setFilter('');
    await until(async () => (await logCount()) >= all, 5_000, '#log-count back to all lines');

    // The coloured line and the JSON line are among web's first: its view, scrolled to the top.
    await page.select('#log-scope', 'web');
    await until(async () => { const r = await rows(); return r.length && r.every((x) => x.service === 'web'); }, 5_000, 'web-only rows');
    await page.$eval('#logs', (el) => { el.scrollTop = 0; });
    const webLines = await until(async () => { const r = await rows(); return r.some((x) => x.text.includes('ansi-red-marker')) ? r : undefined; }, 5_000, 'the top of web\'s log');
    const ansi = webLines.find((r) => r.text.includes('ansi-red-marker'));
    assert.ok(ansi, webLines.map((r) => r.text).join('\n'));
    assert.match(ansi.html, /<span class="c-red">ansi-red-marker<\/span>/);
    assert.match(ansi.html, /<span class="[^"]*c-green[^"]*\bb\b[^"]*">bold green<\/span>|<span class="[^"]*\bb\b[^"]*c-green[^"]*">bold green<\/span>/);
    const json = webLines.find((r) => r.text.includes('payment declined'));
    assert.ok(json);
    assert.match(json.text, /ERROR payment declined +amount=12/);
    const dom = await page.evaluate(() => document.documentElement.outerHTML);
    assert.doesNotMatch(dom, /\x1b\[|\[31m|\[1;32m/, 'no raw escape codes in the DOM');
    assert.doesNotMatch(dom, /"severity"/, 'no raw Cloud Logging JSON in the DOM');
    // The line that printed the secret is there, redacted.
    assert.ok(webLines.some((r) => r.text.includes('api token is [redacted]')), 'the secret line is shown redacted');
    assert.ok(!dom.includes(SECRET), 'the secret is nowhere in the DOM');
    await page.select('#log-scope', '__all__');
  });

  it('rebuilds from the button, and toggles the trigger mode as devloop status reports it', { timeout: 30_000 }, async () => {
    const before = (await state()).services.web.buildCount as number;
    await page.click('button[data-action="rebuild"][data-service="web"]');
    await until(async () => (await text('#toast'))?.includes('rebuilding web'), 5_000, 'the toast to answer');
    await until(async () => (await state()).services.web.buildCount > before, 15_000, 'web buildCount to increase');
    await until(() => logged('web', /^building \(manual\)$/), 10_000, 'the session log to show a manual build');

    await page.click('button[data-action="trigger-mode"][data-service="web"]');
    await until(async () => (await cell('web', 'trigger')) === 'manual', 5_000, 'the trigger cell to say manual');
    assert.equal((await status()).services.web.triggerMode, 'manual');
    await page.click('button[data-action="trigger-mode"][data-service="web"]');
    await until(async () => (await cell('web', 'trigger')) === 'auto', 5_000, 'the trigger cell back to auto');
    assert.equal((await status()).services.web.triggerMode, 'auto');
  });

  it('answers the TUI\'s keys: j/k select, t toggles the trigger mode, / and esc filter, a scopes the logs, ? helps', { timeout: 30_000 }, async () => {
    const selectedRow = () => page.$eval('#services tr.selected', (el) => (el as HTMLElement).dataset.service).catch(() => undefined);
    await page.click('#services tr[data-service="web"] td[data-col="name"]');
    await page.$eval('#logs', (el) => (el as HTMLElement).focus());
    await page.keyboard.press('j');
    await until(async () => (await selectedRow()) === 'worker', 5_000, 'j to select worker');
    await page.keyboard.press('t');
    await until(async () => (await cell('worker', 'trigger')) === 'manual', 5_000, 't to make worker manual');
    assert.equal((await status()).services.worker.triggerMode, 'manual');
    await page.keyboard.press('t');
    await until(async () => (await cell('worker', 'trigger')) === 'auto', 5_000, 't again: auto');
    await page.keyboard.press('k');
    await until(async () => (await selectedRow()) === 'web', 5_000, 'k to select web');
    // A typed key in the filter box is text, not a command; esc clears it and gives the keys back.
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'log-filter');
    await page.keyboard.type('zebra-quokka t');
    assert.equal(await page.$eval('#log-filter', (el) => (el as HTMLInputElement).value), 'zebra-quokka t');
    assert.equal(await cell('web', 'trigger'), 'auto', 'the t typed into the filter toggled nothing');
    await page.keyboard.press('Escape');
    assert.equal(await page.$eval('#log-filter', (el) => (el as HTMLInputElement).value), '');
    await page.keyboard.press('a');
    await until(async () => (await page.$eval('#log-scope', (el) => (el as HTMLSelectElement).value)) === 'web', 5_000, 'a: the selected service\'s logs');
    // The rows are drawn in the next animation frame.
    await until(async () => { const r = await rows(); return r.length > 0 && r.every((x) => x.service === 'web'); }, 5_000, 'only web\'s lines on screen');
    await page.keyboard.press('a');
    await until(async () => (await page.$eval('#log-scope', (el) => (el as HTMLSelectElement).value)) === '__all__', 5_000, 'a again: all services');
    await page.keyboard.press('?');
    assert.equal(await page.$eval('#help', (el) => (el as HTMLElement).hidden), false);
    assert.match((await text('#help')) ?? '', /rebuild the selected service now/);
    await page.keyboard.press('Escape');
    assert.equal(await page.$eval('#help', (el) => (el as HTMLElement).hidden), true);
  });

  it('pauses following the log when scrolled up, and resumes it from the checkbox', { timeout: 20_000 }, async () => {
    const atEnd = () => page.$eval('#logs', (el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 1);
    assert.ok(await page.$eval('#logs', (el) => el.scrollHeight > el.clientHeight + 18), 'enough lines to scroll (the builds above logged them)');
    assert.equal(await page.$eval('#log-follow', (el) => (el as HTMLInputElement).checked), true);
    await page.$eval('#logs', (el) => { el.scrollTop = 0; });
    await until(async () => (await page.$eval('#log-follow', (el) => (el as HTMLInputElement).checked)) === false, 5_000, 'follow unchecked after scrolling up');
    const top = (await rows())[0].seq;
    await page.click('#log-follow');
    await until(atEnd, 5_000, 'the view back at the end');
    assert.ok((await rows())[0].seq > top, 'newer lines on screen');
  });

  it('refuses requests from other sites and without the token; never sends the secret', { timeout: 30_000 }, async () => {
    const port = new URL(url).port;
    assert.equal((await request(url, { headers: { host: 'evil.example' } })).status, 403, 'DNS rebinding: another Host');
    assert.equal((await request(`${url}api/state`, { headers: { host: `evil.example:${port}` } })).status, 403);

    const html = (await httpGet(url)).body;
    const token = (JSON.parse(/<script id="devloop-boot" type="application\/json">(.*?)<\/script>/s.exec(html)![1]) as { token: string }).token;
    assert.ok(token.length >= 16);
    const idle = async () => { const w = (await state()).services.web; return !w.currentBuild && w.phase === 'healthy' ? w : undefined; };
    const before = (await until(idle, 15_000, 'web idle')).buildCount as number;
    const started = () => up!.events.filter((e) => e.type === 'build/started' && e.service === 'web').length;
    const startedBefore = started();
    const rebuild = `${url}api/actions/rebuild`;
    const body = JSON.stringify({ name: 'rebuild', service: 'web' });
    const json = { 'content-type': 'application/json' };
    assert.equal((await request(rebuild, { method: 'POST', headers: json, body })).status, 403, 'no token');
    assert.equal((await request(rebuild, { method: 'POST', headers: { ...json, 'x-devloop-token': 'x'.repeat(token.length) }, body })).status, 403, 'wrong token');
    assert.equal((await request(rebuild, { method: 'POST', headers: { ...json, 'x-devloop-token': token, origin: 'http://evil.example' }, body })).status, 403, 'another Origin');
    assert.equal((await request(rebuild, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-devloop-token': token }, body })).status, 403, 'not JSON');
    assert.equal((await request(rebuild, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-devloop-token': token }, body: 'service=web' })).status, 403, 'a form');
    assert.equal((await state()).services.web.buildCount, before, 'no build from a refused request');
    const ok = await request(rebuild, { method: 'POST', headers: { ...json, 'x-devloop-token': token, origin: `http://127.0.0.1:${port}` }, body });
    assert.equal(ok.status, 202, ok.body);
    // Exactly one build: the refused requests (sent first) started none.
    await until(async () => { const w = await idle(); return w && w.buildCount > before; }, 15_000, 'the accepted rebuild');
    assert.equal((await state()).services.web.buildCount, before + 1);
    assert.equal(started() - startedBefore, 1);

    // The secret: printed by web at start, redacted before it reaches the store.
    const st = (await httpGet(`${url}api/state`)).body;
    assert.ok(!st.includes(SECRET), 'GET /api/state');
    const stream = await readStream(`${url}api/events`, 2_000);
    assert.match(stream, /^event: hello$/m);
    assert.match(stream, /api token is \[redacted\]/, 'the line that printed it is in the stream, redacted');
    assert.ok(!stream.includes(SECRET), 'the SSE stream');
    assert.ok(!(await page.evaluate(() => document.documentElement.outerHTML)).includes(SECRET), 'the page DOM');
  });

  it('shows the Cloud Run section and charts of web after some requests', { timeout: 30_000 }, async () => {
    await page.click('#services tr[data-service="web"] td[data-col="name"]');
    await until(() => page.$('#cloud-run'), 5_000, '#cloud-run for web');
    assert.deepEqual(await page.$$eval('#charts .chart', (els) => els.map((e) => (e as HTMLElement).dataset.series)).then((s) => ['rps', 'errors', 'latency', 'instances', 'cpu', 'memory'].filter((x) => !s.includes(x))), [], 'every chart is there');
    // Requests for a few seconds: the rps and errors charts get points.
    const end = Date.now() + 3_000;
    let n = 0;
    while (Date.now() < end) {
      await Promise.all([httpGet(webUrl), httpGet(`${webUrl}/fail`)]);
      n += 2;
    }
    assert.ok(n > 10);
    await until(() => page.$('#charts .chart[data-series="rps"]:not(.empty)'), 10_000, 'the rps chart to have data');
    await until(() => page.$('#charts .chart[data-series="errors"]:not(.empty)'), 10_000, 'the errors chart to have data');
    const revisions = await page.$$eval('#revisions tr[data-revision]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.revision));
    assert.ok(revisions.length >= 1 && revisions.every((r) => /^web-\d{5}-[a-z]{3}$/.test(r!)), revisions.join(', '));
    assert.equal(await page.$('#autopilot'), null, 'no Autopilot data for web');
    // The side panel is redrawn on every change of web: find the section anew.
    await page.$eval('#cloud-run', (el) => el.scrollIntoView());
    await shot('cloud-run.png');
  });

  it('shows what Autopilot admitted for worker, why, and what it costs', { timeout: 20_000 }, async () => {
    await page.click('#services tr[data-service="worker"] td[data-col="name"]');
    const section = await until(async () => { const t = await text('#autopilot'); return t?.includes('general-purpose') ? t : undefined; }, 5_000, '#autopilot for worker');
    // The fixture asks 100m / 100Mi; Autopilot admits 100m / 102Mi (its memory rounding) and says why.
    assert.match(section, /cpu\s*100m/);
    assert.match(section, /memory\s*102Mi/);
    assert.match(section, /adjusted resources to meet requirements for containers \[worker\]/);
    assert.match(section, /\$0\.005\/h/);
    assert.equal((await cell('worker', 'ap-vcpu'))?.trim(), '0.1');
    assert.match((await text('header')) ?? '', /\$0\.005\/h/, 'the header sums the cost');
    assert.equal(await page.$('#cloud-run'), null, 'no Cloud Run data for worker');
    await page.$eval('#autopilot', (el) => el.scrollIntoView());
    await shot('autopilot.png');
  });

  it('shows a Devfile error while the last good version runs, and clears it when fixed', { timeout: 30_000 }, async () => {
    const devfile = path.join(dir, 'Devfile.ts');
    const good = readFileSync(devfile, 'utf8');
    writeFileSync(devfile, good.replace("command: ['node', 'worker.mjs'],", "command: ['node', 'worker.mjs'],\n      port: '80a',"));
    await until(async () => (await text('#error-panel'))?.includes('Devfile error'), 15_000, '#error-panel with the Devfile error');
    const panel = (await text('#error-panel'))!;
    assert.match(panel, /port/, panel);
    assert.equal(await phase('web'), 'healthy', 'the last good version still runs');
    assert.equal(await phase('worker'), 'healthy', 'the last good version still runs');
    assert.ok((await status()).configError, 'devloop status agrees');
    await shot('error-panel.png');
    writeFileSync(devfile, good);
    await until(async () => (await page.$('#error-panel')) === null, 15_000, 'the error panel to go');
  });

  it('had no console errors or failed requests all along; Ctrl-C frees the dashboard port', { timeout: 30_000 }, async () => {
    assert.deepEqual(problems.all(), []);
    up!.child.kill('SIGINT');
    assert.equal(await up!.exited, 0, up!.stderr());
    await assert.rejects(httpGet(url, { timeoutMs: 2_000 }), /ECONNREFUSED/, 'the dashboard port is free');
    await until(async () => (await text('#connection')) !== 'live', 10_000, 'the page to notice');
  });
});
