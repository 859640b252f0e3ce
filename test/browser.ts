/**
 * A real browser for the dashboard's tests and bench: Debian's Chromium driven by puppeteer-core.
 *
 *   const browser = await launchBrowser();
 *   try {
 *     const { page, problems } = await browser.open(url);
 *     ...
 *     assert.deepEqual(problems.all(), []);
 *   } finally { await browser.close(); }
 *
 * `open` records what a page should never do: console errors and warnings, uncaught exceptions,
 * requests that failed and answers of 400 or more. `close` always ends the browser, and if
 * Chromium does not quit by itself it kills exactly the process group it was started in (no
 * Chromium of anyone else). `DEVLOOP_CHROMIUM` names another Chromium binary.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.DEVLOOP_CHROMIUM ?? '/usr/bin/chromium';

/** What went wrong in a page, each as one readable line. */
export class PageProblems {
  /** `console.error` / `console.warn` (and the browser's own, such as CSP violations). */
  readonly console: string[] = [];
  /** Uncaught exceptions and unhandled rejections. */
  readonly pageErrors: string[] = [];
  /** Requests that got no answer (refused, aborted, blocked) or an answer of 400 or more. */
  readonly requests: string[] = [];

  all(): string[] {
    return [...this.console.map((m) => `console: ${m}`), ...this.pageErrors.map((m) => `page error: ${m}`), ...this.requests.map((m) => `request: ${m}`)];
  }
}

export interface OpenedPage { page: Page; problems: PageProblems }

export interface DashboardBrowser {
  browser: Browser;
  /** A new tab at `url` (waits for the load event), its problems recorded from before the first request. */
  open(url: string, options?: { width?: number; height?: number; timeoutMs?: number }): Promise<OpenedPage>;
  /** Closes the browser; kills its process group if it does not quit within 5 s. Safe to call twice. */
  close(): Promise<void>;
}

export async function launchBrowser(options: { timeoutMs?: number } = {}): Promise<DashboardBrowser> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    // headless: true makes puppeteer pass --headless=new itself.
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: options.timeoutMs ?? 30_000,
    // The test's own signals (Ctrl-C of the test runner) are left to its `after` hooks.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const proc = browser.process();
  let closed = false;
  return {
    browser,
    async open(url, o = {}) {
      const page = await browser.newPage();
      const problems = new PageProblems();
      page.on('console', (m) => {
        const type = m.type();
        if (type === 'error' || type === 'warn') problems.console.push(`${type}: ${m.text()}${m.location()?.url ? ` (${m.location().url}:${m.location().lineNumber ?? '?'})` : ''}`);
      });
      page.on('pageerror', (err) => { problems.pageErrors.push(err instanceof Error ? err.stack ?? err.message : String(err)); });
      page.on('requestfailed', (r) => { problems.requests.push(`${r.method()} ${r.url()} failed: ${r.failure()?.errorText ?? 'unknown'}`); });
      page.on('response', (r) => { if (r.status() >= 400) problems.requests.push(`${r.request().method()} ${r.url()} answered ${r.status()}`); });
      await page.setViewport({ width: o.width ?? 1400, height: o.height ?? 1000 });
      await page.goto(url, { waitUntil: 'load', timeout: o.timeoutMs ?? 15_000 });
      return { page, problems };
    },
    async close() {
      if (closed) return;
      closed = true;
      const quit = await Promise.race([
        browser.close().then(() => true, () => false),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5_000).unref()),
      ]);
      if (quit || !proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
      // puppeteer starts Chromium detached, in a process group of its own: its renderers go with it.
      try { process.kill(-proc.pid, 'SIGKILL'); } catch { try { proc.kill('SIGKILL'); } catch { /* already gone */ } }
    },
  };
}
