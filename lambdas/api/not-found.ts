/**
 * The `$default` route: every method and path no route of API_ROUTES names. Answers 404 NOT_FOUND
 * in RIQ's error shape, or 405 METHOD_NOT_ALLOWED with an `Allow` header when the path is a route's
 * with another method.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { API_ROUTES } from '../../model/config/routes.js';
import { NotFoundError, RiqError } from '../../model/errors.js';
import { logger } from '../shared/logger.js';
import { type ApiEvent, type ApiResult, httpErrors, json } from './http.js';

const ROUTE_PATTERNS = API_ROUTES.map((r) => ({
  method: r.method,
  pattern: new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`),
}));

/** The methods the routes serve on `path`, in the order API_ROUTES declares them; none for an unknown path. */
export function allowedMethods(path: string): string[] {
  return [...new Set(ROUTE_PATTERNS.filter((r) => r.pattern.test(path)).map((r) => r.method))];
}

/** The request's path without the stage: a named stage's URLs (`/dev/api/…`) carry it in rawPath. */
export function pathInStage(event: Pick<ApiEvent, 'rawPath' | 'requestContext'>): string {
  const stage = event.requestContext?.stage;
  const path = event.rawPath ?? '/';
  if (!stage || stage === '$default') return path;
  const prefix = `/${stage}`;
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
}

async function notFound(event: ApiEvent): Promise<ApiResult> {
  const path = pathInStage(event);
  const method = event.requestContext?.http?.method ?? 'GET';
  const allowed = allowedMethods(path);
  logger.info('no route', { method, path });
  if (allowed.length === 0)
    return json(404, { error: new NotFoundError(`no route ${method} ${path}`, { method, path }).toBody() });
  const allow = allowed.join(', ');
  const error = new RiqError('METHOD_NOT_ALLOWED', `${path} answers ${allow}, not ${method}`, {
    method,
    allowed,
  });
  const answer = json(405, { error: error.toBody() });
  return { ...answer, headers: { ...answer.headers, allow } };
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors(logger))
  .handler(notFound);
