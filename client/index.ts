/** RIQ's TypeScript client: `QueueClient`, the queued Jira/Confluence adapters, typed errors, SigV4. */
export { QueueClient, TERMINAL_STATUSES, isTerminal } from './queue-client.js';
export {
  QueuedJiraAdapter,
  QueuedConfluenceAdapter,
  type QueuedAdapterOptions,
  type ReadOptions,
  type WriteOptions,
  type WriteOutcome,
  type CreateThenGetOutcome,
  type ConfluencePage,
  type ConfluenceSearchResult,
  type CreatedConfluencePage,
  type CreatedJiraComment,
  type CreatedJiraTask,
  type JiraSearchResult,
  type JiraTask,
  type TransitionedJiraTask,
  type UpdatedConfluencePage,
  type UpdatedJiraTask,
} from './adapters.js';
export {
  RiqClientError,
  RiqApiError,
  RiqNetworkError,
  RiqWaitTimeoutError,
  RiqRequestFailedError,
  isRiqClientError,
  isRiqApiError,
  type Unreachable,
} from './errors.js';
export {
  signRequest,
  shouldSign,
  regionFromEndpoint,
  defaultCredentialProvider,
  type RequestToSign,
  type SigningParams,
  type AwsCredentialIdentity,
  type AwsCredentialIdentityProvider,
} from './sigv4.js';
export type * from './types.js';
