import { describe, expect, it } from 'vitest';
import { parseSubmitBody } from '../../../lambdas/core/domain/submit-command.js';
import {
  submitLogLine,
  submitMetrics,
  toSubmitResponse,
} from '../../../lambdas/core/use-cases/submit-answer.js';
import type { CachedResponse, SubmitResponse } from '../../../lambdas/core/use-cases/submit.js';

const TOKEN = `req_${'a'.repeat(32)}`;
const read = parseSubmitBody(
  JSON.stringify({ operation: 'jira.get_task', payload: { task_id: 'MD-1' }, priority: 'high' }),
  10_000,
);
const write = parseSubmitBody(
  JSON.stringify({
    operation: 'confluence.create_page',
    payload: { space_id: 'SP', title: 'T', content: 'C' },
  }),
  10_000,
);

const stored: SubmitResponse = {
  token: TOKEN,
  status: 'queued',
  poll_url: `/api/queue/result/${TOKEN}`,
  routing_path: 'QUEUED',
};
const cached: CachedResponse = {
  status: 'cached',
  routing_path: 'CACHE',
  result: { key: 'MD-1' },
  cached_at: '2026-01-01T00:00:00.000Z',
  cache: 'hit',
};

describe('toSubmitResponse', () => {
  it('answers a stored request 200 without the fields only logs and metrics use', () => {
    const answer: SubmitResponse = {
      ...stored,
      consistency_token: 'cst_1',
      duplicate: true,
      cache: 'miss',
      direct: { kind: 'skipped', reason: 'timeout' },
    };
    expect(toSubmitResponse(answer)).toEqual({
      statusCode: 200,
      body: {
        token: TOKEN,
        status: 'queued',
        poll_url: `/api/queue/result/${TOKEN}`,
        routing_path: 'QUEUED',
        consistency_token: 'cst_1',
      },
    });
  });

  it('answers fire and forget 202, without the flag in the body', () => {
    const answer = toSubmitResponse({ ...stored, fire_and_forget: true, cache: 'none' });
    expect(answer.statusCode).toBe(202);
    expect(answer.body).not.toHaveProperty('fire_and_forget');
    expect(answer.body).not.toHaveProperty('cache');
  });

  it('answers a cache hit 200 with its result and age, without `cache`', () => {
    expect(toSubmitResponse(cached)).toEqual({
      statusCode: 200,
      body: {
        status: 'cached',
        routing_path: 'CACHE',
        result: { key: 'MD-1' },
        cached_at: '2026-01-01T00:00:00.000Z',
      },
    });
  });

  it('keeps a DIRECT call’s result and error', () => {
    const error = { code: 'NOT_FOUND', message: 'no such issue', retryable: false } as const;
    const answer = toSubmitResponse({
      ...stored,
      status: 'failed',
      routing_path: 'DIRECT',
      error,
      direct: { kind: 'called' },
    });
    expect(answer).toEqual({
      statusCode: 200,
      body: { ...stored, status: 'failed', routing_path: 'DIRECT', error },
    });
  });
});

describe('submitMetrics', () => {
  it('counts a stored read that missed the cache: Submitted, CacheHit 0 / CacheMiss 1, RoutedQueued', () => {
    expect(submitMetrics(read, { ...stored, cache: 'miss' })).toEqual([
      { key: 'submitted', value: 1, dimensions: { service: 'jira', priority: 'high' } },
      { key: 'cacheHit', value: 0, dimensions: { service: 'jira' } },
      { key: 'cacheMiss', value: 1, dimensions: { service: 'jira' } },
      { key: 'routedDirect', value: 0, dimensions: { service: 'jira' } },
      { key: 'routedQueued', value: 1, dimensions: { service: 'jira' } },
    ]);
  });

  it('counts a cache hit as a hit and routes nothing', () => {
    expect(submitMetrics(read, cached)).toEqual([
      { key: 'submitted', value: 1, dimensions: { service: 'jira', priority: 'high' } },
      { key: 'cacheHit', value: 1, dimensions: { service: 'jira' } },
      { key: 'cacheMiss', value: 0, dimensions: { service: 'jira' } },
    ]);
  });

  it('counts a DIRECT write without cache metrics (it never looked the cache up)', () => {
    expect(
      submitMetrics(write, { ...stored, status: 'completed', routing_path: 'DIRECT', cache: 'none' }),
    ).toEqual([
      { key: 'submitted', value: 1, dimensions: { service: 'confluence', priority: 'normal' } },
      { key: 'routedDirect', value: 1, dimensions: { service: 'confluence' } },
      { key: 'routedQueued', value: 0, dimensions: { service: 'confluence' } },
    ]);
  });

  it('routes nothing for a duplicate (the earlier submit was counted)', () => {
    expect(submitMetrics(write, { ...stored, duplicate: true, cache: 'none' })).toEqual([
      { key: 'submitted', value: 1, dimensions: { service: 'confluence', priority: 'normal' } },
    ]);
  });
});

describe('submitLogLine', () => {
  it('logs a stored request with its token as correlation id and what routing did', () => {
    expect(
      submitLogLine(write, { ...stored, cache: 'bypass', direct: { kind: 'skipped', reason: 'no_time' } }),
    ).toEqual({
      message: 'request submitted',
      fields: {
        correlation_id: TOKEN,
        operation: 'confluence.create_page',
        priority: 'normal',
        status: 'queued',
        routing_path: 'QUEUED',
        cache: 'bypass',
        direct: 'skipped:no_time',
      },
    });
  });

  it('names a DIRECT call `called`, and leaves out the fields at their usual value', () => {
    const called = submitLogLine(write, { ...stored, routing_path: 'DIRECT', direct: { kind: 'called' } });
    expect(called.fields).toMatchObject({ direct: 'called', routing_path: 'DIRECT' });
    expect(called.fields).not.toHaveProperty('cache');
    expect(called.fields).not.toHaveProperty('duplicate');
    expect(called.fields).not.toHaveProperty('token');
    const ineligible = submitLogLine(write, { ...stored, direct: { kind: 'ineligible' } }).fields;
    expect(ineligible).not.toHaveProperty('direct');
    const repeated = submitLogLine(write, { ...stored, duplicate: true, cache: 'none' }).fields;
    expect(repeated).toMatchObject({ duplicate: true });
    expect(repeated).not.toHaveProperty('direct');
    expect(repeated).not.toHaveProperty('cache');
  });

  it('logs a cache hit with its age, no token', () => {
    expect(submitLogLine(read, cached)).toEqual({
      message: 'read answered from the cache',
      fields: { operation: 'jira.get_task', cached_at: '2026-01-01T00:00:00.000Z' },
    });
  });
});
