/** Basic auth as Atlassian Cloud checks it for API tokens: `Authorization: Basic base64(email:token)`. */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { jiraError, type SimResponse } from './router.js';

export interface SimCredentials {
  email: string;
  apiToken: string;
}

/** Undefined when the request carries the configured credentials, else the 401 to answer. */
export function checkBasicAuth(
  headers: IncomingHttpHeaders,
  expected: SimCredentials,
): SimResponse | undefined {
  const header = headers.authorization ?? '';
  const match = /^Basic\s+(\S+)$/i.exec(header);
  const given = match?.[1] ? Buffer.from(match[1], 'base64') : Buffer.alloc(0);
  const want = Buffer.from(`${expected.email}:${expected.apiToken}`, 'utf8');
  if (given.length === want.length && timingSafeEqual(given, want)) return undefined;
  return jiraError(401, ['Client must be authenticated to access this resource.']);
}
