import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../../client/cli/args.js';
import { fakeClient, riq, TOKEN } from './cli-harness.js';

describe('riq argument parsing', () => {
  it('parses a submit with every option, global options anywhere', () => {
    const parsed = parseCommandLine(
      [
        '--endpoint',
        'http://example.test:3000/',
        'submit',
        'jira.create_task',
        '{"title":"T","project_id":"MD"}',
        '--priority',
        'high',
        '--idempotency-key',
        'k-1',
        '--fresh',
        '--routing',
        'queued',
        '--fire-and-forget',
        '--depends-on',
        'req_a, req_b,',
        '--after',
        'cst_x',
        '--wait',
        '--timeout',
        '2.5',
        '--json',
      ],
      {},
    );
    expect(parsed).toEqual({
      kind: 'command',
      global: { endpoint: 'http://example.test:3000', region: undefined, caller: undefined, json: true },
      command: {
        name: 'submit',
        operation: 'jira.create_task',
        payload: { kind: 'inline', text: '{"title":"T","project_id":"MD"}' },
        priority: 'high',
        idempotencyKey: 'k-1',
        fresh: true,
        routing: 'queued',
        fireAndForget: true,
        dependsOn: ['req_a', 'req_b'],
        after: 'cst_x',
        waitFlags: { wait: true, timeoutSeconds: 2.5 },
      },
    });
  });

  it('reads the payload source: inline, @file or - for stdin', () => {
    const source = (arg: string) => {
      const parsed = parseCommandLine(['submit', 'jira.get_task', arg], {});
      return parsed.kind === 'command' && parsed.command.name === 'submit'
        ? parsed.command.payload
        : undefined;
    };
    expect(source('{}')).toEqual({ kind: 'inline', text: '{}' });
    expect(source('@p.json')).toEqual({ kind: 'file', path: 'p.json' });
    expect(source('-')).toEqual({ kind: 'stdin' });
  });

  it('takes the endpoint from RIQ_ENDPOINT, then localhost:3000', () => {
    const endpoint = (env: Record<string, string>) => {
      const parsed = parseCommandLine(['health'], env);
      return parsed.kind === 'command' ? parsed.global.endpoint : undefined;
    };
    expect(endpoint({})).toBe('http://localhost:3000');
    expect(endpoint({ RIQ_ENDPOINT: 'https://riq.example/dev' })).toBe('https://riq.example/dev');
  });

  it('signs for AWS_REGION only with an AWS endpoint; --region always wins', () => {
    const region = (argv: string[], env: Record<string, string>) => {
      const parsed = parseCommandLine(['health', ...argv], env);
      return parsed.kind === 'command' ? parsed.global.region : undefined;
    };
    const aws = 'https://abc.execute-api.eu-west-1.amazonaws.com/dev';
    expect(region([], { AWS_REGION: 'eu-west-1' })).toBeUndefined();
    expect(region(['--endpoint', aws], { AWS_REGION: 'eu-west-1' })).toBe('eu-west-1');
    expect(region(['--region', 'us-east-1'], { AWS_REGION: 'eu-west-1' })).toBe('us-east-1');
  });

  it('parses dlq subcommands', () => {
    expect(
      parseCommandLine(['dlq', 'list', '--service', 'jira', '--limit', '10', '--cursor', 'c1'], {}),
    ).toMatchObject({
      command: { name: 'dlq list', service: 'jira', limit: 10, cursor: 'c1' },
    });
    expect(parseCommandLine(['dlq', 'retry', TOKEN], {})).toMatchObject({
      command: { name: 'dlq retry', token: TOKEN },
    });
    expect(parseCommandLine(['dlq', 'redrive'], {})).toMatchObject({
      command: { name: 'dlq redrive', service: undefined },
    });
  });

  it('answers help for --help, -h and help <command>', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ kind: 'help', command: undefined });
    expect(parseCommandLine(['submit', '-h'], {})).toEqual({ kind: 'help', command: 'submit' });
    expect(parseCommandLine(['dlq', 'list', '--help'], {})).toEqual({ kind: 'help', command: 'dlq list' });
    expect(parseCommandLine(['help', 'dlq', 'purge'], {})).toEqual({ kind: 'help', command: 'dlq purge' });
  });

  it.each([
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['dlq'], /missing dlq subcommand/],
    [['dlq', 'shred'], /unknown dlq subcommand 'shred'/],
    [['submit', 'jira.get_task'], /missing <payload>/],
    [['submit'], /missing <operation> <payload>/],
    [['submit', 'jira.get_task', '{}', 'extra'], /unexpected argument 'extra'/],
    [
      ['submit', 'jira.get_task', '{}', '--priority', 'urgent'],
      /--priority must be one of high, normal, low/,
    ],
    [['submit', 'jira.get_task', '{}', '--routing', 'direct'], /--routing must be one of adaptive, queued/],
    [['submit', 'jira.get_task', '{}', '--timeout', '5'], /--timeout needs --wait/],
    [['submit', 'jira.get_task', '{}', '--wait', '--timeout', 'soon'], /--timeout must be a positive number/],
    [['submit', 'jira.get_task', '{}', '--wait', '--timeout', '0'], /--timeout must be a positive number/],
    [['submit', 'jira.get_task', '{}', '--depends-on', ','], /--depends-on needs at least one token/],
    [['submit', 'jira.get_task', '@'], /needs a file name/],
    [['result'], /missing <token>/],
    [['result', TOKEN, '--priority', 'high'], /--priority does not apply to 'result'/],
    [['health', 'now'], /unexpected argument 'now'/],
    [['health', '--bogus'], /unknown option '--bogus'$/],
    [['dlq', 'list', '--limit', '0'], /--limit must be a positive integer/],
    [['dlq', 'list', '--limit', 'ten'], /--limit must be a positive integer/],
    [['dlq', 'list', '--service', 'github'], /--service must be one of jira, confluence/],
    [['dlq', 'retry'], /missing <token>/],
    [['dlq', 'redrive', '--limit', '3'], /--limit does not apply to 'dlq redrive'/],
    [['health', '--endpoint', 'not a url'], /is not a URL/],
    [['health', '--endpoint', 'ftp://x'], /must be an http or https URL/],
    [['health', '--endpoint'], /argument missing/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrow(UsageError);
    expect(() => parseCommandLine(argv, {})).toThrow(message);
  });

  it('exits 2 with the message and the usage on stderr, never calling the client', async () => {
    const client = fakeClient();
    const out = await riq(['submit', 'jira.get_task'], client);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('riq: missing <payload>');
    expect(out.stderr).toContain('Usage: riq submit <operation>');
    expect(out.options).toEqual([]);
    expect(client.submit).not.toHaveBeenCalled();
  });

  it('exits 2 for an unknown command and for a payload that is not JSON', async () => {
    expect((await riq(['launch'])).code).toBe(2);
    const client = fakeClient();
    const bad = await riq(['submit', 'jira.get_task', '{task_id:'], client);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/payload is not valid JSON/);
    expect(client.submit).not.toHaveBeenCalled();
  });

  it('exits 2 when the payload file cannot be read', async () => {
    const out = await riq(['submit', 'jira.get_task', '@missing.json'], fakeClient(), {
      readTextFile: async () => {
        throw new Error('ENOENT: no such file');
      },
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/cannot read payload file 'missing.json': ENOENT/);
  });

  it('prints help on stdout with exit 0', async () => {
    const main = await riq(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/Usage: riq <command>/);
    expect(main.stdout).toMatch(/Exit codes:/);
    const submit = await riq(['submit', '--help']);
    expect(submit.stdout).toMatch(/--idempotency-key K/);
    for (const command of ['result', 'health', 'breakers', 'metrics', 'dlq', 'dlq list', 'dlq retry']) {
      const out = await riq([...command.split(' '), '--help']);
      expect(out.code, command).toBe(0);
      expect(out.stdout, command).toMatch(/^Usage: riq /);
    }
    expect((await riq(['help', 'nothing'])).code).toBe(2);
  });
});
