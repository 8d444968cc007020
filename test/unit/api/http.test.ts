/** The API handlers' HTTP plumbing: the caller's identity and the operator check, on payload format 2.0 events. */
import type { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { RiqError } from '../../../model/errors.js';
import {
  bodyText,
  callerIdentity,
  httpErrors,
  isOperator,
  requireOperator,
  type ApiEvent,
} from '../../../lambdas/api/http.js';
import { thrown } from '../../support/thrown.js';

const ROLE = 'arn:aws:iam::123456789012:role/riq-dev-operator';

function eventFrom(userArn: string | undefined): Pick<ApiEvent, 'requestContext'> {
  const iam = userArn === undefined ? undefined : { userArn };
  return { requestContext: { authorizer: { iam } } } as unknown as Pick<ApiEvent, 'requestContext'>;
}

describe('callerIdentity', () => {
  it("is the IAM authorizer's userArn, a session ARN for an assumed role", () => {
    const session = 'arn:aws:sts::123456789012:assumed-role/app-role/i-0abc';
    expect(callerIdentity(eventFrom(session))).toBe(session);
  });

  it('refuses a request without one', () => {
    const err = thrown(() => callerIdentity(eventFrom(undefined)));
    expect(err).toBeInstanceOf(RiqError);
    expect((err as RiqError).code).toBe('PERMISSION_DENIED');
  });
});

describe('the operator check', () => {
  it.each([
    ['a session of the operator role', 'arn:aws:sts::123456789012:assumed-role/riq-dev-operator/alice', true],
    ['the role itself', ROLE, true],
    ['another role of the account', 'arn:aws:sts::123456789012:assumed-role/riq-dev-app/alice', false],
    [
      'the same role name in another account',
      'arn:aws:sts::210987654321:assumed-role/riq-dev-operator/a',
      false,
    ],
    ['another partition', 'arn:aws-cn:sts::123456789012:assumed-role/riq-dev-operator/alice', false],
    ['a user of the account', 'arn:aws:iam::123456789012:user/riq-dev-operator', false],
    [
      'a role whose name only starts alike',
      'arn:aws:sts::123456789012:assumed-role/riq-dev-operator2/a',
      false,
    ],
    ['the account root', 'arn:aws:iam::123456789012:root', false],
  ])('%s: %s', (_what, caller, expected) => {
    expect(isOperator(caller, ROLE)).toBe(expected);
  });

  it('matches sessions of a role with a path by its name', () => {
    const withPath = 'arn:aws:iam::123456789012:role/ops/riq-dev-operator';
    expect(isOperator('arn:aws:sts::123456789012:assumed-role/riq-dev-operator/bob', withPath)).toBe(true);
  });

  it('takes a user ARN as the operator exactly (the local stack)', () => {
    const user = 'arn:aws:iam::000000000000:user/local-developer';
    expect(isOperator(user, user)).toBe(true);
    expect(isOperator('arn:aws:iam::000000000000:user/someone-else', user)).toBe(false);
  });

  it("answers anyone else 403 PERMISSION_DENIED in RIQ's error shape", () => {
    const caller = 'arn:aws:sts::123456789012:assumed-role/riq-dev-app/alice';
    const err = thrown(() => requireOperator(eventFrom(caller), ROLE)) as RiqError;
    expect(err.httpStatus).toBe(403);
    expect(err.toBody()).toEqual({
      code: 'PERMISSION_DENIED',
      message: 'this route is for the operator role only',
      retryable: false,
      details: {},
    });
    const operator = 'arn:aws:sts::123456789012:assumed-role/riq-dev-operator/alice';
    expect(requireOperator(eventFrom(operator), ROLE)).toBe(operator);
  });
});

describe('bodyText', () => {
  const body = (contentType: string | undefined) => ({
    body: '{"a":1}',
    isBase64Encoded: false,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset=UTF-8',
    'application/merge-patch+json',
    undefined,
  ])('reads a body sent as %s', (contentType) => {
    expect(bodyText(body(contentType))).toBe('{"a":1}');
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'text/json', ''])(
    'refuses a body sent as %j with 415 UNSUPPORTED_MEDIA_TYPE naming it',
    (contentType) => {
      const err = thrown(() => bodyText(body(contentType)));
      expect(err).toBeInstanceOf(RiqError);
      expect((err as RiqError).toBody()).toEqual({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: `content-type ${contentType} is not JSON; send the body as application/json`,
        retryable: false,
        details: { field: 'content-type', received: contentType },
      });
      expect((err as RiqError).httpStatus).toBe(415);
    },
  );

  it('checks no content type when there is no body', () => {
    expect(
      bodyText({ body: undefined, isBase64Encoded: false, headers: { 'content-type': 'text/plain' } }),
    ).toBe(null);
  });
});

describe('httpErrors', () => {
  function handle(error: unknown) {
    const logger = { info: vi.fn(), error: vi.fn() };
    const request = { event: { rawPath: '/api/queue/result/req_0123' }, error, response: undefined };
    const onError = httpErrors(logger as unknown as Logger).onError!;
    return { logger, request, done: onError(request as never) };
  }

  it("logs a refused request with its path (the token is in it) and answers RIQ's error", async () => {
    const { logger, request, done } = handle(new RiqError('NOT_FOUND', 'no such request'));
    await done;
    expect(logger.info).toHaveBeenCalledWith(
      'request rejected',
      expect.objectContaining({ path: '/api/queue/result/req_0123', code: 'NOT_FOUND', status: 404 }),
    );
    expect((request.response as { statusCode: number } | undefined)?.statusCode).toBe(404);
  });

  it('logs an unexpected error with its path and answers a bare 500', async () => {
    const { logger, request, done } = handle(new Error('socket hang up'));
    await done;
    expect(logger.error).toHaveBeenCalledWith(
      'request failed',
      expect.objectContaining({ path: '/api/queue/result/req_0123' }),
    );
    expect((request.response as { statusCode: number } | undefined)?.statusCode).toBe(500);
  });
});
