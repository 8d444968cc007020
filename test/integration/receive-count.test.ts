/**
 * Attempts are real attempts (DESIGN invariant 3), read from SQS itself: a deferral (breaker open,
 * no token) must leave the message's `ApproximateReceiveCount` — what the redrive policy counts —
 * untouched, while a real failed call to Atlassian raises it.
 *
 * Real parts only: DynamoDB Local (the requests table, the breaker and the token bucket), the SQS
 * emulator (the work queues with their redrive policy) and the simulated Atlassian, driven through
 * the worker's own `processRequest` and `applyDisposition`. `deliver` does what Lambda's event
 * source mapping does around the handler: receive, hand the record over, delete it when the handler
 * returns, keep it when the handler reports it as a batch item failure (throws `MessageKept`).
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { QueueKey } from '../../model/config/resources.js';
import { claimLeaseSeconds } from '../../model/config/resources.js';
import type { Priority } from '../../model/config/riq-config.js';
import { AtlassianExecutor } from '../../lambdas/adapters/atlassian/operation-executor.js';
import { breakerSettingsOf, type BreakerSettings } from '../../lambdas/core/domain/breaker.js';
import type { OperationName } from '../../model/operations.js';
import {
  processRequest,
  type Disposition,
  type ProcessDeps,
} from '../../lambdas/core/use-cases/process-request.js';
import { callScopeOf } from '../../lambdas/core/domain/token-bucket.js';
import type { RequestRecord } from '../../model/request-record.js';
import { newRequestToken } from '../../lambdas/core/domain/tokens.js';
import { DynamoCircuitBreaker } from '../../lambdas/adapters/dynamodb/dynamo-circuit-breaker.js';
import { DynamoRateGate } from '../../lambdas/adapters/dynamodb/dynamo-rate-gate.js';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import {
  SqsCopyRedriver,
  SqsWorkQueue,
  parseWorkMessage,
  queueDepthAt,
  totalMessages,
} from '../../lambdas/adapters/sqs/sqs-work-queue.js';
import { MessageKept, applyDisposition } from '../../lambdas/worker/message-actions.js';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { startAtlassianSimulator, type AtlassianSimulator } from '../../local/atlassian-sim/server.js';
import { createRequestsTable, createWorkQueues, type LocalQueues } from '../../local/resources.js';
import { isolatedConfig, localDynamo, localSqs } from '../support/aws-local.js';

const credentials = { email: 'riq@example.com', apiToken: 'local-token' };
const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const sqs = localSqs(inject('sqsEndpoint'));
const MAX_ATTEMPTS = 4;
/** More deferrals than maxReceiveCount: had any of them counted, SQS would have dead-lettered the message. */
const DEFERRALS = MAX_ATTEMPTS + 2;
const config = isolatedConfig({
  retry: { maxAttempts: MAX_ATTEMPTS, baseDelaySeconds: 1, maxDelaySeconds: 2 },
  // 1 token a second, burst 1: another worker taking the token leaves this one none for ~1 s.
  services: { confluence: { ratePerMinute: 60, burst: 1 } },
});
// Threshold 3 so two real failures in the control do not open it; recovery 3 s so each deferral is
// 3 s, long enough that a slow machine still asks the breaker while it is open.
const breakerSettings: BreakerSettings = {
  ...breakerSettingsOf(config),
  failureThreshold: 3,
  windowSeconds: 60,
  recoverySeconds: 3,
};

let tableName: string;
let queues: LocalQueues;
let workQueue: SqsWorkQueue;
let sim: AtlassianSimulator;
let control: SimulatorControl;
let deps: ProcessDeps;
/** Another worker of the same services: same table, its own breaker and gate instances. */
let otherBreaker: DynamoCircuitBreaker;
let otherGate: DynamoRateGate;

beforeAll(async () => {
  tableName = await createRequestsTable(client, config);
  queues = await createWorkQueues(sqs, config);
  workQueue = new SqsWorkQueue(sqs, queues.queueUrls, queues.deadLetterQueueUrls);
  sim = await startAtlassianSimulator({ port: 0, ...credentials });
  control = new SimulatorControl(sim.url);
  const retentionSeconds = config.retentionDays * 86_400;
  deps = {
    store: new DynamoRequestStore(doc, tableName, retentionSeconds),
    executor: new AtlassianExecutor({ jiraBaseUrl: sim.url, auth: credentials, timeoutMs: 5_000 }),
    clock: { now: () => Date.now() },
    config,
    leaseSeconds: claimLeaseSeconds(config),
    // No jitter: each deferral and each backoff is exactly 1 s, which keeps the test short.
    random: () => 0,
    flow: {
      breaker: new DynamoCircuitBreaker(doc, tableName, breakerSettings),
      rate: new DynamoRateGate(doc, tableName, config),
      scopeOf: (record) => callScopeOf(record.operation, record.payload, record.priority),
    },
  };
  otherBreaker = new DynamoCircuitBreaker(doc, tableName, breakerSettings);
  otherGate = new DynamoRateGate(doc, tableName, config);
});

