import { describe, expect, it } from 'vitest';
import {
  TIMELINE_ERROR_CHARS,
  deferredEntry,
  delaySecondsUntil,
  errorEntry,
  errorFields,
  failedAttemptEntry,
  submittedEntries,
  timelineEntry,
} from '../../../lambdas/core/domain/timeline.js';
import type { ErrorBody } from '../../../model/errors.js';
import type { RequestRecord } from '../../../model/request-record.js';

const T0 = Date.parse('2026-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const upstream: ErrorBody = {
  code: 'SERVICE_UNAVAILABLE',
  message: 'Jira GET /rest/api/3/issue/MD-1 answered 503',
  retryable: true,
  details: { status: 503, attempt: 2 },
};

function record(extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    token: 'req_00000000000000000000000000000001',
    owner: 'arn:aws:iam::1:user/a',
    operation: 'jira.get_task',
    service: 'jira',
    priority: 'normal',
    payload: { task_id: 'MD-1' },
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: iso(T0),
    updated_at: iso(T0),
    ...extra,
  };
}

describe('timeline entries', () => {
  describe('timelineEntry', () => {
    it('stamps the instant given as ISO 8601 and leaves out the fields not given', () => {
      expect(timelineEntry('retried', T0)).toEqual({ at: iso(T0), event: 'retried' });
      expect(timelineEntry('succeeded', T0, { attempt: 3, reason: undefined })).toEqual({
        at: iso(T0),
        event: 'succeeded',
        attempt: 3,
      });
    });

    it(`cuts an error longer than ${TIMELINE_ERROR_CHARS} characters, ending it with …`, () => {
      const long = timelineEntry('failed', T0, { error: 'x'.repeat(1000) });
      expect(long.error).toHaveLength(TIMELINE_ERROR_CHARS);
      expect(long.error?.endsWith('…')).toBe(true);
      const exact = 'y'.repeat(TIMELINE_ERROR_CHARS);
      expect(timelineEntry('failed', T0, { error: exact }).error).toBe(exact);
    });
  });

  describe('errorFields', () => {
    it("names the code and message, Atlassian's status and the attempt", () => {
      expect(errorFields(upstream)).toEqual({
        error: 'SERVICE_UNAVAILABLE: Jira GET /rest/api/3/issue/MD-1 answered 503',
        status_code: 503,
        attempt: 2,
      });
    });

    it('has no status when no call answered (a timeout, RIQ’s own refusal)', () => {
      expect(errorFields({ code: 'TIMEOUT', message: 'no answer in 10 s', retryable: true })).toEqual({
        error: 'TIMEOUT: no answer in 10 s',
      });
    });
  });

  describe('delays', () => {
    it('counts whole seconds up, never below zero', () => {
      expect(delaySecondsUntil(T0, T0 + 1_001)).toBe(2);
      expect(delaySecondsUntil(T0, T0 - 5_000)).toBe(0);
    });

    it('puts the reason and delay on a deferral and the backoff on a failed attempt', () => {
      expect(deferredEntry(T0, 'points', T0 + 30_000)).toEqual({
        at: iso(T0),
        event: 'deferred',
        reason: 'points',
        delay_seconds: 30,
      });
      expect(failedAttemptEntry(T0, upstream, T0 + 8_000)).toMatchObject({
        event: 'failed_attempt',
        attempt: 2,
        status_code: 503,
        delay_seconds: 8,
      });
      expect(errorEntry('dead', T0, upstream)).toMatchObject({ event: 'dead', attempt: 2, status_code: 503 });
    });
  });

  describe('submittedEntries', () => {
    it('starts a queued request with submitted at its creation', () => {
      expect(submittedEntries(record())).toEqual([{ at: iso(T0), event: 'submitted' }]);
    });

    it('says a waiting request waits for its dependencies', () => {
      expect(submittedEntries(record({ status: 'waiting' }))).toEqual([
        { at: iso(T0), event: 'submitted', reason: 'depends_on' },
      ]);
    });

    it('adds the DIRECT call of a request stored processing', () => {
      const direct = record({
        status: 'processing',
        routing_path: 'DIRECT',
        attempts: 1,
        updated_at: iso(T0 + 7),
      });
      expect(submittedEntries(direct)).toEqual([
        { at: iso(T0), event: 'submitted' },
        { at: iso(T0 + 7), event: 'direct_call', attempt: 1 },
      ]);
    });

    it('adds the failure of a request stored failed (a dependency had failed)', () => {
      const failed = record({
        status: 'failed',
        error: { code: 'DEPENDENCY_FAILED', message: 'req_x failed', retryable: false },
      });
      expect(submittedEntries(failed)).toEqual([
        { at: iso(T0), event: 'submitted' },
        { at: iso(T0), event: 'failed', error: 'DEPENDENCY_FAILED: req_x failed' },
      ]);
    });
  });
});
