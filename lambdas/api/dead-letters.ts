/**
 * The operator's routes (only the operator principal, RIQ_OPERATOR_ARN: on AWS the stack's
 * operator role; everyone else gets 403 PERMISSION_DENIED):
 *   GET    /api/queue/requests?status=&operation=&service=&limit=&cursor=
 *   GET    /api/queue/requests/{token}
 *   GET    /api/queue/dead-letters?service=&limit=&cursor=
 *   POST   /api/queue/dead-letters/{token}/retry
 *   DELETE /api/queue/dead-letters/{token}
 *   POST   /api/queue/dead-letters/redrive        body {"service"?}
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import {
  listDeadLetters,
  parseListQuery,
  parseRedriveBody,
  purgeDeadLetter,
  redriveDeadLetters,
  retryDeadLetter,
  type DeadLetterDeps,
} from '../core/use-cases/dead-letters.js';
import {
  getRequestView,
  listRequests,
  parseRequestListQuery,
  type OperatorRequestDeps,
} from '../core/use-cases/operator-requests.js';
import { NotFoundError } from '../../model/errors.js';
import { systemClock } from '../shared/clock.js';
import { logger } from '../shared/logger.js';
import * as root from '../shared/root.js';
import { type ApiEvent, type ApiResult, bodyText, httpErrors, json, requireOperator } from './http.js';

const operatorArn = root.operatorArn();
const deps: DeadLetterDeps & OperatorRequestDeps = {
  store: root.requestStore(),
  queue: root.workQueue(),
  redriver: root.deadLetterRedriver(),
  clock: systemClock,
  onEnqueueFailure: (token, err) =>
    logger.error('dead letter requeued but the send failed; the sweeper will re-enqueue it', {
      token,
      error: err as Error,
    }),
};

async function deadLetters(event: ApiEvent): Promise<ApiResult> {
  const operator = requireOperator(event, operatorArn);
  const token = event.pathParameters?.['token'] ?? '';
  // The route API Gateway matched: `METHOD /path/{param}`.
  const route = event.routeKey;
  switch (route) {
    case 'GET /api/queue/requests':
      return json(200, await listRequests(deps, parseRequestListQuery(event.queryStringParameters ?? null)));
    case 'GET /api/queue/requests/{token}':
      return json(200, await getRequestView(deps, token));
    case 'GET /api/queue/dead-letters':
      return json(200, await listDeadLetters(deps, parseListQuery(event.queryStringParameters ?? null)));
    case 'POST /api/queue/dead-letters/{token}/retry': {
      const answer = await retryDeadLetter(deps, token);
      logger.info('dead letter retried', { token, operator, queue: answer.queue, enqueued: answer.enqueued });
      return json(202, answer);
    }
    case 'DELETE /api/queue/dead-letters/{token}': {
      const answer = await purgeDeadLetter(deps, token);
      logger.info('dead letter purged', { token, operator });
      return json(200, answer);
    }
    case 'POST /api/queue/dead-letters/redrive': {
      const answer = await redriveDeadLetters(deps, parseRedriveBody(bodyText(event)));
      // `service` is the logger's own key (the function's name).
      logger.info('dead-letter queues redriven', {
        operator,
        target_service: answer.service,
        redrives: answer.redrives,
      });
      return json(202, answer);
    }
    default:
      throw new NotFoundError(`no route ${route}`);
  }
}

export const handler = middy<ApiEvent, ApiResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors(logger))
  .handler(deadLetters);
