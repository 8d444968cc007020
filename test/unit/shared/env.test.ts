import { describe, expect, it } from 'vitest';
import { thrown } from '../../support/thrown.js';
import { DEFAULT_CONFIG } from '../../../model/config/riq-config.js';
import { lazily } from '../../../lambdas/shared/lazy.js';
import { atlassianSettingsOf, connectionEnv, runtimeEnvOf, type Env } from '../../../lambdas/shared/env.js';

const SECRET = 'value-that-must-not-leak';
const SETTINGS = JSON.stringify(DEFAULT_CONFIG);

describe('runtimeEnvOf', () => {
  it('reads nothing until a variable is asked for, then names the missing one', () => {
    const env = runtimeEnvOf({});
    expect(thrown(() => env.tableName).message).toBe('environment variable RIQ_TABLE_NAME is required');
    expect(thrown(() => env.settings).message).toMatch(/RIQ_SETTINGS is required/);
    expect(thrown(() => env.deadLetterQueueUrls).message).toMatch(/RIQ_DLQ_URLS is required/);
  });

  it('parses each variable once and keeps it', () => {
    const source: Record<string, string> = { RIQ_SETTINGS: SETTINGS, RIQ_TABLE_NAME: 'first' };
    const env = runtimeEnvOf(source);
    const settings = env.settings;
    expect(settings.retentionDays).toBe(DEFAULT_CONFIG.retentionDays);
    expect(env.tableName).toBe('first');
    source['RIQ_TABLE_NAME'] = 'second';
    source['RIQ_SETTINGS'] = '{';
    expect(env.tableName).toBe('first');
    expect(env.settings).toBe(settings);
  });

  it('names a malformed settings variable without echoing it', () => {
    const notJson = thrown(() => runtimeEnvOf({ RIQ_SETTINGS: `{${SECRET}` }).settings);
    expect(notJson.message).toBe('RIQ_SETTINGS is not JSON');
    const invalid = thrown(() => runtimeEnvOf({ RIQ_SETTINGS: '{"retentionDays":-1}' }).settings);
    expect(invalid.message).toMatch(/^RIQ_SETTINGS is not a valid RIQ config/);
  });

  it('takes queue maps with known keys only, and not every key', () => {
    const env = runtimeEnvOf({
      RIQ_QUEUE_URLS: JSON.stringify({ 'jira-high': 'https://sqs/q1' }),
      RIQ_DLQ_URLS: JSON.stringify({ 'jira-urgent': 'https://sqs/q2' }),
      RIQ_DLQ_ARNS: '["arn"]',
      RIQ_QUEUE_ARNS: JSON.stringify({ 'jira-low': 'arn:aws:sqs:eu-west-1:1:q' }),
    });
    expect(env.queueUrls).toEqual({ 'jira-high': 'https://sqs/q1' });
    expect(thrown(() => env.deadLetterQueueUrls).message).toBe('RIQ_DLQ_URLS: unexpected entry jira-urgent');
    expect(thrown(() => env.deadLetterQueueArns).message).toBe('RIQ_DLQ_ARNS: unexpected entry 0');
    expect(env.queueArns).toEqual({ 'jira-low': 'arn:aws:sqs:eu-west-1:1:q' });
    expect(thrown(() => runtimeEnvOf({ RIQ_QUEUE_URLS: 'null' }).queueUrls).message).toBe(
      'RIQ_QUEUE_URLS must be a JSON object',
    );
  });

  it('knows the two redrive modes', () => {
    expect(runtimeEnvOf({ RIQ_DLQ_REDRIVE: 'move_task' }).deadLetterRedrive).toBe('move_task');
    expect(runtimeEnvOf({ RIQ_DLQ_REDRIVE: 'copy' }).deadLetterRedrive).toBe('copy');
    expect(thrown(() => runtimeEnvOf({ RIQ_DLQ_REDRIVE: 'move' }).deadLetterRedrive).message).toBe(
      'RIQ_DLQ_REDRIVE must be move_task or copy (got move)',
    );
  });

  it('requires an IAM principal ARN as the operator', () => {
    const role = 'arn:aws:iam::123456789012:role/riq-dev-operator';
    expect(runtimeEnvOf({ RIQ_OPERATOR_ARN: role }).operatorArn).toBe(role);
    expect(thrown(() => runtimeEnvOf({}).operatorArn).message).toBe(
      'environment variable RIQ_OPERATOR_ARN is required',
    );
    expect(thrown(() => runtimeEnvOf({ RIQ_OPERATOR_ARN: 'riq-dev-operator' }).operatorArn).message).toBe(
      'RIQ_OPERATOR_ARN must be an IAM principal ARN (got riq-dev-operator)',
    );
  });

  it('finds the bodies bucket at its regional domain on AWS, under an S3 endpoint when one is set', () => {
    const aws = {
      RIQ_BODY_BUCKET: 'b',
      RIQ_BODY_BUCKET_DOMAIN: 'b.s3.cn-north-1.amazonaws.com.cn',
      AWS_REGION: 'cn-north-1',
    };
    expect(runtimeEnvOf(aws).bodyBucket).toEqual({
      name: 'b',
      region: 'cn-north-1',
      url: 'https://b.s3.cn-north-1.amazonaws.com.cn',
    });
    const local = {
      RIQ_BODY_BUCKET: 'b',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566/',
    };
    expect(runtimeEnvOf({ ...local, RIQ_S3_PATH_STYLE: 'true' }).bodyBucket.url).toBe(
      'http://127.0.0.1:4566/b',
    );
    expect(runtimeEnvOf(local).bodyBucket.url).toBe('http://127.0.0.1:4566/b');
    expect(runtimeEnvOf({ ...local, AWS_ENDPOINT_URL_S3: 'http://[::1]:4566' }).bodyBucket.url).toBe(
      'http://[::1]:4566/b',
    );
    expect(runtimeEnvOf({ ...local, AWS_ENDPOINT_URL_S3: 'http://s3.local.test:4566' }).bodyBucket.url).toBe(
      'http://b.s3.local.test:4566',
    );
    expect(runtimeEnvOf({ ...aws, AWS_ENDPOINT_URL: 'https://s3.example.test/base/' }).bodyBucket.url).toBe(
      'https://b.s3.example.test/base',
    );
    expect(
      runtimeEnvOf({ ...aws, AWS_ENDPOINT_URL: 'https://other.test', AWS_ENDPOINT_URL_S3: 'https://s3.test' })
        .bodyBucket.url,
    ).toBe('https://b.s3.test');
  });

  it('names what the bodies bucket lacks', () => {
    expect(
      thrown(() => runtimeEnvOf({ RIQ_BODY_BUCKET: 'b', AWS_REGION: 'us-east-1' }).bodyBucket).message,
    ).toBe('environment variable RIQ_BODY_BUCKET_DOMAIN is required');
    expect(thrown(() => runtimeEnvOf({ RIQ_BODY_BUCKET: 'b' }).bodyBucket).message).toBe(
      'environment variable AWS_REGION is required',
    );
    expect(
      thrown(
        () => runtimeEnvOf({ RIQ_BODY_BUCKET: 'b', AWS_REGION: 'x', RIQ_S3_PATH_STYLE: 'yes' }).bodyBucket,
      ).message,
    ).toBe('RIQ_S3_PATH_STYLE must be true or false');
    expect(
      thrown(
        () =>
          runtimeEnvOf({ RIQ_BODY_BUCKET: 'b', AWS_REGION: 'x', AWS_ENDPOINT_URL_S3: 'localhost:4566' })
            .bodyBucket,
      ).message,
    ).toBe('AWS_ENDPOINT_URL_S3 must be an http(s) URL');
  });
});

