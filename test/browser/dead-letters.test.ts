/**
 * The dead-letters view in Chromium through `riq console`: a request that died for real (Jira answering
 * 503 to its 4 attempts) is listed with its error; purge asks first, then deletes it; redrive
 * reports what it moved.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { RiqHttp } from '../support/riq-http.js';
import { launchBrowser, startRiqConsole, watchedPage, type RunningRiqConsole } from './browser.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const sim = new SimulatorControl(stack.simulatorUrl ?? '');

/** A Jira read that dies: every attempt answered 503. */
async function deadJiraRead(issueKey: string): Promise<string> {
  await sim.addFault({ method: 'GET', path: `^/rest/api/3/issue/${issueKey}$`, status: 503 });
  const sub = await api.submit({
    operation: 'jira.get_task',
    payload: { task_id: issueKey },
    priority: 'low',
    fresh: true,
  });
  expect(sub.status, JSON.stringify(sub.body)).toBe(200);
  const token = String(sub.body['token']);
  const dead = await api.waitFor(token, 60_000);
  expect(dead.body).toMatchObject({ status: 'dead', attempts: 4 });
  await sim.clearFaults();
  return token;
}

describe('console dead letters', () => {
  let browser: Browser;
  let riqConsole: RunningRiqConsole;
  let page: Page;
  let problems: string[];
  let issueKey: string;

  beforeAll(async () => {
    const created = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'console dead letters', project_id: 'MD' },
    });
    const done = await api.waitFor(String(created.body['token']));
    issueKey = String((done.body['result'] as { key: string }).key);
    browser = await launchBrowser();
    riqConsole = await startRiqConsole(stack.url);
  });
  afterEach(async () => {
    await sim.clearFaults();
    expect(problems).toEqual([]);
    await page.close();
  });
  afterAll(async () => {
    await browser?.close();
    await riqConsole?.stop();
  });

  it('lists a dead request with its error; purge asks first, then deletes it; redrive reports the queues', async () => {
    const token = await deadJiraRead(issueKey);
    ({ page, problems } = await watchedPage(browser));
    await page.goto(`${riqConsole.url}/#/dead-letters?service=jira`);
    const row = page.locator(`tr[data-token="${token}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 5)).toEqual([
      token,
      'jira.get_task',
      'low',
      '4',
      expect.stringMatching(/^SERVICE_UNAVAILABLE/),
    ]);

    await row.getByRole('button', { name: 'Purge' }).click();
    expect(await row.textContent()).toContain('Purge for good?');
    await row.getByRole('button', { name: 'Cancel' }).click();
    expect((await api.result(token)).body['status']).toBe('dead');

    await row.getByRole('button', { name: 'Purge' }).click();
    await row.getByRole('button', { name: 'Yes, purge' }).click();
    await expect.poll(() => page.getByTestId('dead-letters-notice').textContent()).toBe(`${token} purged`);
    await row.waitFor({ state: 'detached' });
    expect((await api.result(token)).status).toBe(404);

    await page.getByRole('button', { name: 'Redrive jira dead-letter queues' }).click();
    await expect
      .poll(() => page.getByTestId('dead-letters-notice').textContent())
      .toMatch(
        /^redrive started: jira-high copy \(\d+ moved\), jira-normal copy \(\d+ moved\), jira-low copy \(\d+ moved\)$/,
      );
  });

  it('an API refusal is shown with its code', async () => {
    ({ page, problems } = await watchedPage(browser));
    await page.goto(`${riqConsole.url}/#/dead-letters?service=jira`);
    await page.getByTestId('dead-letters-empty').or(page.getByTestId('dead-letters')).waitFor();
    // The select offers only real services; a hand-edited link asks the API for another one.
    await page.goto(`${riqConsole.url}/#/dead-letters?service=bitbucket`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.getAttribute('data-code')).toBe('VALIDATION_ERROR');
    problems.length = 0; // the 400 is logged by the browser as a failed load
  });
});
