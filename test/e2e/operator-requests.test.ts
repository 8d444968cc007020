/**
 * The operator's request routes and the timeline through the local stack, with the TypeScript
 * client: `listRequests` and `getRequest`, the caller's result with its timeline, and every 4xx.
 *
 * Listed requests are stored `dead` by the store itself (as the worker leaves them): a dead record
 * stays put, where a queued one would be taken by a worker or the sweeper while the test reads it.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { QueueClient, RiqApiError, type RequestSummary } from '../../client/index.js';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import { newRequestToken } from '../../lambdas/core/domain/tokens.js';
import type { RequestRecord } from '../../model/request-record.js';
import { localDynamo } from '../support/aws-local.js';

const stack = inject('stack');
const client = new QueueClient({ endpoint: stack.url, retryBaseDelayMs: 100 });
const stranger = new QueueClient({
  endpoint: stack.url,
  caller: 'arn:aws:sts::000000000000:assumed-role/riq-local-app/someone',
  retries: 0,
});
const store = new DynamoRequestStore(localDynamo(stack.dynamoEndpoint).doc, stack.tableName, 86400);
const run = Math.random().toString(36).slice(2, 8);
const made: string[] = [];

afterAll(async () => {
  for (const token of made) await client.purgeDeadLetter(token).catch(() => undefined);
});

/** A dead Confluence record of another owner, as the store writes it. */
async function deadRequest(n: number): Promise<RequestRecord> {
  const at = new Date(Date.now() + n).toISOString();
  const record: RequestRecord = {
    token: newRequestToken(),
    owner: `arn:aws:iam::000000000000:user/other-${run}`,
    operation: 'confluence.update_page',
    service: 'confluence',
    priority: 'low',
    payload: { page_id: `${run}-${n}`, title: 'T', body: 'B' },
    status: 'dead',
    routing_path: 'QUEUED',
    attempts: 4,
    created_at: at,
    updated_at: at,
    error: { code: 'SERVICE_UNAVAILABLE', message: 'HTTP 503', retryable: true, details: { status: 503 } },
  };
  await store.insert(record);
  made.push(record.token);
  return record;
}

async function apiError(call: Promise<unknown>): Promise<RiqApiError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RiqApiError)) throw new Error(`expected an API error, got ${String(err)}`);
  return err;
}

describe('operator request routes', () => {
  it('lists dead requests of any owner by status and operation, paged, oldest first, without payloads', async () => {
    const records = [await deadRequest(1), await deadRequest(2), await deadRequest(3)];
    const seen: RequestSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listRequests({
        status: 'dead',
        operation: 'confluence.update_page',
        service: 'confluence',
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.requests.length).toBeLessThanOrEqual(2);
      seen.push(...page.requests);
      cursor = page.next_cursor;
    } while (cursor);
    const ours = seen.filter((s) => made.includes(s.token));
    expect(ours.map((s) => s.token)).toEqual(records.map((r) => r.token));
    expect(ours[0]).toEqual({
      token: records[0]!.token,
      status: 'dead',
      service: 'confluence',
      operation: 'confluence.update_page',
      priority: 'low',
      attempts: 4,
      created_at: records[0]!.created_at,
      updated_at: records[0]!.updated_at,
      last_error: records[0]!.error,
    });
    // Without a status, the dead ones come after the other listed statuses, still there.
    const all: RequestSummary[] = [];
    cursor = undefined;
    do {
      const page = await client.listRequests({
        operation: 'confluence.update_page',
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...page.requests);
      cursor = page.next_cursor;
    } while (cursor);
    expect(all.filter((s) => made.includes(s.token)).map((s) => s.token)).toEqual(
      records.map((r) => r.token),
    );
  });

  it("shows one request of any owner with its timeline, which goes on after an operator's retry", async () => {
    const record = await deadRequest(4);
    const view = await client.getRequest(record.token);
    expect(view).toMatchObject({
      token: record.token,
      status: 'dead',
      owner: record.owner,
      routing_path: 'QUEUED',
      last_error: record.error,
      timeline: [{ at: record.created_at, event: 'submitted' }],
    });
    expect(view).not.toHaveProperty('payload');
    expect(view).not.toHaveProperty('result');
    // The retry sends it to the worker, which calls the simulator (no such page: failed at once).
    await client.retryDeadLetter(record.token);
    const events: string[] = [];
    for (let i = 0; i < 100; i++) {
      const now = await client.getRequest(record.token);
      events.splice(0, events.length, ...now.timeline.map((e) => e.event));
      if (now.status === 'failed' || now.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(events.slice(0, 3)).toEqual(['submitted', 'retried', 'attempt_started']);
    expect(['failed', 'succeeded', 'failed_attempt']).toContain(events.at(-1));
  });

  it("answers the caller's result with its timeline: submitted, the call, success", async () => {
    const answer = await client.submit(
      'jira.create_task',
      { title: `Timeline ${run}`, project_id: 'MD', labels: [`timeline-${run}`] },
      { routing: 'queued' },
    );
    if (answer.status === 'cached') throw new Error('a write is never cached');
    const view = await client.waitForResult(answer.token, { timeoutMs: 30_000 });
    expect(view.status).toBe('completed');
    expect(view.timeline.map((e) => e.event)).toEqual(['submitted', 'attempt_started', 'succeeded']);
    expect(view.timeline.at(-1)).toMatchObject({ attempt: 1 });
    const times = view.timeline.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // The operator sees the same timeline.
    expect((await client.getRequest(answer.token)).timeline).toEqual(view.timeline);
  });

  it('refuses bad input with a precise 4xx', async () => {
    const invalid = await apiError(client.listRequests({ status: 'completed' as 'dead' }));
    expect(invalid).toMatchObject({ status: 400, code: 'INVALID_STATUS', retryable: false });
    expect(invalid.message).toContain('processing, queued, waiting, dead');
    const typo = await apiError(client.listRequests({ operation: 'confluence.update_pag' }));
    expect(typo).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    expect(typo.message).toContain('did you mean confluence.update_page?');
    for (const options of [{ limit: 0 }, { limit: 101 }, { cursor: 'bogus!' }, { service: 'bitbucket' }]) {
      expect(await apiError(client.listRequests(options)), JSON.stringify(options)).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
      });
    }
    for (const token of [newRequestToken(), 'req_nope', 'not-a-token']) {
      expect(await apiError(client.getRequest(token)), token).toMatchObject({
        status: 404,
        code: 'NOT_FOUND',
      });
    }
  });

  it('answers only the operator: anyone else gets 403 PERMISSION_DENIED', async () => {
    const record = await deadRequest(5);
    expect(await apiError(stranger.listRequests({ status: 'dead' }))).toMatchObject({
      status: 403,
      code: 'PERMISSION_DENIED',
    });
    expect(await apiError(stranger.getRequest(record.token))).toMatchObject({
      status: 403,
      code: 'PERMISSION_DENIED',
    });
  });
});
