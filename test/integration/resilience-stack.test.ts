/**
 * Done once and dead means in the DLQ (DESIGN invariants 2 and 4), through the whole local stack in
 * this process (one local stack per process), with the SQS emulator and the simulator poked the way
 * the outside world would: the simulator drops the connection after committing a create, SQS
 * delivers the same work message more than once, and an operator moves a dead letter back with
 * SQS alone (the console's "Start DLQ redrive"), never through RIQ's API.
 */
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { QueueKey } from '../../model/config/resources.js';
import type { SimCall, SimulatorControl } from '../../local/atlassian-sim/control.js';
import { SIMULATOR_CREDENTIALS, type LocalStack } from '../../local/stack.js';
import { localSqs } from '../support/aws-local.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

const MAX_ATTEMPTS = 4;
const run = Math.random().toString(36).slice(2, 8);

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;
let sqs: SQSClient;

beforeAll(async () => {
  ({ stack, api, control } = await startTestStack('riqres', {
    retry: { maxAttempts: MAX_ATTEMPTS, baseDelaySeconds: 1, maxDelaySeconds: 2 },
    // A create whose answer is lost is retried after this window (the simulator's search has no lag).
    upstream: { reconcileWindowSeconds: 2 },
    // The failures these tests cause on purpose must not open a breaker and slow the next test.
    breaker: { failureThreshold: 50, windowSeconds: 60, recoverySeconds: 5 },
  }));
  sqs = localSqs(stack.sqsEndpoint);
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

beforeEach(async () => {
  await control.clearFaults();
  await control.quiet();
});

afterEach(async () => {
  await control.clearFaults();
  await control.quiet();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function submit(body: Record<string, unknown>): Promise<string> {
  const answer = await api.submit(body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return String(answer.body['token']);
}

/** The same message body the submit sent, sent again: what an at-least-once SQS delivery may do. */
async function duplicateMessage(key: QueueKey, token: string, copies: number): Promise<void> {
  for (let i = 0; i < copies; i++) {
    await sqs.send(
      new SendMessageCommand({ QueueUrl: stack.queueUrls[key], MessageBody: JSON.stringify({ token }) }),
    );
  }
}

async function queueCounts(url: string): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.['ApproximateNumberOfMessages'] ?? 0),
    inFlight: Number(out.Attributes?.['ApproximateNumberOfMessagesNotVisible'] ?? 0),
  };
}

/** Waits until the workers have received and deleted every message that is not delayed. */
async function drained(key: QueueKey): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const c = await queueCounts(stack.queueUrls[key]);
    if (c.visible === 0 && c.inFlight === 0) return;
    if (Date.now() > deadline) throw new Error(`${key} still holds ${JSON.stringify(c)}`);
    await sleep(200);
  }
}

/**
 * Lets the simulator drop the connection after committing the next write (the lost answer of a
 * committed create), then no more: what the retry does decides whether a second object appears.
 */
async function dropNextCommittedWrite(): Promise<() => Promise<void>> {
  const before = (await control.stats()).dropped_after_commit;
  await control.setDropAfterCommitRate(1);
  return async () => {
    const deadline = Date.now() + 10_000;
    while ((await control.stats()).dropped_after_commit === before) {
      if (Date.now() > deadline) throw new Error('no write was dropped');
      await sleep(25);
    }
    await control.setDropAfterCommitRate(0);
  };
}

async function callsTo(method: string, pattern: RegExp): Promise<SimCall[]> {
  return (await control.stats()).calls.filter((c) => c.method === method && pattern.test(c.path));
}

/** Asks the simulated Atlassian itself (its REST API, as a person with the site's credentials would). */
async function simulatorGet<T>(path: string, init: RequestInit = {}): Promise<T> {
  const auth = Buffer.from(`${SIMULATOR_CREDENTIALS.email}:${SIMULATOR_CREDENTIALS.apiToken}`).toString(
    'base64',
  );
  const res = await fetch(`${stack.simulatorUrl!}${path}`, {
    ...init,
    headers: {
      authorization: `Basic ${auth}`,
      'content-type': 'application/json',
      accept: 'application/json',
    },
  });
  expect(res.status, `${init.method ?? 'GET'} ${path}`).toBe(200);
  return (await res.json()) as T;
}

interface JiraSearchAnswer {
  issues: Array<{ id: string; key: string; fields: { summary: string; labels?: string[] } }>;
}

async function issuesWithSummary(summary: string): Promise<JiraSearchAnswer['issues']> {
  const found = await simulatorGet<JiraSearchAnswer>('/rest/api/3/search/jql', {
    method: 'POST',
    body: JSON.stringify({ jql: `summary ~ "${run}"`, fields: ['summary', 'labels'], maxResults: 100 }),
  });
  return found.issues.filter((i) => i.fields.summary === summary);
}

