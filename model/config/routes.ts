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
] as const;
export type ApiFunctionName = (typeof API_FUNCTIONS)[number];

export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway resource path; `{name}` is a path parameter. */
  path: string;
  fn: ApiFunctionName;
  /** Operator routes: on AWS only the stack's operator role may call them. @default false */
  operator?: boolean;
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'POST', path: '/api/queue/submit', fn: 'submit' },
  { method: 'GET', path: '/api/queue/result/{token}', fn: 'result' },
  { method: 'GET', path: '/api/queue/health', fn: 'health' },
  { method: 'GET', path: '/api/queue/circuit-breakers', fn: 'circuitBreakers' },
  { method: 'GET', path: '/api/queue/metrics', fn: 'metrics' },
  { method: 'GET', path: '/api/queue/dead-letters', fn: 'deadLetters', operator: true },
  // Declared before `{token}` routes of the same depth so the local server matches it first.
  { method: 'POST', path: '/api/queue/dead-letters/redrive', fn: 'deadLetters', operator: true },
  { method: 'POST', path: '/api/queue/dead-letters/{token}/retry', fn: 'deadLetters', operator: true },
  { method: 'DELETE', path: '/api/queue/dead-letters/{token}', fn: 'deadLetters', operator: true },
];

/**
 * API Gateway's own 5xx answers (its DEFAULT_5XX gateway response, lib/constructs/api.ts), which a
 * function that throws or times out gets through the proxy integration: 502 `Internal server
 * error`, or 504 `Endpoint request timed out` past the integration timeout. The body is RIQ's error
 * shape with this code; `details.checked_by` is `api_gateway`.
 */
export const GATEWAY_5XX_ERROR = { code: 'INTERNAL_ERROR', retryable: true } as const;

/** Entry file of each Lambda, relative to the repository root. */
export const FUNCTION_ENTRIES = {
  submit: 'lambdas/api/submit.ts',
  result: 'lambdas/api/result.ts',
  health: 'lambdas/api/health.ts',
  circuitBreakers: 'lambdas/api/circuit-breakers.ts',
  deadLetters: 'lambdas/api/dead-letters.ts',
  metrics: 'lambdas/api/metrics.ts',
  worker: 'lambdas/worker/handler.ts',
  sweeper: 'lambdas/sweeper/handler.ts',
} as const;
