/**
 * The composition root builds each SDK client and adapter once per module, on first use, and every
 * DynamoDB adapter shares the one document client. Building a client opens no connection, so no
 * AWS is needed; each test loads a fresh copy of the module with its own environment.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { RUNTIME_ENV } from '../../../model/config/runtime-env.js';
import type * as RootModule from '../../../lambdas/shared/root.js';

type Root = typeof RootModule;

async function freshRoot(env: Record<string, string>): Promise<Root> {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  return import('../../../lambdas/shared/root.js');
}

/** A private field of an adapter (what it was built with). */
const field = (object: object, name: string): unknown => Reflect.get(object, name);

const FULL_ENV = {
  AWS_REGION: 'eu-west-1',
  [RUNTIME_ENV.settings]: JSON.stringify(DEFAULT_CONFIG),
  [RUNTIME_ENV.tableName]: 'riq-requests',
  [RUNTIME_ENV.queueUrls]: JSON.stringify({ 'jira-high': 'https://sqs.eu-west-1.amazonaws.com/1/q' }),
  [RUNTIME_ENV.deadLetterQueueUrls]: JSON.stringify({
    'jira-high': 'https://sqs.eu-west-1.amazonaws.com/1/dlq',
  }),
  [RUNTIME_ENV.deadLetterRedrive]: 'copy',
  [RUNTIME_ENV.bodyBucket]: 'riq-bodies',
  [RUNTIME_ENV.bodyBucketDomain]: 'riq-bodies.s3.eu-west-1.amazonaws.com',
};

beforeEach(() => {
  // Only what each test gives: the root must not find a variable of the machine's.
  for (const name of Object.values(RUNTIME_ENV)) vi.stubEnv(name, undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the composition root', () => {
  it('builds every DynamoDB adapter over one document client, over the one DynamoDB client', async () => {
    const root = await freshRoot(FULL_ENV);
    const documents = root.documents();
    for (const adapter of [root.requestStore(), root.readCache(), root.writeLocks()]) {
      expect(field(adapter, 'client')).toBe(documents);
    }
    // The rate gate and the points budget keep their items through one versioned-item store each.
    expect(field(field(root.rateGate(), 'buckets') as object, 'client')).toBe(documents);
    expect(field(field(root.pointsBudget('oauth'), 'budgets') as object, 'client')).toBe(documents);
    const dependencyRecords = field(root.dependencyStore(), 'records') as object;
    expect(field(dependencyRecords, 'client')).toBe(documents);
    const breakerStore = field(root.circuitBreaker(), 'store') as object;
    expect(field(breakerStore, 'client')).toBe(documents);
    expect(documents.config).toBe(root.dynamoDb().config);
  });

  it('builds each adapter and client once', async () => {
    const root = await freshRoot(FULL_ENV);
    expect(root.requestStore()).toBe(root.requestStore());
    expect(root.circuitBreaker()).toBe(root.circuitBreaker());
    expect(root.pointsBudget('oauth')).toBe(root.pointsBudget('oauth'));
    expect(root.bodyStore()).toBe(root.bodyStore());
    expect(root.workQueue()).toBe(root.workQueue());
    expect(root.deadLetterRedriver()).toBe(root.deadLetterRedriver());
    expect(field(root.workQueue(), 'client')).toBe(root.sqs());
    expect(field(root.workQueueWithDeadLetters(), 'client')).toBe(root.sqs());
  });

  it('keeps the record retention of the settings', async () => {
    const root = await freshRoot({
      ...FULL_ENV,
      [RUNTIME_ENV.settings]: JSON.stringify({ ...DEFAULT_CONFIG, retentionDays: 3 }),
    });
    expect(field(root.requestStore(), 'idempotencyTtlSeconds')).toBe(3 * 86_400);
  });

  it('redrives with a move task from the dead-letter queue to the work queue the environment names', async () => {
    const root = await freshRoot({
      ...FULL_ENV,
      [RUNTIME_ENV.deadLetterRedrive]: 'move_task',
      [RUNTIME_ENV.deadLetterQueueArns]: JSON.stringify({ 'jira-high': 'arn:aws:sqs:eu-west-1:1:dlq' }),
      [RUNTIME_ENV.queueArns]: JSON.stringify({ 'jira-high': 'arn:aws:sqs:eu-west-1:1:q' }),
    });
    const send = vi.spyOn(root.sqs(), 'send').mockImplementation(() => Promise.resolve({ TaskHandle: 't' }));
    expect(await root.deadLetterRedriver().redrive('jira-high')).toMatchObject({ mode: 'move_task' });
    expect(send).toHaveBeenCalledTimes(1);
    expect((send.mock.calls[0]?.[0] as { input: unknown }).input).toEqual({
      SourceArn: 'arn:aws:sqs:eu-west-1:1:dlq',
      DestinationArn: 'arn:aws:sqs:eu-west-1:1:q',
    });
  });

  it('reads only the variables of what is asked for: a function given no bucket never needs one', async () => {
    const { [RUNTIME_ENV.bodyBucket]: _bucket, [RUNTIME_ENV.deadLetterQueueUrls]: _dlq, ...env } = FULL_ENV;
    const root = await freshRoot(env);
    expect(root.requestStore()).toBeDefined();
    expect(root.workQueue()).toBeDefined();
    expect(() => root.bodyStore()).toThrow('environment variable RIQ_BODY_BUCKET is required');
    expect(() => root.workQueueWithDeadLetters()).toThrow('environment variable RIQ_DLQ_URLS is required');
  });

  it('fails on first use, naming the variable, when the settings are missing', async () => {
    const { [RUNTIME_ENV.settings]: _settings, ...env } = FULL_ENV;
    const root = await freshRoot(env);
    expect(() => root.requestStore()).toThrow('environment variable RIQ_SETTINGS is required');
  });
});
