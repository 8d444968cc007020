/**
 * Done once (DESIGN invariant 2): a create whose answer is lost after Atlassian committed it (the
 * simulator's drop-after-commit) is not created again by the retry; the retry finds and adopts it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AtlassianExecutor } from '../../../lambdas/atlassian/operation-executor.js';
import { UpstreamError } from '../../../lambdas/core/errors.js';
import { SimulatorControl } from '../../../local/atlassian-sim/control.js';
import { startAtlassianSimulator, type AtlassianSimulator } from '../../../local/atlassian-sim/server.js';

const credentials = { email: 'riq@example.com', apiToken: 'local-token' };
let sim: AtlassianSimulator;
let control: SimulatorControl;
let executor: AtlassianExecutor;

beforeAll(async () => {
  sim = await startAtlassianSimulator({ port: 0, ...credentials });
  control = new SimulatorControl(sim.url);
  executor = new AtlassianExecutor({ jiraBaseUrl: sim.url, auth: credentials, timeoutMs: 5_000 });
});

afterAll(async () => {
  await sim?.stop();
});

beforeEach(async () => {
  await control.reset();
  await control.quiet();
});

async function lostAnswer(run: () => Promise<unknown>): Promise<void> {
  await control.setDropAfterCommitRate(1);
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  await control.setDropAfterCommitRate(0);
  expect(err).toBeInstanceOf(UpstreamError);
  expect((err as UpstreamError).retryable).toBe(true);
}

describe('a retried create adopts what the lost attempt created', () => {
  it('jira.create_task: one issue, found by its marker label, which results do not show', async () => {
    const payload = { title: 'Exactly once', project_id: 'MD', labels: ['ops'] };
    const token = `req_${'a'.repeat(32)}`;
    await lostAnswer(() => executor.execute('jira.create_task', payload, { token, attempt: 1 }));
    expect((await control.stats()).created.issues).toBe(1);

    const retried = (await executor.execute('jira.create_task', payload, { token, attempt: 2 })) as {
      key: string;
    };
    expect((await control.stats()).created.issues).toBe(1);
    const issue = (await executor.execute('jira.get_task', { task_id: retried.key }, { token: 't' })) as {
      summary: string;
      labels: string[];
    };
    expect(issue).toMatchObject({ summary: 'Exactly once', labels: ['ops'] });
  });

  it('jira.create_task: another request with the same fields still creates its own issue', async () => {
    const payload = { title: 'Twins', project_id: 'MD' };
    await executor.execute('jira.create_task', payload, { token: `req_${'b'.repeat(32)}`, attempt: 1 });
    await executor.execute('jira.create_task', payload, { token: `req_${'c'.repeat(32)}`, attempt: 2 });
    expect((await control.stats()).created.issues).toBe(2);
  });

  it('confluence.create_page: one page, found by its title in the space', async () => {
    const payload = { title: 'Exactly once page', space_id: 'MD', content: '<p>x</p>' };
    const token = `req_${'d'.repeat(32)}`;
    await lostAnswer(() => executor.execute('confluence.create_page', payload, { token, attempt: 1 }));
    expect((await control.stats()).created.pages).toBe(1);
    const retried = await executor.execute('confluence.create_page', payload, { token, attempt: 2 });
    expect(retried).toMatchObject({ title: 'Exactly once page', space_key: 'MD', version: 1 });
    expect((await control.stats()).created.pages).toBe(1);
  });
});
