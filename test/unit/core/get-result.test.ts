import { describe, expect, it } from 'vitest';
import { RiqError } from '../../../model/errors.js';
import { getResult, parseWait, type ResultDeps } from '../../../lambdas/core/use-cases/get-result.js';
import { FakeClock, InMemoryStore } from '../../support/in-memory-store.js';

const TOKEN = `req_${'2'.repeat(32)}`;
const OWNER = 'arn:aws:iam::1:user/a';

async function setup(options: { hearsAllWrites?: boolean } = {}) {
  const store = new InMemoryStore();
  const clock = new FakeClock();
  const onSleep: Array<() => void> = [];
  const pauses: number[] = [];
  let reads = 0;
  const deps: ResultDeps = {
    store: {
      get: (token) => {
        reads++;
        return store.get(token);
      },
    },
    clock,
    longPollCapSeconds: 25,
    changes: {
      waitForChange: async (_token, ms) => {
        pauses.push(ms);
        clock.advance(ms);
        onSleep.shift()?.();
      },
      hearsAllWrites: () => options.hearsAllWrites ?? false,
    },
  };
  await store.insert({
    token: TOKEN,
    owner: OWNER,
    operation: 'jira.get_task',
    service: 'jira',
    priority: 'normal',
    payload: { task_id: 'MD-1' },
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: 'x',
    updated_at: 'x',
  });
  return { store, clock, deps, onSleep, pauses, reads: () => reads };
}

describe('getResult', () => {
  it('answers at once without wait', async () => {
    const { deps, clock } = await setup();
    const t0 = clock.now();
    expect((await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 0 })).status).toBe('queued');
    expect(clock.now()).toBe(t0);
  });

  it('long-polls until the request is terminal, then returns it', async () => {
    const { deps, store, clock, onSleep } = await setup();
    const t0 = clock.now();
    onSleep.push(
      () => undefined,
      () => {
        const r = store.records.get(TOKEN)!;
        Object.assign(r, { status: 'completed', result: { key: 'MD-1' } });
      },
    );
    const res = await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 20 });
    expect(res).toMatchObject({ status: 'completed', result: { key: 'MD-1' } });
    expect(clock.now() - t0).toBeLessThan(1000);
  });

  it('answers a stored error with details, {} when the record has none', async () => {
    const { deps, store } = await setup();
    const stored = { code: 'NOT_FOUND', message: 'issue MD-9 does not exist', retryable: false } as const;
    Object.assign(store.records.get(TOKEN)!, { status: 'failed', error: stored });
    const res = await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 0 });
    expect(res.error).toEqual({ ...stored, details: {} });
    Object.assign(store.records.get(TOKEN)!, { error: { ...stored, details: { status: 404 } } });
    expect((await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 0 })).error).toEqual({
      ...stored,
      details: { status: 404 },
    });
  });

  it('re-reads after 100 ms, then at doubling pauses up to 500 ms, while writes may go unheard', async () => {
    const { deps, pauses } = await setup();
    await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 3 });
    expect(pauses).toEqual([100, 200, 400, 500, 500, 500, 500, 300]);
  });

  it('reads only on a heard write, or every 2 s, where every write is heard', async () => {
    const { deps, pauses, reads, store, onSleep } = await setup({ hearsAllWrites: true });
    onSleep.push(
      () => undefined,
      () => Object.assign(store.records.get(TOKEN)!, { status: 'completed' }),
    );
    const res = await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 20 });
    expect(res.status).toBe('completed');
    expect(pauses).toEqual([2000, 2000]);
    expect(reads()).toBe(3);
  });

  it('gives up after the wait and returns the current state', async () => {
    const { deps, clock } = await setup();
    const t0 = clock.now();
    expect((await getResult(deps, { token: TOKEN, owner: OWNER, waitSeconds: 3 })).status).toBe('queued');
    expect(clock.now() - t0).toBe(3000);
  });

  it('hides other callers’ requests behind 404', async () => {
    const { deps } = await setup();
    const err = await getResult(deps, { token: TOKEN, owner: 'arn:aws:iam::1:user/b', waitSeconds: 0 }).catch(
      (e: unknown) => e,
    );
    expect((err as RiqError).code).toBe('NOT_FOUND');
  });

  it.each([
    'req_abc123',
    'req_nope',
    TOKEN.toUpperCase(),
    `cst_${TOKEN.slice(4)}`,
    '%E0%A4%A',
    'x'.repeat(128),
  ])('answers NOT_FOUND for %s, a token that does not exist, whatever its shape', async (token) => {
    const { deps } = await setup();
    const err = await getResult(deps, { token, owner: OWNER, waitSeconds: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND', details: { field: 'token' } });
  });

  it.each([
    ['empty', ''],
    ['over 128 characters', 'x'.repeat(129)],
    ['a NUL', 'req_\u0000'],
    ['a newline', `${TOKEN}\n`],
    ['DEL', 'req_\u007f'],
    ['a C1 control', 'req_\u0085'],
  ])('rejects with a 400 a segment that cannot be a token: %s', async (_, token) => {
    const { deps } = await setup();
    const err = await getResult(deps, { token, owner: OWNER, waitSeconds: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'token' } });
  });
});

describe('parseWait', () => {
  it('clamps to the cap and rejects nonsense', () => {
    expect(parseWait(undefined, 25)).toBe(0);
    expect(parseWait('10', 25)).toBe(10);
    expect(parseWait('600', 25)).toBe(25);
    // Any whole number is clamped, however many digits it has.
    expect(parseWait('1000000', 25)).toBe(25);
    expect(parseWait('9'.repeat(400), 25)).toBe(25);
    for (const bad of ['-1', '1.5', 'abc', '1e3', '+5', ' 5', '0x10']) {
      expect(() => parseWait(bad, 25)).toThrow(RiqError);
    }
  });
});
