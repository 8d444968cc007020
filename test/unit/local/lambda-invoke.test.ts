import { describe, expect, it } from 'vitest';
import { FunctionTimeoutError, invokeWithTimeout } from '../../../local/lambda-invoke.js';

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
});
