/**
 * The overview in Chromium: served by `npm start` at `/` and by `riq console` through its proxy, it
 * shows health, each service's breaker and queue depths as the API reports them, and refreshes
 * itself. A page of another origin cannot use the console's proxy, by fetch or by form post.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RiqHttp } from '../support/riq-http.js';
import { launchBrowser, startRiqConsole, watchedPage, type RunningRiqConsole } from './browser.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);

interface HealthBody {
  services: Record<string, { queues: Record<string, Record<string, number>> }>;
}
interface BreakersBody {
  circuit_breakers: Record<string, { state: string; failure_threshold: number }>;
}

describe('console overview', () => {
  let browser: Browser;
  let riqConsole: RunningRiqConsole;

  beforeAll(async () => {
    browser = await launchBrowser();
    riqConsole = await startRiqConsole(stack.url);
  });
  afterAll(async () => {
    await browser?.close();
    await riqConsole?.stop();
  });

  for (const where of ['npm start at /', 'riq console'] as const) {
    it(`${where}: shows health, each breaker and each queue's depth as the API reports them`, async () => {
      const { page, problems } = await watchedPage(browser);
      await page.goto(where === 'riq console' ? riqConsole.url : `${stack.url}/`);
      const status = page.getByTestId('health-status');
      await status.waitFor();
      expect(['healthy', 'degraded']).toContain(await status.textContent());

      const health = (await api.raw('GET', '/api/queue/health')).body as unknown as HealthBody;
      const breakers = (await api.raw('GET', '/api/queue/circuit-breakers')).body as unknown as BreakersBody;
      expect(Object.keys(health.services).sort()).toEqual(['confluence', 'jira']);
      for (const [service, { queues }] of Object.entries(health.services)) {
        const breaker = breakers.circuit_breakers[service]!;
        await expect
          .poll(() => page.getByTestId(`breaker-${service}`).textContent())
          .toBe(breaker.state.replace('_', '-'));
        expect(await page.getByTestId(`service-${service}`).textContent()).toContain(`failures in`);
        for (const [priority, depth] of Object.entries(queues)) {
          const cells = page.getByTestId(`queues-${service}`).locator(`tr[data-priority="${priority}"] td`);
          await expect
            .poll(() => cells.allTextContents())
            .toEqual([
              priority,
              String(depth['visible']),
              String(depth['in_flight']),
              String(depth['delayed']),
              String(depth['dead_letter_queue']),
            ]);
        }
        expect(await page.getByTestId(`budget-${service}`).textContent()).toMatch(/rate tokens.*\/ \d+/);
      }
      expect(problems).toEqual([]);
      await page.close();
    });
  }

  it('refreshes every 3 s and charts the queue depth of each service over the time the page is open', async () => {
    const { page, problems } = await watchedPage(browser);
    await page.goto(riqConsole.url);
    const chart = page.getByTestId('depth-chart');
    await chart.waitFor();
    await expect
      .poll(async () => Number(await chart.getAttribute('data-samples')), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(3);
    expect(await chart.locator('canvas').count()).toBe(1);
    expect(await chart.locator('.u-legend').textContent()).toMatch(/confluence.*jira/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a page of another origin cannot call through the console: its fetch is stopped by CORS, its form post refused', async () => {
    const { page } = await watchedPage(browser);
    // A page of another origin (the simulator's, a plain JSON page without the console's CSP).
    await page.goto(`${stack.simulatorUrl}/__sim/stats`);
    const fetched = await page.evaluate(async (target) => {
      try {
        const res = await fetch(`${target}/api/queue/dead-letters/redrive`, {
          method: 'POST',
          headers: { 'x-riq-console': '1', 'content-type': 'application/json' },
          body: '{}',
        });
        return `answered ${res.status}`;
      } catch (err) {
        return `blocked: ${String(err)}`;
      }
    }, riqConsole.url);
    expect(fetched).toMatch(/^blocked: TypeError/);

    await Promise.all([
      page.waitForURL(`${riqConsole.url}/api/queue/dead-letters/redrive`),
      // Run in the page (a string: this file is typed for Node, without the DOM).
      page.evaluate(`(() => {
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = ${JSON.stringify(`${riqConsole.url}/api/queue/dead-letters/redrive`)};
        document.body.append(form);
        form.submit();
      })()`),
    ]);
    const body = await page.locator('body').textContent();
    expect(body).toMatch(/CONSOLE_FOREIGN_ORIGIN|CONSOLE_HEADER_REQUIRED/);
    await page.close();
  });
});
