/**
 * `riq` as a function: `run(argv, io)` parses, calls the client and answers the exit code. No
 * process globals here, so the unit tests inject streams, environment and a fake client.
 */
import { readFile } from 'node:fs/promises';
import { isTerminal } from '../queue-client.js';
import {
  RiqApiError,
  RiqNetworkError,
  RiqRequestFailedError,
  RiqWaitTimeoutError,
  type Unreachable,
} from '../errors.js';
import type {
  ClientOptions,
  OperationName,
  OperationPayload,
  QueueClientApi,
  RequestView,
  SubmitAnswer,
  SubmitOptions,
} from '../types.js';
import { parseCommandLine, UsageError, type Command, type GlobalOptions, type WaitFlags } from './args.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import {
  formatBreakers,
  formatDeadLetters,
  formatGeneric,
  formatHealth,
  formatMetrics,
  formatOperations,
  formatRequestList,
  formatResult,
  formatTimelineEntry,
  formatWatchHeader,
  formatSubmit,
} from './format.js';
import { helpText, usageLine } from './help.js';
import { startSpinner, type TextSink } from './spinner.js';
import { VERSION } from './version.js';

export type ClientFactory = (options: ClientOptions) => QueueClientApi;

export interface RunIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  clientFactory: ClientFactory;
  /** stderr is a terminal: the spinner may draw. @default false */
  isTTY?: boolean;
  /** The payload for `submit … -`. @default empty */
  stdin?: AsyncIterable<string | Buffer>;
  /** Reads `@file` payloads. @default fs.readFile as UTF-8 */
  readTextFile?: (path: string) => Promise<string>;
  /** `riq watch`'s pause between two looks. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** `riq watch --timeout`'s clock. @default Date.now */
  now?: () => number;
}

/** `riq watch` looks at the request this often. */
export const WATCH_INTERVAL_MS = 1_000;

const TERMINAL = new Set(['completed', 'failed', 'dead', 'cached']);

export async function run(argv: readonly string[], io: RunIo): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseCommandLine(argv, io.env);
  } catch (error) {
    if (error instanceof UsageError) return usage(io, error);
    throw error;
  }
  if (parsed.kind === 'help') {
    const text = helpText(parsed.command);
    if (text === undefined)
      return usage(io, new UsageError(`no help for unknown command '${parsed.command}'`));
    io.stdout.write(text);
    return EXIT.OK;
  }
  if (parsed.kind === 'version') {
    io.stdout.write(`riq ${VERSION}\n`);
    return EXIT.OK;
  }

  const { global, command } = parsed;
  try {
    if (command.name === 'version' || command.name === 'operations')
      return await executeLocal(command.name, global, io);
    const client = io.clientFactory(clientOptions(global));
    return await execute(client, command, global, io);
  } catch (error) {
    return failure(io, error, global.endpoint);
  }
}

/** The commands answered without the API. */
async function executeLocal(
  name: 'version' | 'operations',
  global: GlobalOptions,
  io: RunIo,
): Promise<ExitCode> {
  const print = (json: unknown, human: () => string) =>
    io.stdout.write(global.json ? `${JSON.stringify(json, null, 2)}\n` : human());
  if (name === 'version') {
    print({ version: VERSION }, () => `riq ${VERSION}\n`);
    return EXIT.OK;
  }
  const { operationCatalog } = await loadCatalog();
  const operations = operationCatalog();
  print({ operations }, () => formatOperations(operations));
  return EXIT.OK;
}

/**
 * The operations and their schemas (model/, with zod), loaded by the commands that need them only:
 * building the schemas is a good part of a start, and `riq --help` or `riq result` need none.
 */
async function loadCatalog() {
  const [catalog, check] = await Promise.all([
    import('../../model/operation-catalog.js'),
    import('./payload-check.js'),
  ]);
  return { ...catalog, ...check };
}

function clientOptions(global: GlobalOptions): ClientOptions {
  return {
    endpoint: global.endpoint,
    ...(global.region !== undefined ? { region: global.region } : {}),
    ...(global.caller !== undefined ? { caller: global.caller } : {}),
  };
}

