/**
 * The operator's journeys in Chromium through `riq console`, on requests that died for real: a Jira
 * read and a Confluence read, each answered 503 on its 4 attempts (one death per service, so neither
 * breaker reaches its 5 failures). The requests view pages through them; the Confluence one is
 * found, opened, its timeline read, retried once the simulator is healthy, and seen completed; the
 * Jira one is purged after a confirm, and the queues redriven.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { RiqHttp } from '../support/riq-http.js';
import { launchBrowser, startRiqConsole, watchedPage, type RunningRiqConsole } from './browser.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const sim = new SimulatorControl(stack.simulatorUrl ?? '');

async function completed(
  operation: string,
  payload: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const sub = await api.submit({ operation, payload });
  expect(sub.status, JSON.stringify(sub.body)).toBe(200);
  const done = await api.waitFor(String(sub.body['token']));
  expect(done.body['status'], JSON.stringify(done.body)).toBe('completed');
  return done.body['result'] as Record<string, unknown>;
}

/** A read whose every attempt Atlassian answers 503 (the fault stays until the test clears it). */
async function deadRead(operation: string, payload: Record<string, unknown>, path: string): Promise<string> {
  await sim.addFault({ method: 'GET', path, status: 503 });
  const sub = await api.submit({ operation, payload, priority: 'low', fresh: true });
  expect(sub.status, JSON.stringify(sub.body)).toBe(200);
  const token = String(sub.body['token']);
  const dead = await api.waitFor(token, 90_000);
  expect(dead.body, token).toMatchObject({ status: 'dead', attempts: 4 });
  return token;
}

