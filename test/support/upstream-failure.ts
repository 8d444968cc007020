import { inspect } from 'node:util';
import { expect } from 'vitest';
import { UpstreamError } from '../../model/errors.js';

/**
 * The UpstreamError a call rejects with; fails the test when the call succeeds (saying what it
 * answered) or rejects with anything else.
 */
export async function upstreamFailure(promise: Promise<unknown>, call = 'the call'): Promise<UpstreamError> {
  const err = await promise.then(
    (value) => new Error(`expected ${call} to fail, it answered ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

/** Every string of an error a leaked secret could hide in: its inspection and its API body. */
export function everythingShownOf(err: UpstreamError): string {
  return inspect(err, { depth: 10 }) + JSON.stringify(err.toBody());
}
