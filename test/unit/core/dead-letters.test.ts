import { describe, expect, it } from 'vitest';
import {
  decodeCursor,
  encodeCursor,
  listDeadLetters,
  parseListQuery,
  parseRedriveBody,
  purgeDeadLetter,
  redriveDeadLetters,
  retryDeadLetter,
  type DeadLetterDeps,
} from '../../../lambdas/core/use-cases/dead-letters.js';
import { RiqError } from '../../../model/errors.js';
import type { DeadLetterRedriver, RedriveOutcome } from '../../../lambdas/core/ports/index.js';
import type { RequestRecord, Status } from '../../../model/request-record.js';
import type { QueueKey } from '../../../model/config/resources.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

const token = (n: number) => `req_${String(n).padStart(32, '0')}`;

function record(n: number, status: Status, extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    token: token(n),
    owner: 'arn:aws:iam::1:user/a',
    operation: 'jira.get_task',
    service: 'jira',
    priority: 'low',
    payload: { task_id: `MD-${n}` },
    status,
    routing_path: 'QUEUED',
    attempts: status === 'dead' ? 4 : 0,
    created_at: `2026-11-23T10:00:${String(n).padStart(2, '0')}.000Z`,
    updated_at: '2026-11-23T10:01:00.000Z',
    ...(status === 'dead'
      ? { error: { code: 'SERVICE_UNAVAILABLE', message: '503', retryable: true, details: { attempt: 4 } } }
      : {}),
    ...extra,
  } as RequestRecord;
}

class RecordingRedriver implements DeadLetterRedriver {
  queues: QueueKey[] = [];
  async redrive(queue: QueueKey): Promise<RedriveOutcome> {
    this.queues.push(queue);
    return { queue, mode: 'copy', moved: 1 };
  }
}

function setup(records: RequestRecord[] = []) {
  const store = new InMemoryStore();
  for (const r of records) store.records.set(r.token, structuredClone(r));
  const sent: Array<{ queue: QueueKey; token: string }> = [];
  let failSend = false;
  const failures: string[] = [];
  const redriver = new RecordingRedriver();
  const deps: DeadLetterDeps = {
    store,
    queue: {
      send: async (queue, t) => {
        if (failSend) throw new Error('SQS down');
        sent.push({ queue, token: t });
      },
    },
    redriver,
    clock: new FakeClock(),
    onEnqueueFailure: (t) => failures.push(t),
  };
  return { store, sent, deps, redriver, failures, failSends: () => (failSend = true) };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RiqError) return `${err.httpStatus} ${err.code}`;
    throw err;
  }
  return 'no error';
}

