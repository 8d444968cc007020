/**
 * HTTP plumbing shared by the API handlers: the middy middleware that maps errors to the contract's
 * error body (the one place that does), JSON responses, body decoding and the caller's identity.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import { RiqError, ValidationError, toRiqError } from '../../model/errors.js';

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * Errors under 500 are the caller's: their code, message and details go back. Anything else is
 * logged with its cause and answered with a bare INTERNAL_ERROR, so internals never leak.
 */
export function httpErrors(logger: Logger): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async function mapErrorToResponse(request) {
      const err = toRiqError(request.error);
      if (err.httpStatus >= 500 && err.code !== 'NOT_IMPLEMENTED') {
        logger.error('request failed', { error: request.error as Error });
        request.response = json(500, {
          error: new RiqError('INTERNAL_ERROR', 'internal error; see the logs for the request id').toBody(),
        });
        return;
      }
      logger.info('request rejected', { code: err.code, status: err.httpStatus, details: err.details });
      request.response = json(err.httpStatus, { error: err.toBody() });
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The request body as text; a body that is not valid UTF-8 is a 400. */
export function bodyText(event: APIGatewayProxyEvent): string | null {
  if (event.body === null || event.body === undefined) return null;
  if (!event.isBase64Encoded) return event.body;
  try {
    return utf8.decode(Buffer.from(event.body, 'base64'));
  } catch {
    throw ValidationError.forField('body', 'must be UTF-8 encoded JSON');
  }
}

/** The IAM identity API Gateway authenticated (SigV4): the request's owner. */
export function callerIdentity(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  const arn = identity?.userArn ?? identity?.caller;
  if (!arn) throw new RiqError('PERMISSION_DENIED', 'no caller identity on the request');
  return arn;
}
