/** GET /api/queue/result/{token}?wait=N */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { getResult, parseWait, type ResultDeps } from '../core/use-cases/get-result.js';
import { systemClock } from '../shared/clock.js';
import { onlyQueryParameters } from '../../model/query-parameters.js';
import { logger } from '../shared/logger.js';
import { recordChanges } from '../shared/record-changes.js';
import * as root from '../shared/root.js';
import { type ApiEvent, type ApiResult, callerIdentity, httpErrors, json } from './http.js';

const config = root.settings();
const deps: ResultDeps = {
  store: root.requestStore(),
  clock: systemClock,
  changes: recordChanges,
  longPollCapSeconds: config.api.longPollCapSeconds,
  // A large result is read from the bodies bucket, or answered as a presigned URL of it.
  bodies: root.bodyStore(),
  limits: config.bodies,
};

async function result(event: ApiEvent): Promise<ApiResult> {
  onlyQueryParameters(event.queryStringParameters, ['wait']);
  const token = event.pathParameters?.['token'] ?? '';
  const waitSeconds = parseWait(event.queryStringParameters?.['wait'], config.api.longPollCapSeconds);
  return json(200, await getResult(deps, { token, owner: callerIdentity(event), waitSeconds }));
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors(logger))
  .handler(result);
