/** POST /api/queue/submit */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { parseSubmitBody } from '../core/domain/submit-command.js';
import { toSubmitResponse } from '../core/use-cases/submit-answer.js';
import { submit } from '../core/use-cases/submit.js';
import { onlyQueryParameters } from '../../model/query-parameters.js';
import { logger } from '../shared/logger.js';
import * as root from '../shared/root.js';
import { submitWiring } from '../shared/submit-wiring.js';
import { type ApiEvent, type ApiResult, bodyText, callerIdentity, httpErrors, json } from './http.js';

const { api } = root.settings();
const wiring = await submitWiring();

async function submitHandler(event: ApiEvent, context: Context): Promise<ApiResult> {
  onlyQueryParameters(event.queryStringParameters, []);
  const command = parseSubmitBody(bodyText(event), api.maxBodyBytes);
  const answer = await submit(wiring.depsFor(context), command, callerIdentity(event));
  wiring.observe(command, answer);
  const { statusCode, body } = toSubmitResponse(answer);
  return json(statusCode, body);
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger))
  .use(httpErrors(logger))
  .handler(submitHandler);
