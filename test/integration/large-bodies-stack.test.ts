/**
 * Bodies of any size through the whole local stack (claim check, S3 from the fauxqs emulator): a
 * 1 MB Confluence page created, updated and read back; a 2 MB `jira.search_tasks` result; a body
 * over the submit limit refused with 413 and nothing stored. The records keep pointers, never the
 * bodies, and large results are answered as presigned URLs that a plain GET fetches.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueClient } from '../../client/queue-client.js';
import type { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { SIMULATOR_CREDENTIALS, type LocalStack } from '../../local/stack.js';
import { localS3 } from '../support/aws-local.js';
import type { HttpAnswer, RiqHttp } from '../support/riq-http.js';
import { StackInspector } from '../support/stack-inspect.js';
import { startTestStack } from '../support/test-stack.js';

let stack: LocalStack;
let api: RiqHttp;
let control: SimulatorControl;
let inspect: StackInspector;

beforeAll(async () => {
  ({ stack, api, control } = await startTestStack('riqbig'));
  await control.quiet();
  inspect = new StackInspector({ ...stack, simulatorUrl: stack.simulatorUrl ?? null });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const MB = 1024 * 1024;

/** The result of a completed answer: inline, or fetched from its presigned `result_url`. */
async function resultOf(answer: HttpAnswer): Promise<unknown> {
  expect(answer.body['status'], JSON.stringify(answer.body).slice(0, 500)).toBe('completed');
  const url = answer.body['result_url'];
  if (typeof url !== 'string') return answer.body['result'];
  expect(answer.body['result']).toBeUndefined();
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.json();
}

async function bodyCount(): Promise<number> {
  const out = await localS3(stack.s3Endpoint).send(new ListObjectsV2Command({ Bucket: stack.bodiesBucket }));
  return out.KeyCount ?? 0;
}

describe('large bodies through the local stack', () => {
  it('creates, updates and reads back a 1 MB Confluence page', async () => {
    const content = `<p>${'a'.repeat(MB)}</p>`;
    // Through the queue: the worker loads the payload from S3.
    const create = await api.submit({
      operation: 'confluence.create_page',
      payload: { title: 'A big page', space_id: 'MD', content },
      routing: 'queued',
    });
    expect(create.status, JSON.stringify(create.body)).toBe(200);
    const createToken = String(create.body['token']);
    const stored = await inspect.record(createToken);
    expect(stored?.['payload']).toEqual({});
    expect(stored?.['payload_ref']).toMatchObject({ key: `requests/${createToken}/payload.json` });
    const created = (await resultOf(await api.waitFor(createToken))) as { id: string; version: number };

    // DIRECT (adaptive): the submit function calls with the payload as submitted.
    const updated = `<p>${'b'.repeat(MB)}</p>`;
    const update = await api.submit({
      operation: 'confluence.update_page',
      payload: { page_id: created.id, content: updated },
    });
    expect(update.status, JSON.stringify(update.body)).toBe(200);
    const updateDone = await api.waitFor(String(update.body['token']));
    expect(await resultOf(updateDone)).toMatchObject({ id: created.id, version: created.version + 1 });

    const get = await api.submit({
      operation: 'confluence.get_page',
      payload: { page_id: created.id },
      fresh: true,
      routing: 'queued',
    });
    const token = String(get.body['token']);
    const done = await api.waitFor(token);
    // Over the inline limit (1 MiB): a presigned URL, and the record only a pointer.
    expect(done.body).toMatchObject({
      result_url: expect.any(String),
      result_size_bytes: expect.any(Number),
    });
    expect((await resultOf(done)) as { body: string }).toMatchObject({ id: created.id, body: updated });
    const record = await inspect.record(token);
    expect(record?.['result']).toBeUndefined();
    expect(record?.['result_ref']).toMatchObject({ key: `requests/${token}/result.json` });

    // The cached read answers the same page by the same pointer.
    const cached = await api.submit({ operation: 'confluence.get_page', payload: { page_id: created.id } });
    expect(cached.body['status']).toBe('cached');
    expect(
      (await resultOf({ ...cached, body: { ...cached.body, status: 'completed' } })) as object,
    ).toMatchObject({
      body: updated,
    });
  });

  it('answers a 2 MB jira.search_tasks result', async () => {
    const label = `big-${Date.now()}`;
    const auth = Buffer.from(`${SIMULATOR_CREDENTIALS.email}:${SIMULATOR_CREDENTIALS.apiToken}`).toString(
      'base64',
    );
    const description = 'd'.repeat(21_000);
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${stack.simulatorUrl}/rest/api/3/issue`, {
        method: 'POST',
        headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          fields: {
            project: { key: 'MD' },
            summary: `Issue ${i}`,
            issuetype: { name: 'Task' },
            labels: [label],
            description: {
              type: 'doc',
              version: 1,
              content: [{ type: 'paragraph', content: [{ type: 'text', text: description }] }],
            },
          },
        }),
      });
      expect(res.status).toBe(201);
    }
    const search = await api.submit({
      operation: 'jira.search_tasks',
      payload: { jql: `labels = ${label}`, max_results: 100 },
      routing: 'queued',
    });
    const token = String(search.body['token']);
    const done = await api.waitFor(token);
    expect(Number(done.body['result_size_bytes'])).toBeGreaterThan(2_000_000);
    const result = (await resultOf(done)) as { issues: Array<{ description: string }> };
    expect(result.issues).toHaveLength(100);
    expect(result.issues.every((t) => t.description === description)).toBe(true);
    // The TypeScript client follows the URL: its caller gets the result object.
    const view = await new QueueClient({ endpoint: stack.url }).getResult(token);
    expect(view.result_url).toBeUndefined();
    expect(view.result).toEqual(result);
  });

  it('refuses a body over the 5 MiB limit with 413 PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const requests = await inspect.itemCount();
    const bodies = await bodyCount();
    const answer = await api.submit({
      operation: 'confluence.create_page',
      payload: { title: 'Too big', space_id: 'MD', content: 'x'.repeat(5 * MB) },
    });
    expect(answer.status).toBe(413);
    expect(answer.body['error']).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      retryable: false,
      details: { field: 'body', limit: 5 * MB },
    });
    expect(await inspect.itemCount()).toBe(requests);
    expect(await bodyCount()).toBe(bodies);
  });
});
