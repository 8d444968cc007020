/** Public request tokens (`req_<32 hex>`) and the consistency tokens of writes (`cst_<same hex>`). */
import { randomUUID } from 'node:crypto';
import { ValidationError } from '../../../model/errors.js';

const TOKEN_PATTERN = /^req_[0-9a-f]{32}$/;

export function newRequestToken(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

export function isRequestToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/** Longest path segment a route looks up as a request token. */
export const MAX_TOKEN_SEGMENT_LENGTH = 128;

const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Checks the `{token}` of a route (result, dead-letter retry and purge). Any segment that could name
 * a request is looked up, so a token that does not exist answers 404 whatever its shape (`req_abc`,
 * upper case, a `cst_` token); only one that cannot be a token at all — empty, over
 * {@link MAX_TOKEN_SEGMENT_LENGTH} characters, or holding a control character — is a 400.
 */
export function checkTokenSegment(value: string): void {
  if (value.length === 0) throw ValidationError.forField('token', 'must not be empty');
  if (value.length > MAX_TOKEN_SEGMENT_LENGTH)
    throw ValidationError.forField('token', `must be at most ${MAX_TOKEN_SEGMENT_LENGTH} characters`);
  if (CONTROL_CHARACTER.test(value))
    throw ValidationError.forField('token', 'must not contain control characters');
}

/** A write's consistency token names the write's request, so it lives exactly as long as the record. */
export function consistencyTokenFor(requestToken: string): string {
  return `cst_${requestToken.slice('req_'.length)}`;
}

const CONSISTENCY_PATTERN = /^cst_[0-9a-f]{32}$/;

export function isConsistencyToken(value: string): boolean {
  return CONSISTENCY_PATTERN.test(value);
}

/** The request token of the write a consistency token names (`cst_<hex>` → `req_<hex>`). */
export function requestTokenOfConsistency(consistencyToken: string): string {
  return `req_${consistencyToken.slice('cst_'.length)}`;
}
