/**
 * `riq console [--port N] [--endpoint URL] [--region R]`: starts the console and runs until
 * SIGINT/SIGTERM. The endpoint and region default as for every `riq` command ($RIQ_ENDPOINT,
 * $AWS_REGION for an AWS endpoint); against AWS the operator's credentials come from the SDK's
 * default chain, resolved once at start so a missing profile fails here, not on the first click.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ENDPOINT } from '../cli/args.js';
import { EXIT, type ExitCode } from '../cli/exit-codes.js';
import type { TextSink } from '../cli/spinner.js';
import { defaultCredentialProvider, shouldSign, type AwsCredentialIdentityProvider } from '../sigv4.js';
import { DEFAULT_CONSOLE_PORT, startConsole } from './server.js';

export const CONSOLE_HELP = `Usage: riq console [--port N] [--endpoint URL] [--region R]

Starts the RIQ web console on http://127.0.0.1:N (loopback only): overview, requests, one
request's timeline, dead letters (retry, purge, redrive). Its proxy forwards /api/queue/* to the
endpoint, signed with SigV4 with your own AWS credentials (default chain) for an AWS endpoint.
Ctrl-C stops it. See docs/console.md.

Options:
  --port N         port on 127.0.0.1 (default: ${DEFAULT_CONSOLE_PORT}; 0 picks a free one)
  --endpoint URL   RIQ API base URL (default: $RIQ_ENDPOINT or ${DEFAULT_ENDPOINT})
  --region R       sign with SigV4 for region R (default: $AWS_REGION, only for an *.amazonaws.com
                   endpoint)
`;

export interface ConsoleIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  /** Resolves when the console should stop. @default the first SIGINT or SIGTERM */
  stopped?: Promise<unknown>;
  /** @default the AWS SDK's default chain */
  credentials?: AwsCredentialIdentityProvider;
}

export async function runConsole(argv: readonly string[], io: ConsoleIo): Promise<ExitCode> {
  let values: { port?: string; endpoint?: string; region?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  if (values.help) {
    io.stdout.write(CONSOLE_HELP);
    return EXIT.OK;
  }
  const port = values.port === undefined ? DEFAULT_CONSOLE_PORT : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port > 65535)
    return usage(io, `--port '${values.port}' is not a port number (0-65535)`);
  const endpoint = values.endpoint ?? (io.env['RIQ_ENDPOINT'] || DEFAULT_ENDPOINT);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return usage(io, `--endpoint '${endpoint}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return usage(io, `--endpoint '${endpoint}' must be an http or https URL`);
  if (values.region === '') return usage(io, '--region must not be empty');
  const aws = url.hostname.toLowerCase().endsWith('.amazonaws.com');
  const region =
    values.region ?? (aws ? io.env['AWS_REGION'] || io.env['AWS_DEFAULT_REGION'] || undefined : undefined);

  let credentials: AwsCredentialIdentityProvider | undefined;
  if (shouldSign(endpoint, region)) {
    credentials = io.credentials ?? (await defaultCredentialProvider());
    try {
      await credentials();
    } catch (error) {
      io.stderr.write(
        `riq console: no AWS credentials to sign calls to ${endpoint}: ${(error as Error).message}\n` +
          `Set AWS_PROFILE (or run 'aws sso login') for the operator role, then start again.\n`,
      );
      return EXIT.UNAVAILABLE;
    }
  }

  let running;
  try {
    running = await startConsole({
      endpoint,
      port,
      ...(region !== undefined ? { region } : {}),
      ...(credentials !== undefined ? { credentials } : {}),
    });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const message = err.code === 'EADDRINUSE' ? `port ${port} is in use (try --port 0)` : err.message;
    io.stderr.write(`riq console: ${message}\n`);
    return err instanceof TypeError ? EXIT.USAGE : EXIT.UNAVAILABLE;
  }
  const how = running.signingRegion
    ? `signed with SigV4 for ${running.signingRegion} with your AWS credentials`
    : 'unsigned (local stack)';
  io.stdout.write(`RIQ console: ${running.url}  →  ${running.endpoint}, ${how}. Ctrl-C stops it.\n`);
  await (io.stopped ?? untilSignal());
  await running.stop();
  return EXIT.OK;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((ok) => {
    process.once('SIGINT', () => ok('SIGINT'));
    process.once('SIGTERM', () => ok('SIGTERM'));
  });
}

function usage(io: ConsoleIo, message: string): ExitCode {
  io.stderr.write(`riq console: ${message}\nRun 'riq console --help' for its options.\n`);
  return EXIT.USAGE;
}