describe('atlassianSettingsOf', () => {
  const secretId = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:riq/atlassian-AbCdEf';

  it('takes the secret on AWS, with the URLs that are set, and no credentials from the environment', () => {
    const env: Env = {
      ATLASSIAN_SECRET_ARN: secretId,
      ATLASSIAN_SITE_URL: 'https://x.atlassian.net/',
      CONFLUENCE_BASE_URL: ' https://x.atlassian.net/wiki ',
      ATLASSIAN_EMAIL: '',
    };
    expect(atlassianSettingsOf(env)).toEqual({
      source: 'secret',
      secretId,
      urls: { siteUrl: 'https://x.atlassian.net', confluenceBaseUrl: 'https://x.atlassian.net/wiki' },
    });
  });

  it('names a malformed URL next to a secret, never its value', () => {
    const err = thrown(() =>
      atlassianSettingsOf({ ATLASSIAN_SECRET_ARN: secretId, ATLASSIAN_API_GATEWAY_URL: `file://${SECRET}` }),
    );
    expect(err.message).toBe('ATLASSIAN_API_GATEWAY_URL must be an http(s) URL');
  });

  it('takes the credentials of the environment without a secret', () => {
    expect(
      atlassianSettingsOf({
        ATLASSIAN_SITE_URL: 'https://x.atlassian.net',
        ATLASSIAN_EMAIL: 'e',
        ATLASSIAN_API_TOKEN: SECRET,
      }),
    ).toMatchObject({
      source: 'environment',
      connection: { mode: 'api_token', credentials: { email: 'e', apiToken: SECRET } },
    });
    expect(() => atlassianSettingsOf({})).toThrow(/ATLASSIAN_EMAIL and ATLASSIAN_API_TOKEN/);
  });
});

describe('connectionEnv', () => {
  it('picks the connection variables that are set, trimmed, and nothing else', () => {
    expect(
      connectionEnv({
        ATLASSIAN_SITE_URL: ' https://x.atlassian.net ',
        ATLASSIAN_EMAIL: '',
        RIQ_TABLE_NAME: 't',
        PATH: '/bin',
      }),
    ).toEqual({ ATLASSIAN_SITE_URL: 'https://x.atlassian.net' });
  });
});

describe('lazily', () => {
  it('builds each property on first read only, keeps it, and keeps nothing of a throw', () => {
    const builds: string[] = [];
    let failing = true;
    const object = lazily<{ a: { n: number }; b: number }>({
      a: () => {
        builds.push('a');
        return { n: 1 };
      },
      b: () => {
        builds.push('b');
        if (failing) throw new Error('not yet');
        return 2;
      },
    });
    expect(builds).toEqual([]);
    expect(object.a).toBe(object.a);
    expect(() => object.b).toThrow('not yet');
    failing = false;
    expect(object.b).toBe(2);
    expect(object.b).toBe(2);
    expect(builds).toEqual(['a', 'b', 'b']);
  });
});
