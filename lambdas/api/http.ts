/**
 * HTTP plumbing shared by the API handlers: the middy middleware that maps errors to the contract's
 * error body (the one place that does), JSON responses, body decoding, the caller's identity and
 * the operator check. Events are API Gateway HTTP API payload format 2.0 with the IAM authorizer.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import { RiqError, ValidationError, toRiqError } from '../../model/errors.js';

/** What every API function receives: an HTTP API (payload format 2.0) event, IAM-authorized. */
export type ApiEvent = APIGatewayProxyEventV2WithIAMAuthorizer;
/** What every API function answers: always a status and a body. */
export type ApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

export function json(statusCode: number, body: unknown): ApiResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * Errors under 500 are the caller's: their code, message and details go back. Anything else is
 * logged with its cause and answered with a bare INTERNAL_ERROR, so internals never leak.
 */
export function httpErrors(logger: Logger): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    onError: async function mapErrorToResponse(request) {
      const err = toRiqError(request.error);
      if (err.httpStatus >= 500 && err.code !== 'NOT_IMPLEMENTED') {
        logger.error('request failed', { path: request.event.rawPath, error: request.error as Error });
        request.response = json(500, {
          error: new RiqError('INTERNAL_ERROR', 'internal error; see the logs for the request id').toBody(),
        });
        return;
      }
      logger.info('request rejected', {
        path: request.event.rawPath,
        code: err.code,
        status: err.httpStatus,
        details: err.details,
      });
      request.response = json(err.httpStatus, { error: err.toBody() });
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `application/json`, or any `+json` type (`application/merge-patch+json`), with parameters or none. */
export function isJsonContentType(contentType: string): boolean {
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return /^application\/(?:[\w.-]+\+)?json$/.test(mediaType);
}

/**
 * The request body as text. A body sent with a `content-type` that is not JSON is a 415
 * UNSUPPORTED_MEDIA_TYPE naming it (a body without one is read as JSON); a body that is not valid
 * UTF-8 is a 400.
 */
export function bodyText(event: Pick<ApiEvent, 'body' | 'isBase64Encoded' | 'headers'>): string | null {
  if (event.body === null || event.body === undefined) return null;
  const contentType = event.headers?.['content-type'];
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    throw new RiqError(
      'UNSUPPORTED_MEDIA_TYPE',
      `content-type ${contentType} is not JSON; send the body as application/json`,
      { field: 'content-type', received: contentType },
    );
  }
  if (!event.isBase64Encoded) return event.body;
  try {
    return utf8.decode(Buffer.from(event.body, 'base64'));
  } catch {
    throw ValidationError.forField('body', 'must be UTF-8 encoded JSON');
  }
}

/**
 * The IAM identity API Gateway authenticated (SigV4): the request's owner. For an assumed role it
 * is the session's ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
 */
export function callerIdentity(event: Pick<ApiEvent, 'requestContext'>): string {
  const arn = event.requestContext?.authorizer?.iam?.userArn;
  if (!arn) throw new RiqError('PERMISSION_DENIED', 'no caller identity on the request');
  return arn;
}

/**
 * Whether `callerArn` is the operator principal `operatorArn`: the principal itself, or, for a
 * role (`arn:<partition>:iam::<account>:role/<path/>name`), any session of it
 * (`arn:<partition>:sts::<account>:assumed-role/<name>/<session>`) — what IAM's `aws:PrincipalArn`
 * compares. Session ARNs carry no role path, so the role's name and account decide.
 */
export function isOperator(callerArn: string, operatorArn: string): boolean {
  if (callerArn === operatorArn) return true;
  const role = /^arn:([\w-]+):iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/.exec(operatorArn);
  if (!role) return false;
  const [, partition, account, name] = role;
  const session = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(callerArn);
  return session !== null && session[1] === partition && session[2] === account && session[3] === name;
}

/**
 * The caller of an operator route, after checking it is the operator principal; anyone else gets
 * 403 PERMISSION_DENIED. IAM lets any principal of the account with `execute-api:Invoke` on the
 * route through (HTTP APIs have no resource policy), so the function makes this check.
 */
export function requireOperator(event: Pick<ApiEvent, 'requestContext'>, operatorArn: string): string {
  const caller = callerIdentity(event);
  if (!isOperator(caller, operatorArn)) {
    throw new RiqError('PERMISSION_DENIED', 'this route is for the operator role only');
  }
  return caller;
}
