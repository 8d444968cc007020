/**
 * The local stack in OAuth mode, in this process (`startLocalStack({simulatorAuth: 'oauth'})`, as
 * `RIQ_SIM_AUTH=oauth npm start` runs it): the real worker handler reads its connection from the
 * environment the stack sets and calls the simulator's gateway routes with Bearer tokens.
 * One local stack per process (the handlers read the environment once), so this file has its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../model/config/riq-config.js';
import { SimulatorControl } from '../../../local/atlassian-sim/control.js';
import { DEFAULT_SIM_OAUTH } from '../../../local/atlassian-sim/oauth-routes.js';
import { startLocalStack, type LocalStack } from '../../../local/stack.js';
import { RiqHttp } from '../../support/riq-http.js';

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;

beforeAll(async () => {
  stack = await startLocalStack({
    config: resolveConfig({ stage: 'local', namePrefix: 'riqoauth' }),
    apiPort: 0,
    simulatorAuth: 'oauth',
  });
  api = new RiqHttp(stack.url);
  control = new SimulatorControl(stack.simulatorUrl!);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('the local stack with simulatorAuth: oauth', () => {
  it('runs queued Jira operations through the gateway with refreshed Bearer tokens', async () => {
    const created = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'Hello over OAuth', project_id: 'MD' },
    });
    expect(created.status).toBe(200);
    const done = await api.waitFor(String(created.body['token']));
    expect(done.body).toMatchObject({ status: 'completed' });
    const issue = done.body['result'] as { key: string; url: string };
    expect(issue.url).toBe(`${stack.simulatorUrl}/browse/${issue.key}`);

    const stats = await control.stats();
    expect(stats.oauth_refreshes).toBe(1);
    const paths = stats.calls.map((c) => c.path);
    expect(paths).toContain(`/ex/jira/${DEFAULT_SIM_OAUTH.cloudId}/rest/api/3/issue`);
    expect(paths.filter((p) => p.startsWith('/rest/'))).toEqual([]);
  });

  it('recovers from revoked access tokens with one refresh', async () => {
    await control.expireAuth();
    const read = await api.submit({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, fresh: true });
    const got = await api.waitFor(String(read.body['token']));
    expect(got.body).toMatchObject({ status: 'completed', attempts: 1 });
    expect((await control.stats()).oauth_refreshes).toBe(2);
  });
});