async function execute(
  client: QueueClientApi,
  command: Command,
  global: GlobalOptions,
  io: RunIo,
): Promise<ExitCode> {
  const print = (json: unknown, human: () => string) =>
    io.stdout.write(global.json ? `${JSON.stringify(json, null, 2)}\n` : human());

  switch (command.name) {
    case 'submit': {
      const { checkOperation, checkPayloadFields } = await loadCatalog();
      const operation = checkOperation(command.operation);
      const payload = await readPayload(command, io);
      checkPayloadFields(operation, payload);
      const answer = await client.submit(
        operation,
        payload as OperationPayload<OperationName>,
        submitOptions(command),
      );
      if (command.waitFlags.wait && !TERMINAL.has(answer.status) && answer.status !== 'cached') {
        const view = await waitFor(client, answer.token, command.waitFlags, global, io);
        print(view, () => formatResult(view));
        return statusExit(view.status);
      }
      // `accepted` is the client's note of a 202, not part of the API's body.
      const { accepted: _accepted, ...body } = answer as SubmitAnswer & { accepted?: boolean };
      print(body, () => formatSubmit(answer));
      return statusExit(answer.status);
    }
    case 'result': {
      const view = command.waitFlags.wait
        ? await waitFor(client, command.token, command.waitFlags, global, io)
        : await client.getResult(command.token);
      print(view, () => formatResult(view));
      return statusExit(view.status);
    }
    case 'list': {
      const operation =
        command.operation !== undefined
          ? (await loadCatalog()).checkOperation(command.operation, 'list')
          : undefined;
      const page = await client.listRequests({
        ...(command.status !== undefined ? { status: command.status } : {}),
        ...(operation !== undefined ? { operation } : {}),
        ...(command.service !== undefined ? { service: command.service } : {}),
        ...(command.limit !== undefined ? { limit: command.limit } : {}),
        ...(command.cursor !== undefined ? { cursor: command.cursor } : {}),
      });
      print(page, () => formatRequestList(page));
      return EXIT.OK;
    }
    case 'watch':
      return watch(client, command, global, io);
    case 'operations':
    case 'version':
      return executeLocal(command.name, global, io);
    case 'health': {
      const health = await client.health();
      print(health, () => formatHealth(health));
      return EXIT.OK;
    }
    case 'breakers': {
      const breakers = await client.circuitBreakers();
      print(breakers, () => formatBreakers(breakers));
      return EXIT.OK;
    }
    case 'metrics': {
      const metrics = await client.metrics();
      print(metrics, () => formatMetrics(metrics));
      return EXIT.OK;
    }
    case 'dlq list': {
      const page = await client.listDeadLetters({
        ...(command.service !== undefined ? { service: command.service } : {}),
        ...(command.limit !== undefined ? { limit: command.limit } : {}),
        ...(command.cursor !== undefined ? { cursor: command.cursor } : {}),
      });
      print(page, () => formatDeadLetters(page));
      return EXIT.OK;
    }
    case 'dlq retry': {
      const answer = await client.retryDeadLetter(command.token);
      print(answer, () => formatGeneric(answer));
      return EXIT.OK;
    }
    case 'dlq purge': {
      const answer = await client.purgeDeadLetter(command.token);
      print(answer, () => formatGeneric(answer));
      return EXIT.OK;
    }
    case 'dlq redrive': {
      const answer = await client.redriveDeadLetters(command.service);
      print(answer, () => formatGeneric(answer));
      return EXIT.OK;
    }
  }
}

/**
 * `riq watch`: the request's timeline so far, then each new entry as it arrives (one look every
 * `WATCH_INTERVAL_MS`), until the request is completed, failed or dead. The timeline keeps its
 * newest 20 entries, so new ones are told by content, not by position. With --json: one JSON line
 * per entry, then the request's last view.
 */
async function watch(
  client: QueueClientApi,
  command: Extract<Command, { name: 'watch' }>,
  global: GlobalOptions,
  io: RunIo,
): Promise<ExitCode> {
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = io.now ?? Date.now;
  const deadline = command.timeoutSeconds !== undefined ? now() + command.timeoutSeconds * 1000 : Infinity;
  const shown = new Set<string>();
  let view = await client.getRequest(command.token);
  if (!global.json) io.stdout.write(formatWatchHeader(view));
  for (;;) {
    for (const entry of view.timeline) {
      const key = JSON.stringify(entry);
      if (shown.has(key)) continue;
      shown.add(key);
      io.stdout.write(global.json ? `${JSON.stringify(entry)}\n` : formatTimelineEntry(entry));
    }
    if (isTerminal(view.status)) {
      io.stdout.write(global.json ? `${JSON.stringify(view)}\n` : `${view.token} ${view.status}\n`);
      return statusExit(view.status);
    }
    if (now() + WATCH_INTERVAL_MS > deadline) {
      io.stderr.write(
        `riq: stopped watching ${view.token} after ${command.timeoutSeconds} s (status: ${view.status}); ` +
          `watch again with: riq watch ${view.token}\n`,
      );
      return EXIT.WAIT_TIMEOUT;
    }
    await sleep(WATCH_INTERVAL_MS);
    view = await client.getRequest(command.token);
  }
}

