/**
 * The operator's dead-letter lifecycle through the local stack.
 *
 * One request dies for real (Confluence, 4 attempts answered 503) and is redriven through the API.
 * The retry and purge cases start from dead records written as the worker leaves them: another
 * real Jira death would put 4 more failures in the Jira breaker's 60 s window, and the failures
 * test that runs next would open it.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { newRequestToken } from '../../lambdas/core/domain/tokens.js';
import { REQUESTS_TABLE } from '../../model/config/resources.js';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { localDynamo, localSqs } from '../support/aws-local.js';
import { RiqHttp, type HttpAnswer } from '../support/riq-http.js';

const stack = inject('stack');
const api = new RiqHttp(stack.url);
const sim = new SimulatorControl(stack.simulatorUrl ?? '');
const dynamo = localDynamo(stack.dynamoEndpoint).doc;
const run = Math.random().toString(36).slice(2, 8);

afterEach(() => sim.clearFaults());

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

/** A dead Jira record exactly as the worker leaves it after its last attempt. */
async function deadRecord(issueKey: string): Promise<string> {
  const token = newRequestToken();
  const now = new Date().toISOString();
  await dynamo.send(
    new PutCommand({
      TableName: stack.tableName,
      Item: {
        pk: `REQ#${token}`,
        token,
        owner: 'arn:aws:iam::000000000000:user/local-developer',
        operation: 'jira.get_task',
        service: 'jira',
        priority: 'low',
        payload: { task_id: issueKey },
        status: 'dead',
        // As the store writes it: the by-status index lists the request.
        [REQUESTS_TABLE.statusIndex.partitionKey]: 'dead',
        routing_path: 'QUEUED',
        attempts: 4,
        created_at: now,
        updated_at: now,
        error: { code: 'SERVICE_UNAVAILABLE', message: 'HTTP 503', retryable: true, details: { attempt: 4 } },
      },
    }),
  );
  return token;
}