describe('done once through the local stack', () => {
  it('a Jira create whose answer is lost after commit, delivered several times, makes exactly one issue', async () => {
    const summary = `Exactly once ${run}`;
    const createsBefore = (await callsTo('POST', /^\/rest\/api\/3\/issue$/)).length;
    // The create is committed by the simulator and then answered by a dropped connection.
    const dropped = await dropNextCommittedWrite();
    const token = await submit({
      operation: 'jira.create_task',
      payload: { title: summary, project_id: 'MD' },
      routing: 'queued',
    });
    // SQS may deliver a message more than once: three more copies race the original.
    await duplicateMessage('jira-normal', token, 3);
    await dropped();

    const done = await api.waitFor(token, 30_000);
    expect(done.body, JSON.stringify(done.body)).toMatchObject({ status: 'completed' });
    // The first attempt's answer was lost: the request only completed on a later one.
    expect(Number(done.body['attempts'])).toBeGreaterThanOrEqual(2);

    // More copies after it completed: each must be dropped without a call.
    await duplicateMessage('jira-normal', token, 2);
    await drained('jira-normal');

    // Removing the reconcile (the retry's search for the marker label `riq-<token>`) would show two
    // issues with this summary and two POST /issue; removing the conditional claim and the
    // finished-request check (with the idempotent call record) would let the duplicate messages
    // create more.
    const issues = await issuesWithSummary(summary);
    expect(issues, JSON.stringify(issues)).toHaveLength(1);
    expect(issues[0]!.key).toBe((done.body['result'] as { key: string }).key);
    expect(issues[0]!.fields.labels).toContain(`riq-${token}`);
    expect((await callsTo('POST', /^\/rest\/api\/3\/issue$/)).length - createsBefore).toBe(1);
    expect((await api.result(token)).body).toMatchObject({ status: 'completed' });
  }, 60_000);

  it('a Confluence page create whose answer is lost after commit, delivered several times, makes exactly one page', async () => {
    const title = `Exactly once page ${run}`;
    const dropped = await dropNextCommittedWrite();
    const token = await submit({
      operation: 'confluence.create_page',
      payload: { title, space_id: 'MD', content: '<p>once</p>' },
      routing: 'queued',
    });
    await duplicateMessage('confluence-normal', token, 3);
    await dropped();

    // Removing the reconcile (the retry's look-up of the title in the space) would make the retry's
    // create answer Confluence's 400 "a page with this title already exists": the request would end
    // `failed` with VALIDATION_ERROR instead of adopting the page the lost attempt made.
    const done = await api.waitFor(token, 30_000);
    expect(done.body, JSON.stringify(done.body)).toMatchObject({ status: 'completed' });
    expect(Number(done.body['attempts'])).toBeGreaterThanOrEqual(2);
    await duplicateMessage('confluence-normal', token, 2);
    await drained('confluence-normal');

    const pages = await simulatorGet<{ results: Array<{ id: string; title: string }> }>(
      `/wiki/api/v2/pages?title=${encodeURIComponent(title)}`,
    );
    expect(pages.results.filter((p) => p.title === title)).toHaveLength(1);
    expect(pages.results[0]!.id).toBe((done.body['result'] as { id: string }).id);
    expect(await callsTo('POST', /^\/wiki\/api\/v2\/pages$/)).toHaveLength(1);
  }, 60_000);
});

describe('dead letters redriven by SQS alone', () => {
  it('a message the console moves from the DLQ back to its queue finds its record dead and completes it', async () => {
    const created = await api.waitFor(
      await submit({ operation: 'jira.create_task', payload: { title: `DLQ ${run}`, project_id: 'MD' } }),
    );
    expect(created.body['status'], JSON.stringify(created.body)).toBe('completed');
    const issueKey = (created.body['result'] as { key: string }).key;

    const key: QueueKey = 'jira-low';
    await control.addFault({ method: 'GET', path: `^/rest/api/3/issue/${issueKey}$`, status: 503 });
    const token = await submit({
      operation: 'jira.get_task',
      payload: { task_id: issueKey },
      priority: 'low',
      fresh: true,
      routing: 'queued',
    });
    const dead = await api.waitFor(token, 30_000);
    expect(dead.body, JSON.stringify(dead.body)).toMatchObject({ status: 'dead', attempts: MAX_ATTEMPTS });

    // SQS's redrive policy moves the released message on its next receive.
    const deadline = Date.now() + 15_000;
    let inDlq = await queueCounts(stack.deadLetterQueueUrls[key]);
    while (inDlq.visible === 0 && Date.now() < deadline) {
      await sleep(200);
      inDlq = await queueCounts(stack.deadLetterQueueUrls[key]);
    }
    expect(inDlq.visible, 'the dead message reached the DLQ').toBeGreaterThanOrEqual(1);
    await control.clearFaults();

    // The console's redrive: each DLQ message's body goes back to the source queue unchanged and is
    // deleted from the DLQ (StartMessageMoveTask, which the emulator lacks, does the same).
    const moved: string[] = [];
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: stack.deadLetterQueueUrls[key],
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      for (const m of messages) {
        await sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrls[key], MessageBody: m.Body! }));
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: stack.deadLetterQueueUrls[key],
            ReceiptHandle: m.ReceiptHandle!,
          }),
        );
        moved.push(String((JSON.parse(m.Body!) as { token?: string }).token));
      }
    }
    expect(moved).toContain(token);

    // Removing the mechanism (a claim that treats `dead` as finished, or that leaves the spent
    // attempts in place) would leave the record `dead`: the redriven message would be dropped as a
    // duplicate of a finished request, or die again at once without a call.
    const redrivenAt = Date.now();
    let after = await api.result(token);
    for (let i = 0; i < 100 && after.body['status'] === 'dead'; i++) {
      await sleep(100);
      after = await api.result(token);
    }
    const done = await api.waitFor(token, 20_000);
    expect(done.body, JSON.stringify(done.body)).toMatchObject({ status: 'completed', attempts: 1 });
    expect((done.body['result'] as { key: string }).key).toBe(issueKey);
    const reads = (await callsTo('GET', new RegExp(`^/rest/api/3/issue/${issueKey}$`))).filter(
      (c) => c.at >= redrivenAt,
    );
    expect(reads.map((c) => c.status)).toEqual([200]);
    expect(await queueCounts(stack.deadLetterQueueUrls[key])).toEqual({ visible: 0, inFlight: 0 });
  }, 60_000);
});
