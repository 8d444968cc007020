/** The log line every function writes (lambdas/shared/logger.ts): the fields CloudWatch Logs bills. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { LeanLogFormatter } from '../../../lambdas/shared/logger.js';

const CONTEXT = {
  functionName: 'riq-submit',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:riq-submit',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/riq-submit',
  logStreamName: 's',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 1000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

afterEach(() => vi.restoreAllMocks());

describe('LeanLogFormatter', () => {
  it('keeps the request id, cold start and the fields given, and leaves out what the log group says', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const logger = new Logger({ serviceName: 'riq', logFormatter: new LeanLogFormatter() });
    logger.addContext(CONTEXT);
    logger.info('request submitted', { token: 'req_1' });
    const line = JSON.parse(written.join('').trim()) as Record<string, unknown>;
    expect(Object.keys(line).sort()).toEqual(
      ['cold_start', 'function_request_id', 'level', 'message', 'service', 'timestamp', 'token'].sort(),
    );
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'request submitted',
      service: 'riq',
      function_request_id: CONTEXT.awsRequestId,
      token: 'req_1',
    });
  });
});
