import { describe, expect, it } from 'vitest';
import {
  getRequestView,
  listRequests,
  parseRequestListQuery,
} from '../../../lambdas/core/use-cases/operator-requests.js';
import { RiqError } from '../../../model/errors.js';
import type { RequestRecord, Status } from '../../../model/request-record.js';
import { InMemoryStore } from '../../support/in-memory-store.js';

const token = (n: number) => `req_${String(n).padStart(32, '0')}`;

function record(n: number, status: Status, extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    token: token(n),
    owner: `arn:aws:iam::1:user/u${n}`,
    operation: n % 2 === 0 ? 'jira.get_task' : 'jira.add_comment',
    service: 'jira',
    priority: 'normal',
    payload: { task_id: `MD-${n}` },
    status,
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: `2026-11-23T10:00:${String(n).padStart(2, '0')}.000Z`,
    updated_at: '2026-11-23T10:01:00.000Z',
    ...extra,
  } as RequestRecord;
}

async function storeWith(...records: RequestRecord[]): Promise<InMemoryStore> {
  const store = new InMemoryStore();
  for (const r of records) store.records.set(r.token, structuredClone(r));
  return store;
}

function rejection(fn: () => unknown): RiqError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RiqError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('operator requests', () => {
  describe('parseRequestListQuery', () => {
    it('lists the four listed statuses by default, 25 at a time', () => {
      expect(parseRequestListQuery(null)).toEqual({
        statuses: ['processing', 'queued', 'waiting', 'dead'],
        limit: 25,
      });
      expect(
        parseRequestListQuery({ status: 'dead', limit: '100', operation: 'jira.get_task', service: 'jira' }),
      ).toEqual({
        statuses: ['dead'],
        limit: 100,
        operation: 'jira.get_task',
        service: 'jira',
      });
    });

    it.each(['completed', 'failed', 'cached', 'DEAD', ''])(
      'refuses status=%j with INVALID_STATUS listing the accepted ones',
      (status) => {
        const err = rejection(() => parseRequestListQuery({ status }));
        expect(err.code).toBe('INVALID_STATUS');
        expect(err.httpStatus).toBe(400);
        expect(err.message).toContain('processing, queued, waiting, dead');
        expect(err.details).toMatchObject({
          field: 'status',
          accepted: ['processing', 'queued', 'waiting', 'dead'],
        });
      },
    );

    it('refuses an unknown operation with a did-you-mean', () => {
      const err = rejection(() => parseRequestListQuery({ operation: 'jira.create_tsk' }));
      expect(err).toMatchObject({ code: 'VALIDATION_ERROR', httpStatus: 400 });
      expect(err.message).toContain('did you mean jira.create_task?');
    });

    it.each([
      [{ limit: '0' }, 'limit'],
      [{ limit: '101' }, 'limit'],
      [{ limit: '2.5' }, 'limit'],
      [{ service: 'bitbucket' }, 'service'],
      [{ cursor: 'not a cursor!' }, 'cursor'],
      [{ cursor: Buffer.from('{"x":1}').toString('base64url') }, 'cursor'],
      [{ statuz: 'dead' }, 'statuz'],
    ])('refuses %j as a VALIDATION_ERROR on %s', (params, field) => {
      const err = rejection(() => parseRequestListQuery(params));
      expect(err).toMatchObject({ code: 'VALIDATION_ERROR', httpStatus: 400 });
      expect(err.details?.['field']).toBe(field);
    });
  });

  describe('listRequests', () => {
    it('pages through every listed status in order, each oldest first, with summaries only', async () => {
      const store = await storeWith(
        record(1, 'dead', { error: { code: 'SERVICE_UNAVAILABLE', message: '503', retryable: true } }),
        record(2, 'queued'),
        record(3, 'processing', { attempts: 1 }),
        record(4, 'queued'),
        record(5, 'completed'),
        record(6, 'waiting'),
      );
      const seen: Array<[string, string]> = [];
      let query = parseRequestListQuery({ limit: '2' });
      for (let pages = 0; pages < 10; pages++) {
        const page = await listRequests({ store }, query);
        for (const r of page.requests) {
          expect(r).not.toHaveProperty('payload');
          expect(r).not.toHaveProperty('owner');
          seen.push([r.token, r.status]);
        }
        if (!page.next_cursor) break;
        query = parseRequestListQuery({ limit: '2', cursor: page.next_cursor });
      }
      expect(seen).toEqual([
        [token(3), 'processing'],
        [token(2), 'queued'],
        [token(4), 'queued'],
        [token(6), 'waiting'],
        [token(1), 'dead'],
      ]);
      const dead = await listRequests({ store }, parseRequestListQuery({ status: 'dead' }));
      expect(dead.requests[0]).toMatchObject({ last_error: { code: 'SERVICE_UNAVAILABLE' } });
      expect(dead.next_cursor).toBeUndefined();
    });

    it('filters by operation', async () => {
      const store = await storeWith(record(1, 'queued'), record(2, 'queued'), record(3, 'queued'));
      const page = await listRequests({ store }, parseRequestListQuery({ operation: 'jira.add_comment' }));
      expect(page.requests.map((r) => r.token)).toEqual([token(1), token(3)]);
    });

    it('refuses a cursor of a status the query does not list', async () => {
      const store = await storeWith(record(1, 'queued'), record(2, 'queued'));
      const first = await listRequests({ store }, parseRequestListQuery({ status: 'queued', limit: '1' }));
      expect(first.next_cursor).toBeDefined();
      const err = rejection(() => parseRequestListQuery({ status: 'dead', cursor: first.next_cursor! }));
      expect(err).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'cursor' } });
    });
  });

  describe('getRequestView', () => {
    it("shows any owner's request with its timeline, never its payload or result", async () => {
      const store = await storeWith(
        record(7, 'completed', {
          depends_on: [token(1)],
          result: { secret: true },
          timeline: [{ at: '2026-11-23T10:00:07.000Z', event: 'submitted' }],
        }),
      );
      const view = await getRequestView({ store }, token(7));
      expect(view).toMatchObject({
        token: token(7),
        status: 'completed',
        owner: 'arn:aws:iam::1:user/u7',
        depends_on: [token(1)],
        timeline: [{ event: 'submitted' }],
      });
      expect(view).not.toHaveProperty('payload');
      expect(view).not.toHaveProperty('result');
    });

    it('shows the error that killed a request an operator retried as last_error', async () => {
      const lastError = { code: 'TIMEOUT' as const, message: 'slow', retryable: true };
      const store = await storeWith(record(8, 'queued', { last_error: lastError }));
      expect(await getRequestView({ store }, token(8))).toMatchObject({
        last_error: lastError,
        timeline: [],
      });
    });

    it.each([token(99), 'req_abc', 'nonsense', 'x'.repeat(500)])(
      'answers %s with 404 NOT_FOUND',
      async (t) => {
        const store = await storeWith(record(1, 'queued'));
        await expect(getRequestView({ store }, t)).rejects.toMatchObject({
          code: 'NOT_FOUND',
          httpStatus: 404,
        });
      },
    );
  });
});
