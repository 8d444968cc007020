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
  /** Jira base URL (`https://site.atlassian.net`). */
  jiraBaseUrl: 'JIRA_BASE_URL',
  /** Confluence base URL including `/wiki`. */
  confluenceBaseUrl: 'CONFLUENCE_BASE_URL',
  /** Basic-auth e-mail and API token, when given directly (the local stack). */
  atlassianEmail: 'ATLASSIAN_EMAIL',
  atlassianApiToken: 'ATLASSIAN_API_TOKEN',
  /** On AWS: the Secrets Manager secret holding `{"email", "api_token"}` (wins over the two above). */
  atlassianSecretArn: 'ATLASSIAN_SECRET_ARN',
} as const;
