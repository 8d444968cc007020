import { describe, expect, it } from 'vitest';
import {
  FunctionTimeoutError,
  invokeWithTimeout,
  noteUpstreamWait,
  observeInvocations,
  type InvocationTiming,
} from '../../../local/lambda-invoke.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('invokeWithTimeout', () => {
  it("answers the handler's result, with a context counting down from the function's timeout", async () => {
    let remaining = 0;
    const value = await invokeWithTimeout(
      async (event: { n: number }, context) => {
        remaining = context.getRemainingTimeInMillis();
        return event.n + 1;
      },
      { n: 1 },
      { functionName: 'riq-test', timeoutSeconds: 2 },
    );
    expect(value).toBe(2);
    expect(remaining).toBeLessThanOrEqual(2_000);
    expect(remaining).toBeGreaterThan(1_500);
  });

  it('fails the invocation at the timeout, and ignores what the handler does later', async () => {
    const late: Array<{ error?: unknown }> = [];
    let finished = false;
    const started = Date.now();
    const invocation = invokeWithTimeout(
      async () => {
        await sleep(300);
        finished = true;
        return 'too late';
      },
      {},
      { functionName: 'riq-slow', timeoutSeconds: 0.1 },
      { onLate: (outcome) => late.push(outcome) },
    );
    await expect(invocation).rejects.toBeInstanceOf(FunctionTimeoutError);
    await expect(invocation).rejects.toThrow('riq-slow: Task timed out after 0.1 seconds');
    expect(Date.now() - started).toBeLessThan(290);
    expect(finished).toBe(false);
    await sleep(400);
    expect(finished).toBe(true);
    expect(late).toEqual([{}]);
  });

  it('hands a late error to onLate instead of the invoker (no unhandled rejection)', async () => {
    const late: Array<{ error?: unknown }> = [];
    const invocation = invokeWithTimeout(
      async () => {
        await sleep(150);
        throw new Error('late failure');
      },
      {},
      { functionName: 'riq-slow', timeoutSeconds: 0.05 },
      { onLate: (outcome) => late.push(outcome) },
    );
    await expect(invocation).rejects.toBeInstanceOf(FunctionTimeoutError);
    await sleep(250);
    expect(late).toHaveLength(1);
    expect(String(late[0]?.error)).toContain('late failure');
  });

  it('passes on an error the handler throws in time', async () => {
    await expect(
      invokeWithTimeout(
        () => {
          throw new Error('at once');
        },
        {},
        { functionName: 'riq-throws', timeoutSeconds: 1 },
      ),
    ).rejects.toThrow('at once');
  });

  describe('timing', () => {
    it("tells observers each invocation's duration and the part spent waiting upstream, overlaps once", async () => {
      const timings: InvocationTiming[] = [];
      const stop = observeInvocations((t) => timings.push(t));
      try {
        await invokeWithTimeout(
          async () => {
            await sleep(40);
            // Two calls in flight together for 100 ms, then one alone for 50 ms: 150 ms waited.
            const a = noteUpstreamWait();
            const b = noteUpstreamWait();
            await sleep(100);
            a();
            await sleep(50);
            b();
            b(); // ending a call twice counts once
          },
          {},
          { functionName: 'riq-timed', timeoutSeconds: 2 },
        );
      } finally {
        stop();
      }
      expect(timings).toHaveLength(1);
      const [t] = timings;
      expect(t?.functionName).toBe('riq-timed');
      expect(t?.timedOut).toBe(false);
      expect(t?.upstreamMs).toBeGreaterThanOrEqual(145);
      expect(t?.upstreamMs).toBeLessThan(250);
      expect(t?.durationMs).toBeGreaterThanOrEqual(185);
      expect(t!.durationMs - t!.upstreamMs).toBeGreaterThanOrEqual(35);
    });

    it('counts no upstream wait outside an invocation, and keeps concurrent invocations apart', async () => {
      noteUpstreamWait()(); // outside any invocation: a no-op
      const timings: InvocationTiming[] = [];
      const stop = observeInvocations((t) => timings.push(t));
      try {
        await Promise.all([
          invokeWithTimeout(
            async () => {
              const done = noteUpstreamWait();
              await sleep(80);
              done();
            },
            {},
            { functionName: 'riq-waits', timeoutSeconds: 2 },
          ),
          invokeWithTimeout(() => sleep(80), {}, { functionName: 'riq-works', timeoutSeconds: 2 }),
        ]);
      } finally {
        stop();
      }
      const by = Object.fromEntries(timings.map((t) => [t.functionName, t]));
      expect(by['riq-waits']?.upstreamMs).toBeGreaterThanOrEqual(75);
      expect(by['riq-works']?.upstreamMs).toBe(0);
    });

    it('reports a timed-out invocation as such when it settles, and nothing once stopped', async () => {
      const timings: InvocationTiming[] = [];
      const stop = observeInvocations((t) => timings.push(t));
      await expect(
        invokeWithTimeout(() => sleep(120), {}, { functionName: 'riq-late', timeoutSeconds: 0.05 }),
      ).rejects.toBeInstanceOf(FunctionTimeoutError);
      await sleep(150);
      stop();
      await invokeWithTimeout(async () => 1, {}, { functionName: 'riq-unseen', timeoutSeconds: 1 });
      expect(timings.map((t) => [t.functionName, t.timedOut])).toEqual([['riq-late', true]]);
    });
  });
});
