/**
 * What `riq` does to help before any request: did-you-mean for commands, options, operations and
 * payload fields (exit 2, no client call), `--version`, `riq operations`, `--wait N`, and the one
 * line for an endpoint that refuses the connection.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../../client/cli/args.js';
import { RiqNetworkError } from '../../../client/errors.js';
import { QueueClient } from '../../../client/queue-client.js';
import { OPERATIONS } from '../../../model/operations.js';
import packageJson from '../../../package.json' with { type: 'json' };
import { fakeClient, riq, TOKEN } from './cli-harness.js';

describe('riq did you mean', () => {
  it.each([
    [['sumbit'], "unknown command 'sumbit'; did you mean 'submit'?"],
    [['reslut', TOKEN], "unknown command 'reslut'; did you mean 'result'?"],
    [['operatons'], "unknown command 'operatons'; did you mean 'operations'?"],
    [['dlq', 'lsit'], "unknown dlq subcommand 'lsit'; did you mean 'list'?"],
    [['health', '--endpiont', 'http://x'], "unknown option '--endpiont'; did you mean '--endpoint'?"],
    [
      ['submit', 'jira.get_task', '{}', '--prioirty', 'high'],
      "unknown option '--prioirty'; did you mean '--priority'?",
    ],
  ])('%j: exit 2 with the nearest name', async (argv, message) => {
    const client = fakeClient();
    const out = await riq(argv, client);
    expect(out.code).toBe(2);
    expect(out.stderr.split('\n')[0]).toBe(`riq: ${message}`);
    expect(out.stdout).toBe('');
    expect(out.options).toEqual([]);
  });

  it('names no command when none is close', () => {
    expect(() => parseCommandLine(['frobnicate'], {})).toThrow(/^unknown command 'frobnicate'$/);
  });

  it('an unknown operation: exit 2 before the payload is read or anything is sent', async () => {
    const client = fakeClient();
    let read = false;
    const out = await riq(['submit', 'jira.get_tsk', '@p.json'], client, {
      readTextFile: async () => {
        read = true;
        return '{}';
      },
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^riq: unknown operation 'jira.get_tsk'; did you mean 'jira.get_task'\?\n/);
    expect(read).toBe(false);
    expect(client.submit).not.toHaveBeenCalled();

    const far = await riq(['submit', 'github.open_issue', '{}'], client);
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(/unknown operation 'github.open_issue'; run 'riq operations'/);
    expect(client.submit).not.toHaveBeenCalled();
  });

  it('an unknown payload field: exit 2 with the nearest field of that operation, nothing sent', async () => {
    const client = fakeClient();
    const out = await riq(['submit', 'jira.create_task', '{"titel":"Fix","project_id":"MD"}'], client);
    expect(out.code).toBe(2);
    expect(out.stderr.split('\n')[0]).toBe(
      "riq: unknown field 'titel' in the payload of jira.create_task; did you mean 'title'?",
    );
    const far = await riq(['submit', 'confluence.get_page', '{"page_id":"1","zzz":1}'], client);
    expect(far.code).toBe(2);
    expect(far.stderr.split('\n')[0]).toBe(
      "riq: unknown field 'zzz' in the payload of confluence.get_page; its fields: page_id",
    );
    expect(client.submit).not.toHaveBeenCalled();
  });

  it('sends known fields, and leaves the shape of a payload (types, missing fields) to the API', async () => {
    const client = fakeClient();
    expect((await riq(['submit', 'jira.search_tasks', '{"jql":"x","max_results":5}'], client)).code).toBe(0);
    expect((await riq(['submit', 'jira.create_task', '{"title":3}'], client)).code).toBe(0);
    expect((await riq(['submit', 'jira.get_task', '[1]'], client)).code).toBe(0);
    expect(client.submit).toHaveBeenCalledTimes(3);
  });
});

describe('riq --version', () => {
  it("prints package.json's version, as --version and as the version command", async () => {
    for (const argv of [['--version'], ['version'], ['health', '--version']]) {
      const out = await riq(argv);
      expect(out.code, argv.join(' ')).toBe(0);
      expect(out.stdout).toBe(`riq ${packageJson.version}\n`);
      expect(out.options).toEqual([]);
    }
    expect(JSON.parse((await riq(['version', '--json'])).stdout)).toEqual({ version: packageJson.version });
  });
});

describe('riq operations', () => {
  it('lists the ten operations with read/write and their fields, optional ones marked', async () => {
    const out = await riq(['operations']);
    expect(out.code).toBe(0);
    const rows = out.stdout.split('\n').slice(1, 11);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(OPERATIONS);
    expect(rows[1]!.split(/ {2,}/)).toEqual([
      'jira.create_task',
      'write',
      'title, project_id, description?, issue_type?, labels?',
    ]);
    expect(rows[0]!.split(/ {2,}/)).toEqual(['jira.get_task', 'read', 'task_id']);
    expect(out.options).toEqual([]);
  });

  it('--json: each field with its JSON type and whether it is required', async () => {
    const out = await riq(['operations', '--json']);
    const { operations } = JSON.parse(out.stdout) as {
      operations: { name: string; service: string; kind: string; fields: unknown[] }[];
    };
    expect(operations).toHaveLength(10);
    expect(operations.find((o) => o.name === 'jira.search_tasks')).toEqual({
      name: 'jira.search_tasks',
      service: 'jira',
      kind: 'read',
      fields: [
        { name: 'jql', type: 'string', required: true },
        { name: 'max_results', type: 'integer', required: false },
      ],
    });
    expect(operations.find((o) => o.name === 'jira.create_task')?.fields).toContainEqual({
      name: 'labels',
      type: 'string[]',
      required: false,
    });
    expect(operations.filter((o) => o.kind === 'write').map((o) => o.name)).toEqual([
      'jira.create_task',
      'jira.update_task',
      'jira.transition_task',
      'jira.add_comment',
      'confluence.create_page',
      'confluence.update_page',
    ]);
  });
});

describe('riq --wait N', () => {
  const waitFlags = (argv: string[]) => {
    const parsed = parseCommandLine(argv, {});
    if (parsed.kind !== 'command' || !('waitFlags' in parsed.command)) throw new Error('no wait flags');
    return parsed.command.waitFlags;
  };

  it('reads --wait 20 and --wait=20 as --wait --timeout 20, on submit and result', () => {
    expect(waitFlags(['result', TOKEN, '--wait', '20'])).toEqual({ wait: true, timeoutSeconds: 20 });
    expect(waitFlags(['result', '--wait', '2.5', TOKEN])).toEqual({ wait: true, timeoutSeconds: 2.5 });
    expect(waitFlags(['submit', 'jira.get_task', '{"task_id":"MD-1"}', '--wait=20'])).toEqual({
      wait: true,
      timeoutSeconds: 20,
    });
    expect(waitFlags(['submit', 'jira.get_task', '--wait', '{"task_id":"MD-1"}'])).toEqual({
      wait: true,
      timeoutSeconds: undefined,
    });
  });

  it('waits that long through the client', async () => {
    const client = fakeClient();
    client.submit.mockResolvedValueOnce({
      token: TOKEN,
      status: 'queued',
      poll_url: `/api/queue/result/${TOKEN}`,
      routing_path: 'QUEUED',
    });
    const out = await riq(['submit', 'jira.get_task', '{"task_id":"MD-1"}', '--wait', '20'], client);
    expect(out.code, out.stderr).toBe(0);
    expect(client.waitForResult).toHaveBeenCalledWith(TOKEN, { timeoutMs: 20_000 });
  });

  it.each([
    [
      ['result', TOKEN, '--wait', '20', '--timeout', '5'],
      /--wait 20 and --timeout 5 both set how long to wait/,
    ],
    [['result', TOKEN, '--wait=soon'], /--wait must be a positive number of seconds, not 'soon'/],
    [['result', TOKEN, '--wait', '0'], /--wait must be a positive number of seconds, not '0'/],
    [['health', '--wait', '5'], /--wait does not apply to 'health'/],
    [['result', '--', '--wait', '5'], /unexpected argument/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrow(UsageError);
    expect(() => parseCommandLine(argv, {})).toThrow(message);
  });
});

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('riq against an endpoint that refuses the connection', () => {
  it('one line with what to do, exit 5, at the first attempt', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    let attempts = 0;
    const started = performance.now();
    const out = await riq(['health', '--endpoint', endpoint], undefined, {
      clientFactory: (options) => {
        const client = new QueueClient({ ...options, retryBaseDelayMs: 1_000 });
        const health = client.health.bind(client);
        client.health = async () => {
          try {
            return await health();
          } catch (error) {
            if (error instanceof RiqNetworkError) attempts = error.attempts;
            throw error;
          }
        };
        return client;
      },
    });
    expect(out.code).toBe(5);
    expect(out.stderr).toBe(
      `riq: cannot reach RIQ at ${endpoint} (connection refused): start the local stack with 'npm start', ` +
        'or pass --endpoint URL / set RIQ_ENDPOINT\n',
    );
    expect(attempts).toBe(1);
    // A retry would have waited at least 500 ms (half the 1 s base backoff).
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('an unknown host: the same line without the local stack, for a remote endpoint', async () => {
    const client = fakeClient();
    client.health.mockRejectedValueOnce(
      new RiqNetworkError('GET /api/queue/health failed', 1, { unreachable: 'not_found' }),
    );
    const out = await riq(['health', '--endpoint', 'https://riq.invalid/dev'], client);
    expect(out.code).toBe(5);
    expect(out.stderr).toBe(
      'riq: cannot reach RIQ at https://riq.invalid/dev (host not found): pass --endpoint URL / set RIQ_ENDPOINT\n',
    );
  });
});
