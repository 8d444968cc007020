/**
 * The `$default` route: every method and path no route of API_ROUTES names. Answers 404 NOT_FOUND
 * in RIQ's error shape, or 405 (code NOT_FOUND) when the path is a route's with another method.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { API_ROUTES } from '../../model/config/routes.js';
import { NotFoundError } from '../../model/errors.js';
import { logger } from '../shared/logger.js';
import { type ApiEvent, type ApiResult, httpErrors, json } from './http.js';

const ROUTE_PATTERNS = API_ROUTES.map((r) => new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`));

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
  const known = ROUTE_PATTERNS.some((p) => p.test(path));
  const error = new NotFoundError(`no route ${method} ${path}`);
  logger.info('no route', { method, path });
  return json(known ? 405 : 404, { error: error.toBody() });
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors(logger))
  .handler(notFound);