function submitOptions(command: Extract<Command, { name: 'submit' }>): SubmitOptions {
  const options: SubmitOptions = {};
  if (command.priority !== undefined) options.priority = command.priority;
  if (command.idempotencyKey !== undefined) options.idempotencyKey = command.idempotencyKey;
  if (command.fresh) options.fresh = true;
  if (command.routing !== undefined) options.routing = command.routing;
  if (command.fireAndForget) options.fireAndForget = true;
  if (command.dependsOn !== undefined) options.dependsOn = command.dependsOn;
  if (command.after !== undefined) options.afterConsistencyToken = command.after;
  return options;
}

async function readPayload(command: Extract<Command, { name: 'submit' }>, io: RunIo): Promise<unknown> {
  const source = command.payload;
  let text: string;
  let from: string;
  switch (source.kind) {
    case 'inline':
      text = source.text;
      from = 'payload';
      break;
    case 'file':
      from = `payload file '${source.path}'`;
      try {
        text = await (io.readTextFile ?? ((p: string) => readFile(p, 'utf8')))(source.path);
      } catch (error) {
        throw new UsageError(`cannot read ${from}: ${(error as Error).message}`, 'submit');
      }
      break;
    case 'stdin': {
      from = 'payload on stdin';
      const chunks: string[] = [];
      for await (const chunk of io.stdin ?? [])
        chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      text = chunks.join('');
      break;
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${from} is not valid JSON: ${(error as Error).message}`, 'submit');
  }
}

async function waitFor(
  client: QueueClientApi,
  token: string,
  flags: WaitFlags,
  global: GlobalOptions,
  io: RunIo,
): Promise<RequestView> {
  const spinner = startSpinner(io.stderr, `waiting for ${token}`, io.isTTY === true && !global.json);
  try {
    return await client.waitForResult(
      token,
      flags.timeoutSeconds !== undefined ? { timeoutMs: Math.round(flags.timeoutSeconds * 1000) } : {},
    );
  } finally {
    spinner.stop();
  }
}

/**
 * One line for an endpoint that refused the connection or whose host does not resolve: what
 * happened and what to do. For a loopback endpoint the likely cause is a local stack not started.
 */
export function unreachableHint(endpoint: string, reason: Unreachable): string {
  const why = reason === 'refused' ? 'connection refused' : 'host not found';
  const local = isLoopback(endpoint) ? "start the local stack with 'npm start', or " : '';
  return `cannot reach RIQ at ${endpoint} (${why}): ${local}pass --endpoint URL / set RIQ_ENDPOINT`;
}

function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function statusExit(status: SubmitAnswer['status'] | RequestView['status']): ExitCode {
  return status === 'failed' || status === 'dead' ? EXIT.REQUEST_FAILED : EXIT.OK;
}

function usage(io: RunIo, error: UsageError): ExitCode {
  io.stderr.write(`riq: ${error.message}\n${usageLine(error.command)}\n`);
  io.stderr.write(`Run 'riq ${error.command ? `${error.command} ` : ''}--help' for more.\n`);
  return EXIT.USAGE;
}

/** Prints an error to stderr and answers its exit code. */
function failure(io: RunIo, error: unknown, endpoint: string): ExitCode {
  if (error instanceof UsageError) return usage(io, error);
  if (error instanceof RiqApiError) {
    io.stderr.write(`riq: ${error.code} (HTTP ${error.status}): ${error.message}\n`);
    if (error.details !== undefined) io.stderr.write(`details: ${JSON.stringify(error.details)}\n`);
    return error.status >= 400 && error.status < 500 ? EXIT.REFUSED : EXIT.UNAVAILABLE;
  }
  if (error instanceof RiqWaitTimeoutError) {
    const status = error.lastView?.status ?? 'unknown';
    io.stderr.write(
      `riq: timed out after ${error.timeoutMs / 1000} s waiting for ${error.token} (last status: ${status}); ` +
        `check again with: riq result ${error.token} --wait\n`,
    );
    return EXIT.WAIT_TIMEOUT;
  }
  if (error instanceof RiqRequestFailedError) {
    io.stderr.write(`riq: ${error.message}\n`);
    return EXIT.REQUEST_FAILED;
  }
  if (error instanceof RiqNetworkError && error.unreachable !== undefined) {
    io.stderr.write(`riq: ${unreachableHint(endpoint, error.unreachable)}\n`);
    return EXIT.UNAVAILABLE;
  }
  if (error instanceof RiqNetworkError) {
    io.stderr.write(`riq: network error: ${error.message}\n`);
    return EXIT.UNAVAILABLE;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`riq: unexpected error: ${message}\n`);
  return EXIT.UNAVAILABLE;
}