afterAll(async () => {
  await sim?.stop();
});

/** Stores a queued record and sends its message, as submit does. */
async function submitted(
  operation: OperationName,
  payload: Record<string, unknown>,
  priority: Priority,
  key: QueueKey,
): Promise<string> {
  const token = newRequestToken();
  const now = new Date().toISOString();
  const record: RequestRecord = {
    token,
    owner: 'arn:aws:iam::000000000000:user/receive-count',
    operation,
    service: key.startsWith('jira') ? 'jira' : 'confluence',
    priority,
    payload,
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: now,
    updated_at: now,
  };
  expect(await deps.store.insert(record)).toEqual({ kind: 'inserted' });
  await workQueue.send(key, token);
  return token;
}

interface Delivery {
  receiveCount: string;
  disposition: Disposition;
}

/**
 * Receives the queue's next message (waiting out its delay), runs the worker on it, settles it like
 * the event source mapping. `meanwhile` runs between the receive and the worker: what other workers
 * do at that moment.
 */
async function deliver(key: QueueKey, meanwhile?: () => Promise<void>): Promise<Delivery> {
  const url = queues.queueUrls[key];
  const deadline = Date.now() + 10_000;
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const message = out.Messages?.[0];
    if (message) {
      const receiveCount = message.Attributes?.['ApproximateReceiveCount'] ?? '';
      const {
        token,
        not_before: notBefore,
        slot_at: slotAt,
        dead_letter: deadLetter,
      } = parseWorkMessage(message.Body ?? '');
      await meanwhile?.();
      const disposition = await processRequest(deps, {
        token,
        receiveCount: Number(receiveCount),
        ...(notBefore !== undefined ? { notBefore } : {}),
        ...(slotAt !== undefined ? { slotAt } : {}),
        ...(deadLetter === true ? { fromDeadLetter: true } : {}),
      });
      try {
        await applyDisposition(workQueue, key, message.ReceiptHandle!, token, disposition);
      } catch (err) {
        if (err instanceof MessageKept) return { receiveCount, disposition };
        throw err;
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
      return { receiveCount, disposition };
    }
    if (Date.now() > deadline) throw new Error(`no message arrived in ${key}`);
  }
}

/** Every message the queue holds: visible, in flight and delayed. */
async function messagesIn(url: string): Promise<number> {
  return totalMessages(await queueDepthAt(sqs, url));
}

/** Another worker's probe failed (or, the first time, failures reached the threshold): the jira breaker is open for `recoverySeconds`. */
async function openJiraBreaker(): Promise<void> {
  const now = Date.now();
  const view = await otherBreaker.view('jira', now);
  if (view.state === 'open') return;
  if (view.state === 'closed') {
    for (let i = 0; i < breakerSettings.failureThreshold; i++)
      await otherBreaker.report('jira', 'failure', false, now);
    return;
  }
  const decision = await otherBreaker.acquire('jira', now);
  expect(decision).toMatchObject({ allowed: true, probe: true });
  await otherBreaker.report('jira', 'failure', true, now);
}