describe('dead letters', () => {
  describe('parseListQuery', () => {
    it('defaults to 25 per page over every service', () => {
      expect(parseListQuery(null)).toEqual({ limit: 25 });
    });

    it('takes limit, service and a cursor it issued', () => {
      const cursor = encodeCursor({ pk: 'REQ#x', status: 'dead', created_at: 'T' });
      expect(parseListQuery({ limit: '10', service: 'confluence', cursor })).toEqual({
        limit: 10,
        service: 'confluence',
        startKey: { pk: 'REQ#x', status: 'dead', created_at: 'T' },
      });
    });

    it.each([
      [{ limit: '0' }, 'limit'],
      [{ limit: '101' }, 'limit'],
      [{ limit: '5x' }, 'limit'],
      [{ service: 'bitbucket' }, 'service'],
      [{ cursor: 'not base64!' }, 'cursor'],
      [{ cursor: Buffer.from('[1]').toString('base64url') }, 'cursor'],
      [{ cursor: Buffer.from('{}').toString('base64url') }, 'cursor'],
      [{ page: '2' }, 'page'],
    ])('rejects %j with VALIDATION_ERROR on %s', (params, field) => {
      try {
        parseListQuery(params);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(RiqError);
        expect((err as RiqError).code).toBe('VALIDATION_ERROR');
        expect((err as RiqError).details?.['field']).toBe(field);
      }
    });

    it('round-trips a cursor', () => {
      const key = { pk: 'REQ#a', status: 'dead', created_at: '2026' };
      expect(decodeCursor(encodeCursor(key))).toEqual(key);
    });
  });

  describe('listDeadLetters', () => {
    it('pages through dead requests only, oldest first, with an opaque cursor', async () => {
      const { deps } = setup([
        record(1, 'dead'),
        record(2, 'completed'),
        record(3, 'dead', { service: 'confluence', operation: 'confluence.get_page' }),
        record(4, 'dead'),
      ]);
      const first = await listDeadLetters(deps, { limit: 2 });
      expect(first.dead_letters.map((d) => d.token)).toEqual([token(1), token(3)]);
      expect(first.dead_letters[0]).toMatchObject({
        service: 'jira',
        attempts: 4,
        error: { code: 'SERVICE_UNAVAILABLE' },
      });
      expect(first.next_cursor).toEqual(expect.any(String));
      const second = await listDeadLetters(deps, parseListQuery({ limit: '2', cursor: first.next_cursor! }));
      expect(second.dead_letters.map((d) => d.token)).toEqual([token(4)]);
      expect(second.next_cursor).toBeNull();
    });

    it('filters by service', async () => {
      const { deps } = setup([record(1, 'dead'), record(3, 'dead', { service: 'confluence' })]);
      const page = await listDeadLetters(deps, { limit: 10, service: 'confluence' });
      expect(page.dead_letters.map((d) => d.token)).toEqual([token(3)]);
      expect(page.count).toBe(1);
    });
  });

  describe('retryDeadLetter', () => {
    it('requeues a dead request with attempts reset, keeps its error as last_error, and re-enqueues it', async () => {
      const { deps, store, sent } = setup([record(1, 'dead')]);
      expect(await retryDeadLetter(deps, token(1))).toEqual({
        token: token(1),
        status: 'queued',
        attempts: 0,
        queue: 'jira-low',
        enqueued: true,
      });
      const stored = (await store.get(token(1))) as RequestRecord & { last_error?: unknown };
      expect(stored).toMatchObject({ status: 'queued', attempts: 0 });
      expect(stored.error).toBeUndefined();
      expect(stored.last_error).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(sent).toEqual([{ queue: 'jira-low', token: token(1) }]);
    });

    it('answers 404 for a token that does not exist, whatever its shape, and 400 for one that cannot be a token, changing nothing', async () => {
      const { deps, sent } = setup();
      expect(await codeOf(retryDeadLetter(deps, token(9)))).toBe('404 NOT_FOUND');
      expect(await codeOf(retryDeadLetter(deps, 'nope'))).toBe('404 NOT_FOUND');
      expect(await codeOf(purgeDeadLetter(deps, 'req_abc123'))).toBe('404 NOT_FOUND');
      expect(await codeOf(retryDeadLetter(deps, ''))).toBe('400 VALIDATION_ERROR');
      expect(await codeOf(retryDeadLetter(deps, 'req_\u0000'))).toBe('400 VALIDATION_ERROR');
      expect(await codeOf(purgeDeadLetter(deps, 'a'.repeat(129)))).toBe('400 VALIDATION_ERROR');
      expect(sent).toEqual([]);
    });

    it.each(['queued', 'processing', 'completed', 'failed'] as const)(
      'answers 409 NOT_DEAD for a %s request and leaves it alone',
      async (status) => {
        const { deps, store, sent } = setup([record(1, status)]);
        const before = await store.get(token(1));
        expect(await codeOf(retryDeadLetter(deps, token(1)))).toBe('409 NOT_DEAD');
        expect(await store.get(token(1))).toEqual(before);
        expect(sent).toEqual([]);
      },
    );

    it('retries a request once: a second retry is a 409', async () => {
      const { deps } = setup([record(1, 'dead')]);
      await retryDeadLetter(deps, token(1));
      expect(await codeOf(retryDeadLetter(deps, token(1)))).toBe('409 NOT_DEAD');
    });

    it('keeps the record queued when the send fails, for the sweeper', async () => {
      const { deps, store, failures, failSends } = setup([record(1, 'dead')]);
      failSends();
      expect((await retryDeadLetter(deps, token(1))).enqueued).toBe(false);
      expect((await store.get(token(1)))?.status).toBe('queued');
      expect(failures).toEqual([token(1)]);
    });
  });

  describe('purgeDeadLetter', () => {
    it('deletes a dead request', async () => {
      const { deps, store } = setup([record(1, 'dead')]);
      expect(await purgeDeadLetter(deps, token(1))).toEqual({ token: token(1), purged: true });
      expect(await store.get(token(1))).toBeUndefined();
    });

    it('refuses anything not dead (409) or unknown (404)', async () => {
      const { deps, store } = setup([record(1, 'completed')]);
      expect(await codeOf(purgeDeadLetter(deps, token(1)))).toBe('409 NOT_DEAD');
      expect(await store.get(token(1))).toBeDefined();
      expect(await codeOf(purgeDeadLetter(deps, token(2)))).toBe('404 NOT_FOUND');
    });
  });

  describe('redrive', () => {
    it('redrives every dead-letter queue, or one service’s', async () => {
      const all = setup();
      expect((await redriveDeadLetters(all.deps, {})).redrives).toHaveLength(6);
      const one = setup();
      const answer = await redriveDeadLetters(one.deps, { service: 'confluence' });
      expect(answer.service).toBe('confluence');
      expect(one.redriver.queues).toEqual(['confluence-high', 'confluence-normal', 'confluence-low']);
    });

    it('parses its body strictly', () => {
      expect(parseRedriveBody(null)).toEqual({});
      expect(parseRedriveBody('{}')).toEqual({});
      expect(parseRedriveBody('{"service":"jira"}')).toEqual({ service: 'jira' });
      expect(() => parseRedriveBody('{"service":"x"}')).toThrow(/service/);
      expect(() => parseRedriveBody('{"queue":"jira-low"}')).toThrow(/queue/);
      expect(() => parseRedriveBody('[]')).toThrow(/JSON object/);
      // The same words as the submit body's.
      expect(() => parseRedriveBody('{')).toThrow('body: malformed JSON');
    });
  });
});
