/** `riq console`'s command line: its options, its refusals, and the start it reports. */
import { describe, expect, it } from 'vitest';
import { runConsole, type ConsoleIo } from '../../../client/console/command.js';
import { EXIT } from '../../../client/cli/exit-codes.js';

function io(extra: Partial<ConsoleIo> = {}): ConsoleIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env: {},
    stopped: Promise.resolve(),
    ...extra,
    out: () => out,
    err: () => err,
  };
}

describe('riq console command', () => {
  it('--help prints its options', async () => {
    const term = io();
    expect(await runConsole(['--help'], term)).toBe(EXIT.OK);
    expect(term.out()).toMatch(/^Usage: riq console \[--port N\] \[--endpoint URL\] \[--region R\]/);
  });

  it.each([
    [['--port', 'abc'], "--port 'abc' is not a port number"],
    [['--port', '70000'], "--port '70000' is not a port number"],
    [['--port=-1'], "--port '-1' is not a port number"],
    [['--endpoint', 'not a url'], "--endpoint 'not a url' is not a URL"],
    [['--endpoint', 'ftp://x'], 'must be an http or https URL'],
    [['--region', ''], '--region must not be empty'],
    [['--json'], "Unknown option '--json'"],
    [['extra'], 'extra'],
  ])('refuses %j with exit code 2', async (argv, message) => {
    const term = io();
    expect(await runConsole(argv, term)).toBe(EXIT.USAGE);
    expect(term.err()).toContain(message);
    expect(term.err()).toContain("Run 'riq console --help'");
    expect(term.out()).toBe('');
  });

  it('an AWS endpoint without credentials exits 5 and says how to get them, before listening', async () => {
    const term = io({
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
    });
    const code = await runConsole(
      ['--port', '0', '--endpoint', 'https://abc.execute-api.eu-west-1.amazonaws.com'],
      term,
    );
    expect(code).toBe(EXIT.UNAVAILABLE);
    expect(term.err()).toContain(
      'no AWS credentials to sign calls to https://abc.execute-api.eu-west-1.amazonaws.com',
    );
    expect(term.err()).toContain('AWS_PROFILE');
    expect(term.out()).toBe('');
  });

  it('an AWS endpoint is signed for the region its host names; a local one is not signed', async () => {
    const credentials = async () => ({ accessKeyId: 'AKID', secretAccessKey: 'secret' });
    const aws = io({ credentials });
    expect(
      await runConsole(['--port', '0', '--endpoint', 'https://abc.execute-api.eu-west-1.amazonaws.com'], aws),
    ).toBe(EXIT.OK);
    expect(aws.out()).toMatch(
      /^RIQ console: http:\/\/127\.0\.0\.1:\d+ {2}→ {2}https:\/\/abc\.execute-api\.eu-west-1\.amazonaws\.com, signed with SigV4 for eu-west-1/,
    );
    const local = io({ env: { RIQ_ENDPOINT: 'http://localhost:3999' } });
    expect(await runConsole(['--port', '0'], local)).toBe(EXIT.OK);
    expect(local.out()).toMatch(/→ {2}http:\/\/localhost:3999, unsigned \(local stack\)/);
  });

  it('a port in use is reported, exit code 5', async () => {
    let release!: () => void;
    const first = io({ stopped: new Promise<void>((ok) => (release = ok)) });
    const running = runConsole(['--port', '0'], first);
    await expect.poll(() => first.out()).toContain('RIQ console:');
    const port = /127\.0\.0\.1:(\d+)/.exec(first.out())![1]!;
    const second = io();
    expect(await runConsole(['--port', port], second)).toBe(EXIT.UNAVAILABLE);
    expect(second.err()).toContain(`port ${port} is in use (try --port 0)`);
    release();
    expect(await running).toBe(EXIT.OK);
  });
});
