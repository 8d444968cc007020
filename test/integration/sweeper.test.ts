/**
 * The sweeper and the dead-letter store operations against DynamoDB Local and the SQS emulator:
 * the records, conditions and messages are the real ones.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  listDeadLetters,
  retryDeadLetter,
  type DeadLetterDeps,
} from '../../lambdas/core/use-cases/dead-letters.js';
import type { RequestRecord, Status } from '../../model/request-record.js';
import { sweep, type SweeperDeps } from '../../lambdas/core/use-cases/sweeper.js';
import { newRequestToken } from '../../lambdas/core/domain/tokens.js';
import { DynamoDependencyStore } from '../../lambdas/adapters/dynamodb/dynamo-dependencies.js';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import { requestKey } from '../../lambdas/adapters/dynamodb/request-items.js';
import {
  SqsCopyRedriver,
  SqsWorkQueue,
  parseWorkMessage,
} from '../../lambdas/adapters/sqs/sqs-work-queue.js';
import type { QueueKey } from '../../model/config/resources.js';
import { createRequestsTable, createWorkQueues, type LocalQueues } from '../../local/resources.js';
import { isolatedConfig, localDynamo, localSqs } from '../support/aws-local.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const sqs = localSqs(inject('sqsEndpoint'));
const config = isolatedConfig();
const MIN = 60_000;
let store: DynamoRequestStore;
let queues: LocalQueues;
let queue: SqsWorkQueue;
let now = Date.now();
const clock = { now: () => now };

beforeAll(async () => {
  const tableName = await createRequestsTable(client, config);
  store = new DynamoRequestStore(doc, tableName, 7 * 86400);
  queues = await createWorkQueues(sqs, config);
  queue = new SqsWorkQueue(sqs, queues.queueUrls, queues.deadLetterQueueUrls);
});

function record(status: Status, ageMs: number, extra: Partial<RequestRecord> = {}): RequestRecord {
  const at = new Date(now - ageMs).toISOString();
  return {
    token: newRequestToken(),
    owner: 'arn:aws:iam::1:user/a',
    operation: 'jira.get_task',
    service: 'jira',
    priority: 'normal',
    payload: { task_id: 'MD-1' },
    status,
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: at,
    updated_at: at,
    ...extra,
  };
}

async function tokensIn(url: string, wait = 1): Promise<string[]> {
  const tokens: string[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return tokens;
    tokens.push(...messages.map((m) => parseWorkMessage(m.Body ?? '').token));
    wait = 0;
  }
}

const sweeperDeps = (): SweeperDeps => ({ store, queue, clock, staleQueuedSeconds: 120, batchSize: 100 });

describe('sweeper on DynamoDB Local and the SQS emulator', () => {
  it('re-enqueues an orphaned queued record (stored, never sent) once, and a worker can claim it', async () => {
    const orphan = record('queued', 5 * MIN, { priority: 'high' });
    const fresh = record('queued', 10_000, { priority: 'high' });
    await store.insert(orphan);
    await store.insert(fresh);

    const report = await sweep(sweeperDeps());
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    const sent = await tokensIn(queues.queueUrls['jira-high']);
    expect(sent).toContain(orphan.token);
    expect(sent).not.toContain(fresh.token);

    // The stamp keeps the next minute's sweep from sending it again.
    now += MIN;
    await sweep(sweeperDeps());
    expect(await tokensIn(queues.queueUrls['jira-high'], 0)).not.toContain(orphan.token);

    const claim = await store.claim(orphan.token, now, 30);
    expect(claim.kind).toBe('claimed');
  });

  it('leaves alone queued records waiting out a retry or a deferral, even a page full of them', async () => {
    // Older than the orphan, so a page of `batchSize` would hold only them had the query not left
    // them out: the orphan behind them would never be repaired.
    const waiting = [1, 2, 3].map(() =>
      record('queued', 10 * MIN, {
        priority: 'normal',
        deferred_until: new Date(now + 30 * MIN).toISOString(),
      }),
    );
    const orphan = record('queued', 5 * MIN, { priority: 'normal' });
    for (const r of [...waiting, orphan]) await store.insert(r);

    await sweep({ ...sweeperDeps(), batchSize: 3 });
    const sent = await tokensIn(queues.queueUrls['jira-normal']);
    expect(sent).toContain(orphan.token);
    for (const r of waiting) expect(sent).not.toContain(r.token);
  });

  it('re-enqueues a processing record whose lease expired; the claim takes the lease over', async () => {
    const crashed = record('processing', 5 * MIN, { priority: 'low', lease_expires_at: now - 1_000 });
    const live = record('processing', 5 * MIN, { priority: 'low', lease_expires_at: now + 30_000 });
    await store.insert(crashed);
    await store.insert(live);

    expect((await sweep(sweeperDeps())).recovered_leases).toBeGreaterThanOrEqual(1);
    const sent = await tokensIn(queues.queueUrls['jira-low']);
    expect(sent).toContain(crashed.token);
    expect(sent).not.toContain(live.token);
    expect((await store.claim(crashed.token, now, 30)).kind).toBe('claimed');
    expect((await store.claim(live.token, now, 30)).kind).toBe('busy');
  });

  it('does not stamp or send a record a worker moved since the sweeper read it', async () => {
    const r = record('queued', 5 * MIN);
    await store.insert(r);
    const seen = (await store.get(r.token))!;
    expect((await store.claim(r.token, now, 30)).kind).toBe('claimed');
    expect(await store.markSwept(seen, now)).toBe(false);
  });
});

describe('sweeper and waiting children (depends_on) on DynamoDB Local', () => {
  it('pages past children still waiting on a running parent, and fails the one whose parent is gone', async () => {
    // A table of its own: the only waiting children are these.
    const tableName = await createRequestsTable(client, isolatedConfig());
    const requests = new DynamoRequestStore(doc, tableName, 7 * 86400);
    const dependencies = new DynamoDependencyStore(doc, tableName, 7 * 86400);
    const at = (ageMs: number) => ({ now: now - ageMs, failedExpiresAt: Math.floor(now / 1000) + 3600 });
    const running = record('processing', 30 * MIN, { lease_expires_at: now + 10 * MIN });
    const doomed = record('queued', 30 * MIN);
    for (const r of [running, doomed]) await requests.insert(r);
    // Seven children still waiting on the running parent, older than the eighth.
    const blocked: RequestRecord[] = [];
    for (let i = 0; i < 7; i++) {
      const child = record('queued', 20 * MIN - i * 1000);
      await dependencies.register(child, [running.token], at(20 * MIN - i * 1000));
      blocked.push(child);
    }
    const orphan = record('queued', 10 * MIN);
    await dependencies.register(orphan, [doomed.token], at(10 * MIN));
    // Its parent expires (TTL) without having released it.
    await doc.send(new DeleteCommand({ TableName: tableName, Key: requestKey(doomed.token) }));

    const deps: SweeperDeps = {
      store: requests,
      dependencies,
      queue,
      clock,
      staleQueuedSeconds: 120,
      batchSize: 3,
    };
    let reconciled = 0;
    for (let i = 0; i < 4; i++) {
      const report = await sweep(deps);
      reconciled += report.reconciled_waiting ?? 0;
      if ((await requests.get(orphan.token))?.status !== 'waiting') break;
      now += MIN;
    }
    expect(await requests.get(orphan.token)).toMatchObject({
      status: 'failed',
      error: { code: 'DEPENDENCY_FAILED', details: { dependency: doomed.token } },
    });
    expect(reconciled).toBe(blocked.length + 1);
    for (const child of blocked) expect((await requests.get(child.token))?.status).toBe('waiting');
  });
});

describe('dead letters on DynamoDB Local and the SQS emulator', () => {
  const dead = (service: 'jira' | 'confluence', n: number) =>
    record('dead', 10 * MIN - n * 1000, {
      service,
      priority: 'normal',
      operation: service === 'jira' ? 'jira.get_task' : 'confluence.get_page',
      attempts: 4,
      error: { code: 'SERVICE_UNAVAILABLE', message: '503', retryable: true },
    });

  it('pages through dead records with a service filter, a page full each time', async () => {
    const mine = [
      dead('jira', 1),
      dead('confluence', 2),
      dead('jira', 3),
      dead('confluence', 4),
      dead('jira', 5),
    ];
    for (const r of mine) await store.insert(r);
    const deps = { store };
    const seen: string[] = [];
    let page = await listDeadLetters(deps, { limit: 2, service: 'jira' });
    for (;;) {
      expect(page.dead_letters.every((d) => d.service === 'jira')).toBe(true);
      seen.push(...page.dead_letters.map((d) => d.token));
      if (!page.next_cursor) break;
      expect(page.dead_letters).toHaveLength(2);
      page = await listDeadLetters(deps, {
        limit: 2,
        service: 'jira',
        startKey: JSON.parse(Buffer.from(page.next_cursor, 'base64url').toString()) as Record<
          string,
          unknown
        >,
      });
    }
    const jira = mine.filter((r) => r.service === 'jira').map((r) => r.token);
    expect(seen.filter((t) => jira.includes(t))).toEqual(jira);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('requeues a dead record conditionally, keeping its error as last_error, and sends a message', async () => {
    const r = dead('jira', 9);
    await store.insert(r);
    const deps: DeadLetterDeps = {
      store,
      queue,
      clock,
      redriver: new SqsCopyRedriver(sqs, queues.queueUrls, queues.deadLetterQueueUrls),
    };
    await retryDeadLetter(deps, r.token);
    const stored = (await store.get(r.token)) as RequestRecord & { last_error?: unknown };
    expect(stored).toMatchObject({
      status: 'queued',
      attempts: 0,
      last_error: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(stored.error).toBeUndefined();
    expect(await tokensIn(queues.queueUrls['jira-normal'])).toContain(r.token);
    expect(await store.requeueDead(r.token, now)).toEqual({ kind: 'not_dead', status: 'queued' });
    expect(await store.requeueDead(newRequestToken(), now)).toEqual({ kind: 'missing' });
  });

  it('deletes only a dead record', async () => {
    const r = dead('confluence', 10);
    const live = record('completed', MIN);
    await store.insert(r);
    await store.insert(live);
    expect((await store.deleteDead(r.token)).kind).toBe('changed');
    expect(await store.get(r.token)).toBeUndefined();
    expect(await store.deleteDead(live.token)).toEqual({ kind: 'not_dead', status: 'completed' });
    expect(await store.get(live.token)).toBeDefined();
  });

  it('moves every message of a dead-letter queue back to its source queue', async () => {
    const key: QueueKey = 'confluence-high';
    const tokens = Array.from({ length: 12 }, () => newRequestToken());
    for (const t of tokens) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.deadLetterQueueUrls[key],
          MessageBody: JSON.stringify({ token: t }),
        }),
      );
    }
    const redriver = new SqsCopyRedriver(sqs, queues.queueUrls, queues.deadLetterQueueUrls);
    expect(await redriver.redrive(key)).toEqual({ queue: key, mode: 'copy', moved: 12 });
    expect((await tokensIn(queues.queueUrls[key])).sort()).toEqual([...tokens].sort());
    expect(await queue.deadLetterDepth(key)).toBe(0);
  });
});
