/**
 * The HTTP routes and the API Lambda serving each. The CDK API construct and the local HTTP server
 * both build their routing from this list.
 */
export const API_FUNCTIONS = [
  'submit',
  'result',
  'health',
  'circuitBreakers',
  'deadLetters',
  'metrics',
  'notFound',
] as const;
export type ApiFunctionName = (typeof API_FUNCTIONS)[number];

export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** The route's path (HTTP API route key `METHOD path`); `{name}` is a path parameter. */
  path: string;
  fn: ApiFunctionName;
  /**
   * Operator routes: only the operator principal may call them (IAM on the route, then the
   * function's check of the caller's ARN, lambdas/api/http.ts `requireOperator`). @default false
   */
  operator?: boolean;
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'POST', path: '/api/queue/submit', fn: 'submit' },
  { method: 'GET', path: '/api/queue/result/{token}', fn: 'result' },
  { method: 'GET', path: '/api/queue/health', fn: 'health' },
  { method: 'GET', path: '/api/queue/circuit-breakers', fn: 'circuitBreakers' },
  { method: 'GET', path: '/api/queue/metrics', fn: 'metrics' },
  { method: 'GET', path: '/api/queue/requests', fn: 'deadLetters', operator: true },
  { method: 'GET', path: '/api/queue/requests/{token}', fn: 'deadLetters', operator: true },
  { method: 'GET', path: '/api/queue/dead-letters', fn: 'deadLetters', operator: true },
  // Declared before `{token}` routes of the same depth so the local server matches it first.
  { method: 'POST', path: '/api/queue/dead-letters/redrive', fn: 'deadLetters', operator: true },
  { method: 'POST', path: '/api/queue/dead-letters/{token}/retry', fn: 'deadLetters', operator: true },
  { method: 'DELETE', path: '/api/queue/dead-letters/{token}', fn: 'deadLetters', operator: true },
];

/**
 * What API Gateway's HTTP API answers by itself, in its own shape `{"message": …}` (an HTTP API has
 * no gateway responses to reshape them): a function that throws or times out, the integration
 * timeout, a body over its 10 MiB payload limit. Unsigned or badly signed requests (403
 * `Forbidden`) and stage throttling (429 `Too Many Requests`) are answered the same way. The local
 * server (local/api-server.ts) answers the first three as the HTTP API does.
 */
export const HTTP_API_ANSWERS = {
  functionError: { status: 500, message: 'Internal Server Error' },
  integrationTimeout: { status: 503, message: 'Service Unavailable' },
  tooLarge: { status: 413, message: 'Request Entity Too Large' },
  forbidden: { status: 403, message: 'Forbidden' },
  throttled: { status: 429, message: 'Too Many Requests' },
} as const;

/** Entry file of each Lambda, relative to the repository root. */
export const FUNCTION_ENTRIES = {
  submit: 'lambdas/api/submit.ts',
  result: 'lambdas/api/result.ts',
  health: 'lambdas/api/health.ts',
  circuitBreakers: 'lambdas/api/circuit-breakers.ts',
  deadLetters: 'lambdas/api/dead-letters.ts',
  metrics: 'lambdas/api/metrics.ts',
  notFound: 'lambdas/api/not-found.ts',
  worker: 'lambdas/worker/handler.ts',
  sweeper: 'lambdas/sweeper/handler.ts',
} as const;
