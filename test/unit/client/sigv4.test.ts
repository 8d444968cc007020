import { describe, expect, it } from 'vitest';
import { regionFromEndpoint, shouldSign, signRequest } from '../../../client/sigv4.js';

describe('signRequest', () => {
  it("signs AWS's published SigV4 test-suite vector get-vanilla", async () => {
    const headers = await signRequest(
      {
        method: 'GET',
        url: 'https://example.amazonaws.com/',
        headers: { Host: 'example.amazonaws.com', 'X-Amz-Date': '20150830T123600Z' },
      },
      {
        region: 'us-east-1',
        service: 'service',
        credentials: {
          accessKeyId: 'AKIDEXAMPLE',
          secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        },
        signingDate: new Date('2015-08-30T12:36:00Z'),
      },
    );
    expect(headers['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
  });

  it('adds the host header itself when absent, and the session token with session credentials', async () => {
    const headers = await signRequest(
      { method: 'GET', url: 'https://example.amazonaws.com/' },
      {
        region: 'us-east-1',
        service: 'service',
        credentials: {
          accessKeyId: 'AKIDEXAMPLE',
          secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
          sessionToken: 'SESSION',
        },
        signingDate: new Date('2015-08-30T12:36:00Z'),
      },
    );
    expect(headers['host']).toBe('example.amazonaws.com');
    expect(headers['x-amz-security-token']).toBe('SESSION');
    expect(headers['authorization']).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token');
  });
});

describe('when to sign', () => {
  it('signs with a region or an amazonaws.com host, never a local endpoint without region', () => {
    expect(shouldSign('http://localhost:3000', undefined)).toBe(false);
    expect(shouldSign('http://localhost:3000', 'eu-west-1')).toBe(true);
    expect(shouldSign('https://abc.execute-api.eu-west-1.amazonaws.com/dev', undefined)).toBe(true);
    expect(regionFromEndpoint('https://abc.execute-api.eu-west-1.amazonaws.com/dev')).toBe('eu-west-1');
    expect(regionFromEndpoint('https://riq.example.com')).toBeUndefined();
  });
});
