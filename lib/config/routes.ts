/**
 * The HTTP routes and the API Lambda serving each. The CDK API construct and the local HTTP server
 * both build their routing from this list.
 */
export const API_FUNCTIONS = ['submit', 'result', 'health'] as const;
export type ApiFunctionName = (typeof API_FUNCTIONS)[number];

export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway resource path; `{name}` is a path parameter. */
  path: string;
  fn: ApiFunctionName;
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'POST', path: '/api/queue/submit', fn: 'submit' },
  { method: 'GET', path: '/api/queue/result/{token}', fn: 'result' },
  { method: 'GET', path: '/api/queue/health', fn: 'health' },
];

/** Entry file of each Lambda, relative to the repository root. */
export const FUNCTION_ENTRIES = {
  submit: 'lambdas/api/submit.ts',
  result: 'lambdas/api/result.ts',
  health: 'lambdas/api/health.ts',
  worker: 'lambdas/worker/handler.ts',
} as const;