describe('ApproximateReceiveCount counts real attempts only', () => {
  it('deferrals while the breaker is open leave it at 1, more times than maxReceiveCount; real failures raise it', async () => {
    const key: QueueKey = 'jira-normal';
    const token = await submitted('jira.get_task', { task_id: 'MD-404' }, 'normal', key);

    // Removing the mechanism (a deferral that kept the message and hid it with
    // ChangeMessageVisibility instead of sending a fresh one and deleting it) would show receive
    // counts 2, 3, 4, and at the 5th receive SQS's redrive (maxReceiveCount 4) would have moved the
    // message to the DLQ: `deliver` would find nothing and throw. A deferral that sent the new
    // message but kept the old one would show two messages in the queue.
    for (let i = 0; i < DEFERRALS; i++) {
      const { receiveCount, disposition } = await deliver(key, openJiraBreaker);
      expect(receiveCount, `deferral ${i + 1}`).toBe('1');
      expect(disposition).toMatchObject({ action: 'defer', outcome: 'breaker_open' });
      expect(await messagesIn(queues.queueUrls[key])).toBe(1);
      expect(await deps.store.get(token)).toMatchObject({
        status: 'queued',
        attempts: 0,
        deferred_reason: 'breaker_open',
      });
    }
    expect(await workQueue.deadLetterDepth(key)).toBe(0);

    // The control: the breaker closes (another worker's probe succeeds), the call is made and
    // Atlassian answers 503. A real failed attempt keeps the message, so its next receive is the 2nd.
    // The probe is taken at a time past the recovery window (the breaker's clock is an argument),
    // so the deferrals above never race a window that a slow machine could let run out.
    const afterRecovery = Date.now() + breakerSettings.recoverySeconds * 1000 + 100;
    const probe = await otherBreaker.acquire('jira', afterRecovery);
    expect(probe).toMatchObject({ allowed: true, probe: true });
    await otherBreaker.report('jira', 'success', true, afterRecovery);
    await control.addFault({ method: 'GET', path: '^/rest/api/3/issue/MD-404$', status: 503 });

    const first = await deliver(key);
    expect(first.receiveCount).toBe('1');
    expect(first.disposition).toMatchObject({ action: 'retry', outcome: 'retry' });
    expect((await deps.store.get(token))?.attempts).toBe(1);

    const second = await deliver(key);
    expect(second.receiveCount).toBe('2');
    expect(second.disposition).toMatchObject({ action: 'retry' });
    expect((await deps.store.get(token))?.attempts).toBe(2);
    await control.clearFaults();
  }, 45_000);

  it('waiting for a token leaves it at 1 each time, and the request completes with one attempt', async () => {
    const key: QueueKey = 'confluence-high';
    const token = await submitted('confluence.get_page', { page_id: '196609' }, 'high', key);
    const scope = callScopeOf('confluence.get_page', { page_id: '196609' }, 'high');

    // Removing the mechanism (a no-token wait spent as a visibility change on the same message)
    // would show 2, 3, 4 here, and the message would be in the DLQ before the 5th receive.
    for (let i = 0; i < DEFERRALS; i++) {
      // Another worker takes every token there is, just before this one asks.
      const { receiveCount, disposition } = await deliver(key, async () => {
        while ((await otherGate.acquire(scope, Date.now())).granted);
      });
      expect(receiveCount, `deferral ${i + 1}`).toBe('1');
      expect(disposition).toMatchObject({ action: 'defer', outcome: 'no_token' });
      expect(await messagesIn(queues.queueUrls[key])).toBe(1);
    }
    expect(await workQueue.deadLetterDepth(key)).toBe(0);

    // Left alone, the next delivery gets the token: one call, one attempt, on a message received once.
    const last = await deliver(key);
    expect(last.receiveCount).toBe('1');
    expect(last.disposition).toMatchObject({ action: 'ack', outcome: 'completed' });
    expect(await deps.store.get(token)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await messagesIn(queues.queueUrls[key])).toBe(0);
  }, 45_000);
});

describe('a dead request comes back only through the dead-letter queue', () => {
  it('ignores a stray copy of a dead request and revives it from its redriven dead-letter copy', async () => {
    const key: QueueKey = 'confluence-low';
    await control.addFault({ method: 'GET', path: '^/wiki/api/v2/pages/196609', status: 503 });
    const token = await submitted('confluence.get_page', { page_id: '196609' }, 'low', key);
    // Its failures open the breaker on the way: deliveries go on until the attempts are spent.
    for (let i = 0; i < 4 * MAX_ATTEMPTS && (await deps.store.get(token))?.status !== 'dead'; i++) {
      await deliver(key);
    }
    expect(await deps.store.get(token)).toMatchObject({ status: 'dead', attempts: MAX_ATTEMPTS });
    expect(await workQueue.deadLetterDepth(key)).toBe(1);

    // A stray message of the same request (a sweeper re-send, a late duplicate): it must not claim the
    // dead record, reset its attempts or call Atlassian.
    await workQueue.send(key, token);
    const stray = await deliver(key);
    expect(stray.disposition).toEqual({ action: 'ack', outcome: 'already-finished' });
    expect(await deps.store.get(token)).toMatchObject({
      status: 'dead',
      attempts: MAX_ATTEMPTS,
      calls: MAX_ATTEMPTS,
    });

    // The operator's redrive moves the dead-letter copy back: that message revives it.
    await control.clearFaults();
    await new SqsCopyRedriver(sqs, queues.queueUrls, queues.deadLetterQueueUrls).redrive(key);
    // Its failures opened the breaker: the revived request waits for it (deferrals, not attempts).
    let revived = await deliver(key);
    while (revived.disposition.action === 'defer') revived = await deliver(key);
    expect(revived.disposition).toEqual({ action: 'ack', outcome: 'completed' });
    expect(await deps.store.get(token)).toMatchObject({
      status: 'completed',
      attempts: 1,
      calls: MAX_ATTEMPTS + 1,
    });
  }, 45_000);
});
