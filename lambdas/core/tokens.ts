/** Public request tokens (`req_<32 hex>`) and the consistency tokens of writes (`cst_<same hex>`). */
import { randomUUID } from 'node:crypto';

const TOKEN_PATTERN = /^req_[0-9a-f]{32}$/;

export function newRequestToken(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

export function isRequestToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
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