describe('console: dead requests', () => {
  let browser: Browser;
  let riqConsole: RunningRiqConsole;
  let page: Page;
  let problems: string[];
  let deadJira: string;
  let deadConfluence: string;

  beforeAll(async () => {
    const [issue, confluencePage] = await Promise.all([
      completed('jira.create_task', { title: 'console journey', project_id: 'MD' }),
      completed('confluence.create_page', { title: 'console journey', space_id: 'MD', content: '<p>x</p>' }),
    ]);
    [deadJira, deadConfluence] = await Promise.all([
      deadRead('jira.get_task', { task_id: issue['key'] }, `^/rest/api/3/issue/${String(issue['key'])}$`),
      deadRead(
        'confluence.get_page',
        { page_id: confluencePage['id'] },
        `^/wiki/api/v2/pages/${String(confluencePage['id'])}$`,
      ),
    ]);
    await sim.clearFaults();
    browser = await launchBrowser();
    riqConsole = await startRiqConsole(stack.url);
  }, 180_000);
  beforeEach(async () => {
    ({ page, problems } = await watchedPage(browser));
  });
  afterEach(async () => {
    await page.close();
    expect(problems).toEqual([]);
  });
  afterAll(async () => {
    await sim.clearFaults();
    await browser?.close();
    await riqConsole?.stop();
  });

  it('the requests view lists dead requests a page at a time', async () => {
    await page.goto(`${riqConsole.url}/#/requests?status=dead&limit=1`);
    const seen: string[] = [];
    const next = page.getByRole('button', { name: 'Next →' });
    let pageNo = 1;
    for (; pageNo <= 5; pageNo++) {
      // The rows of that page (the table names the page its rows were loaded for).
      await page.locator(`[data-page="${pageNo}"]`).waitFor();
      const rows = page.locator(`[data-testid="requests"][data-page="${pageNo}"] tbody tr`);
      expect(await rows.count()).toBeLessThanOrEqual(1);
      seen.push(...(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-token') ?? ''))));
      if (await next.isDisabled()) break;
      await next.click();
    }
    expect(seen.sort()).toEqual([deadJira, deadConfluence].sort());
    await page.getByRole('button', { name: '← Previous' }).click();
    await page.locator(`[data-page="${pageNo - 1}"]`).waitFor();
  });

  it('a dead request is found, opened, its timeline read, retried once Confluence is healthy, and seen completed', async () => {
    await page.goto(riqConsole.url);
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.getByRole('tab', { name: 'dead' }).click();
    await page.getByPlaceholder('jira.create_task').fill('confluence.get_page');
    await page.getByRole('button', { name: 'Filter' }).click();
    const row = page.locator(`tr[data-token="${deadConfluence}"]`);
    await row.waitFor();
    await expect.poll(() => page.getByTestId('requests').locator('tbody tr').count()).toBe(1);
    expect(page.url()).toBe(`${riqConsole.url}/#/requests?status=dead&operation=confluence.get_page`);
    expect(await row.locator('td').allTextContents()).toEqual([
      deadConfluence,
      'dead',
      'confluence.get_page',
      'low',
      '4',
      expect.any(String),
      expect.any(String),
      expect.stringMatching(/^SERVICE_UNAVAILABLE/),
    ]);

    await row.getByRole('link', { name: deadConfluence }).click();
    await page.waitForURL(`${riqConsole.url}/#/requests/${deadConfluence}`);
    await expect.poll(() => page.getByTestId('request-status').textContent()).toBe('dead');
    const events = () =>
      page
        .getByTestId('timeline')
        .locator('tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent ?? '')),
        );
    const before = await events();
    expect(before[0]).toEqual(['submitted', '', '']);
    expect(before.filter(([event]) => event === 'failed_attempt')).toEqual([
      ['failed_attempt', '1', '503'],
      ['failed_attempt', '2', '503'],
      ['failed_attempt', '3', '503'],
    ]);
    expect(before.at(-1)).toEqual(['dead', '4', '503']);

    await page.getByRole('button', { name: 'Retry this request' }).click();
    await expect
      .poll(() => page.getByTestId('request-notice').textContent())
      .toBe('queued again in confluence-low');
    await expect
      .poll(() => page.getByTestId('request-status').textContent(), { timeout: 60_000 })
      .toBe('completed');
    const after = await events();
    expect(after.map(([event]) => event)).toEqual(expect.arrayContaining(['retried', 'succeeded']));
    expect(after.at(-1)?.[0]).toBe('succeeded');
    expect(await page.getByTestId('request-attempts').textContent()).toBe('1');

    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByTestId('dead-letters').or(page.getByTestId('dead-letters-empty')).waitFor();
    expect(await page.locator(`tr[data-token="${deadConfluence}"]`).count()).toBe(0);
  });

  it('dead letters: a dead request is listed with its error; purge asks first, then deletes it; redrive reports the queues', async () => {
    await page.goto(`${riqConsole.url}/#/dead-letters?service=jira`);
    const row = page.locator(`tr[data-token="${deadJira}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 5)).toEqual([
      deadJira,
      'jira.get_task',
      'low',
      '4',
      expect.stringMatching(/^SERVICE_UNAVAILABLE/),
    ]);

    await row.getByRole('button', { name: 'Purge' }).click();
    expect(await row.textContent()).toContain('Purge for good?');
    await row.getByRole('button', { name: 'Cancel' }).click();
    expect((await api.result(deadJira)).body['status']).toBe('dead');

    await row.getByRole('button', { name: 'Purge' }).click();
    await row.getByRole('button', { name: 'Yes, purge' }).click();
    await expect.poll(() => page.getByTestId('dead-letters-notice').textContent()).toBe(`${deadJira} purged`);
    await row.waitFor({ state: 'detached' });
    expect((await api.result(deadJira)).status).toBe(404);

    await page.getByRole('button', { name: 'Redrive jira dead-letter queues' }).click();
    await expect
      .poll(() => page.getByTestId('dead-letters-notice').textContent())
      .toMatch(
        /^redrive started: jira-high copy \(\d+ moved\), jira-normal copy \(\d+ moved\), jira-low copy \(\d+ moved\)$/,
      );
  });

  it('an API refusal is shown with its code', async () => {
    await page.goto(`${riqConsole.url}/#/dead-letters?service=bitbucket`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.getAttribute('data-code')).toBe('VALIDATION_ERROR');
    problems.length = 0; // the browser logs the 400 as a failed load
  });
});