async function allDeadTokens(query: string): Promise<string[]> {
  const tokens: string[] = [];
  let cursor: string | null = null;
  do {
    const page: HttpAnswer = await api.raw(
      'GET',
      `/api/queue/dead-letters?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    tokens.push(...(page.body['dead_letters'] as Array<{ token: string }>).map((d) => d.token));
    cursor = page.body['next_cursor'] as string | null;
  } while (cursor);
  return tokens;
}

describe('dead letters', () => {
  let issueKey: string;
  let pageId: string;

  beforeAll(async () => {
    issueKey = String(
      (await completed('jira.create_task', { title: `DLQ ${run}`, project_id: 'MD' }))['key'],
    );
    pageId = String(
      (
        await completed('confluence.create_page', {
          title: `DLQ ${run}`,
          space_id: 'MD',
          content: '<p>dead letters</p>',
        })
      )['id'],
    );
  });

  it('a request dead after its last attempt is listed, then redriven through the API and completes', async () => {
    await sim.addFault({ method: 'GET', path: `^/wiki/api/v2/pages/${pageId}$`, status: 503 });
    const sub = await api.submit({
      operation: 'confluence.get_page',
      payload: { page_id: pageId },
      priority: 'low',
      fresh: true,
    });
    const token = String(sub.body['token']);
    const dead = await api.waitFor(token, 45_000);
    expect(dead.body).toMatchObject({ status: 'dead', attempts: 4 });

    const listed = await api.raw('GET', '/api/queue/dead-letters?service=confluence&limit=100');
    expect(listed.status).toBe(200);
    expect(listed.body['dead_letters']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          token,
          service: 'confluence',
          operation: 'confluence.get_page',
          attempts: 4,
          error: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE' }),
        }),
      ]),
    );
    expect(await allDeadTokens('service=jira&limit=100')).not.toContain(token);

    // SQS's redrive moves the released message on its next receive.
    for (let i = 0; i < 40; i++) {
      const health = await api.raw('GET', '/api/queue/health');
      const services = health.body['services'] as Record<
        string,
        { queues: Record<string, { dead_letter_queue: number }> }
      >;
      if ((services['confluence']?.queues['low']?.dead_letter_queue ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    await sim.clearFaults();
    const redrive = await api.raw(
      'POST',
      '/api/queue/dead-letters/redrive',
      JSON.stringify({ service: 'confluence' }),
    );
    expect(redrive.status, JSON.stringify(redrive.body)).toBe(202);
    const redrives = redrive.body['redrives'] as Array<{ queue: string; mode: string; moved: number }>;
    expect(redrives.map((r) => r.queue)).toEqual(['confluence-high', 'confluence-normal', 'confluence-low']);
    expect(redrives.every((r) => r.mode === 'copy')).toBe(true);
    expect(redrives.find((r) => r.queue === 'confluence-low')?.moved).toBeGreaterThanOrEqual(1);

    // `dead` is terminal for a waiting caller: poll until the worker has taken the redriven message.
    let done = await api.result(token);
    for (let i = 0; i < 60 && done.body['status'] === 'dead'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      done = await api.result(token);
    }
    done = await api.waitFor(token);
    expect(done.body).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await allDeadTokens('service=confluence&limit=100')).not.toContain(token);
  });

  it('retry puts a dead request back in its queue with a full set of attempts, once', async () => {
    const token = await deadRecord(issueKey);
    const retried = await api.raw('POST', `/api/queue/dead-letters/${token}/retry`);
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    expect(retried.body).toEqual({ token, status: 'queued', attempts: 0, queue: 'jira-low', enqueued: true });

    const done = await api.waitFor(token);
    expect(done.body).toMatchObject({ status: 'completed', attempts: 1 });
    expect((done.body['result'] as { key: string }).key).toBe(issueKey);

    const again = await api.raw('POST', `/api/queue/dead-letters/${token}/retry`);
    expect(again.status).toBe(409);
    expect(again.body['error']).toMatchObject({ code: 'NOT_DEAD', details: { status: 'completed' } });
  });

  it('health is healthy again once a dead request is retried, though its copy stays in the dead-letter queue', async () => {
    const token = await deadRecord(issueKey);
    // The worker's own copy of a request it gave up on (WorkQueue.sendToDeadLetter).
    await localSqs(stack.sqsEndpoint).send(
      new SendMessageCommand({
        QueueUrl: stack.deadLetterQueueUrls['jira-low'],
        MessageBody: JSON.stringify({ token, dead_letter: true }),
      }),
    );
    const before = await api.raw('GET', '/api/queue/health');
    expect(before.body).toMatchObject({ status: 'degraded', dead_letters: 1 });
    expect(before.body['reasons']).toEqual(['1 dead request(s) wait for an operator']);

    expect((await api.raw('POST', `/api/queue/dead-letters/${token}/retry`)).status).toBe(202);
    expect((await api.waitFor(token)).body).toMatchObject({ status: 'completed' });

    const after = await api.raw('GET', '/api/queue/health');
    expect(after.body).toMatchObject({ status: 'healthy', reasons: [], dead_letters: 0 });
    const queues = (
      after.body['services'] as Record<string, { queues: Record<string, { dead_letter_queue: number }> }>
    )['jira']!.queues;
    expect(queues['low']!.dead_letter_queue).toBeGreaterThanOrEqual(1);
  });

  it('purge deletes a dead request and nothing else', async () => {
    const token = await deadRecord(issueKey);
    expect(await allDeadTokens('limit=1')).toContain(token);

    const purged = await api.raw('DELETE', `/api/queue/dead-letters/${token}`);
    expect(purged.status, JSON.stringify(purged.body)).toBe(200);
    expect(purged.body).toEqual({ token, purged: true });
    expect((await api.result(token)).status).toBe(404);
    expect(await allDeadTokens('limit=100')).not.toContain(token);

    const gone = await api.raw('DELETE', `/api/queue/dead-letters/${token}`);
    expect(gone.status).toBe(404);
    expect(gone.body['error']).toMatchObject({ code: 'NOT_FOUND' });
    expect((await api.raw('POST', `/api/queue/dead-letters/${newRequestToken()}/retry`)).status).toBe(404);
  });

  it('answers only the operator: any other caller gets 403 PERMISSION_DENIED and changes nothing', async () => {
    const token = await deadRecord(issueKey);
    const other = api.as('arn:aws:sts::000000000000:assumed-role/riq-local-app/someone');
    for (const [method, path, body] of [
      ['GET', '/api/queue/dead-letters?service=jira&limit=100', undefined],
      ['POST', `/api/queue/dead-letters/${token}/retry`, undefined],
      ['DELETE', `/api/queue/dead-letters/${token}`, undefined],
      ['POST', '/api/queue/dead-letters/redrive', '{"service":"jira"}'],
    ] as const) {
      const answer = await other.raw(method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body['error'], `${method} ${path}`).toMatchObject({
        code: 'PERMISSION_DENIED',
        retryable: false,
      });
    }
    // Still dead and listed for the operator, who purges it.
    expect(await allDeadTokens('service=jira&limit=100')).toContain(token);
    expect((await api.raw('DELETE', `/api/queue/dead-letters/${token}`)).status).toBe(200);
  });

  it('refuses bad input with a precise 4xx and changes nothing', async () => {
    const token = await deadRecord(issueKey);
    const cases: Array<[string, string, string | undefined, string]> = [
      ['GET', '/api/queue/dead-letters?limit=0', undefined, 'limit'],
      ['GET', '/api/queue/dead-letters?limit=abc', undefined, 'limit'],
      ['GET', '/api/queue/dead-letters?service=bitbucket', undefined, 'service'],
      ['GET', '/api/queue/dead-letters?cursor=bogus!', undefined, 'cursor'],
      ['GET', '/api/queue/dead-letters?page=2', undefined, 'page'],
      ['POST', `/api/queue/dead-letters/${'x'.repeat(129)}/retry`, undefined, 'token'],
      ['DELETE', '/api/queue/dead-letters/req_%0D', undefined, 'token'],
      ['POST', '/api/queue/dead-letters/redrive', '{"service":"bitbucket"}', 'service'],
      ['POST', '/api/queue/dead-letters/redrive', '{"queue":"jira-low"}', 'queue'],
      ['POST', '/api/queue/dead-letters/redrive', 'not json', 'body'],
    ];
    for (const [method, path, body, field] of cases) {
      const answer = await api.raw(method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.body['error'], `${method} ${path}`).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { field },
      });
    }
    // A segment that could be a token but names none is an unknown token: 404.
    for (const [method, path] of [
      ['POST', '/api/queue/dead-letters/not-a-token/retry'],
      ['DELETE', '/api/queue/dead-letters/req_abc123'],
    ] as const) {
      const answer = await api.raw(method, path);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body['error'], `${method} ${path}`).toMatchObject({ code: 'NOT_FOUND' });
    }
    const still = await allDeadTokens('service=jira&limit=100');
    expect(still).toContain(token);
    // Leave no dead record behind for the tests that follow.
    expect((await api.raw('DELETE', `/api/queue/dead-letters/${token}`)).status).toBe(200);
  });
});
