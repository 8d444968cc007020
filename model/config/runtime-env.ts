/**
 * The environment contract between the deployers (CDK app, local stack) and the Lambda handlers.
 * Both sides use these names; the handlers read them once, in lambdas/shared/env.ts.
 */
export const RUNTIME_ENV = {
  /** The resolved RiqConfig as JSON. */
  settings: 'RIQ_SETTINGS',
  /** Name of the requests table. */
  tableName: 'RIQ_TABLE_NAME',
  /** JSON map QueueKey → queue URL. */
  queueUrls: 'RIQ_QUEUE_URLS',
  /** JSON map QueueKey → dead-letter queue URL. */
  deadLetterQueueUrls: 'RIQ_DLQ_URLS',
  /**
   * How the dead-letter API moves messages back to their source queues: `move_task` (SQS
   * StartMessageMoveTask, on AWS) or `copy` (receive, send, delete: emulators without move tasks).
   */
  deadLetterRedrive: 'RIQ_DLQ_REDRIVE',
  /**
   * The one principal the operator routes answer (lambdas/api/http.ts `requireOperator`): on AWS the
   * stack's operator role ARN (its sessions match), locally the local stack's default caller.
   */
  operatorArn: 'RIQ_OPERATOR_ARN',
  /** The S3 bucket of large payloads and results (claim check, lambdas/adapters/s3/s3-body-store.ts). */
  bodyBucket: 'RIQ_BODY_BUCKET',
  /**
   * The bodies bucket's regional domain name (`<bucket>.s3.<region>.amazonaws.com`): where its
   * objects are on AWS. Not read when an S3 endpoint is set (`AWS_ENDPOINT_URL_S3`).
   */
  bodyBucketDomain: 'RIQ_BODY_BUCKET_DOMAIN',
  /**
   * `true`: address the bodies bucket path-style under the S3 endpoint (`http://host/bucket/key`),
   * for S3 emulators whose bucket host names (`bucket.host`) do not resolve. Absent on AWS.
   */
  s3PathStyle: 'RIQ_S3_PATH_STYLE',
  /** JSON map QueueKey → dead-letter queue ARN (StartMessageMoveTask takes ARNs). */
  deadLetterQueueArns: 'RIQ_DLQ_ARNS',
  /** JSON map QueueKey → queue ARN: where a dead-letter queue's move task sends its messages. */
  queueArns: 'RIQ_QUEUE_ARNS',
  /**
   * The Atlassian site (`https://site.atlassian.net`): API-token calls go to it (Jira) and to
   * `${site}/wiki` (Confluence); browser links always use it. lambdas/shared/env.ts reads every
   * Atlassian variable below; lambdas/adapters/atlassian/connection.ts builds the connection.
   */
  atlassianSiteUrl: 'ATLASSIAN_SITE_URL',
  /** API-token mode: Jira base URL, when not the site itself. */
  jiraBaseUrl: 'JIRA_BASE_URL',
  /** API-token mode: Confluence base URL including `/wiki`, when not `${site}/wiki`. */
  confluenceBaseUrl: 'CONFLUENCE_BASE_URL',
  /** Basic-auth e-mail and API token, when given directly (the local stack). */
  atlassianEmail: 'ATLASSIAN_EMAIL',
  atlassianApiToken: 'ATLASSIAN_API_TOKEN',
  /** OAuth 2.0 (3LO), when given directly (the local stack). */
  atlassianOAuthClientId: 'ATLASSIAN_OAUTH_CLIENT_ID',
  atlassianOAuthClientSecret: 'ATLASSIAN_OAUTH_CLIENT_SECRET',
  /** The grant's first refresh token (a token file, once written, holds the newer ones). */
  atlassianOAuthRefreshToken: 'ATLASSIAN_OAUTH_REFRESH_TOKEN',
  /** The site's cloudId (from `GET https://api.atlassian.com/oauth/token/accessible-resources`). */
  atlassianCloudId: 'ATLASSIAN_CLOUD_ID',
  /** @default https://auth.atlassian.com/oauth/token */
  atlassianOAuthTokenUrl: 'ATLASSIAN_OAUTH_TOKEN_URL',
  /** OAuth calls go to `${gateway}/ex/{product}/{cloudId}`. @default https://api.atlassian.com */
  atlassianApiGatewayUrl: 'ATLASSIAN_API_GATEWAY_URL',
  /** Local OAuth: a JSON file (mode 0600) keeping the rotated refresh token across restarts. */
  atlassianOAuthTokenFile: 'ATLASSIAN_OAUTH_TOKEN_FILE',
  /**
   * On AWS: the Secrets Manager secret holding `{"email", "api_token"}` or `{"client_id",
   * "client_secret", "refresh_token", "cloud_id", …}` (wins over the credentials above).
   */
  atlassianSecretArn: 'ATLASSIAN_SECRET_ARN',
} as const;
