import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { REQUESTS_TABLE, RUNTIME_ENV, type RiqConfig } from '../../model/config/index.js';
import type { RiqFunction } from './riq-function.js';

export interface AtlassianCallerProps {
  readonly config: RiqConfig;
  readonly table: ITable;
  /** Holds `{email, api_token}` or the OAuth grant (see lambdas/adapters/atlassian/connection.ts). */
  readonly atlassianSecret: ISecret;
}

/**
 * What a function that calls Atlassian for a request and settles it needs (lambdas/shared/
 * call-and-settle.ts): the workers, and the submit function for its DIRECT calls. Queue permissions are
 * each function's own.
 */
export function allowAtlassianCalls(fn: RiqFunction, props: AtlassianCallerProps): void {
  // PutItem: the rate-limit bucket, circuit-breaker and read-cache items are written whole,
  // conditionally, and so are the Powertools idempotency records of the calls
  // (lambdas/adapters/dynamodb/idempotent-executor.ts). UpdateItem: the requests, and the issue/page
  // write locks, taken and released in place so their write window stays
  // (lambdas/adapters/dynamodb/dynamo-write-lock.ts).
  fn.useTable(props.table, { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'] });
  // DeleteItem: Powertools deletes the record of a call that failed, so the retry calls again, and
  // a write deletes the read-cache entries it made stale (`CACHE#…`,
  // lambdas/adapters/dynamodb/dynamo-read-cache.ts). Only those items: no caller of Atlassian ever
  // deletes a request or a write lock.
  fn.useTable(props.table, {
    actions: ['dynamodb:DeleteItem'],
    leadingKeyPrefixes: [REQUESTS_TABLE.callKeyPrefix, REQUESTS_TABLE.cacheKeyPrefix],
  });
  // Written too: with OAuth credentials, every refresh rotates the refresh token stored there.
  fn.useSecret(RUNTIME_ENV.atlassianSecretArn, props.atlassianSecret, { write: true });
  const siteUrl = props.config.atlassian.siteUrl?.replace(/\/+$/, '');
  if (siteUrl) {
    // API token: the base URLs. OAuth: calls go to the api.atlassian.com gateway (the cloudId is
    // in the secret) and the site URL only makes the browser links.
    fn.addEnvironment(RUNTIME_ENV.atlassianSiteUrl, siteUrl);
    fn.addEnvironment(RUNTIME_ENV.jiraBaseUrl, siteUrl);
    fn.addEnvironment(RUNTIME_ENV.confluenceBaseUrl, `${siteUrl}/wiki`);
  }
}
