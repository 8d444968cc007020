/**
 * Serves the API Lambdas over HTTP as API Gateway's HTTP API would: the routes of
 * model/config/routes.ts, each request turned into a payload format 2.0 event; whatever no route
 * names goes to the `notFound` function, as the deployed `$default` route does.
 *
 * The HTTP API's IAM authorizer puts the caller's ARN in `requestContext.authorizer.iam.userArn`;
 * locally the `X-Riq-Caller` header stands in for the SigV4 signature (default: a local developer ARN,
 * which the local stack makes the operator).
 *
 * `pages`, when given, answers GET `/` and the console's assets (client/console): `npm start` serves
 * the web console on the API's own port; everything else goes to the routes as on AWS.
 *
 * Each handler runs with its function's timeout (local/lambda-invoke.ts). What the HTTP API answers
 * by itself comes in its own shape (`HTTP_API_ANSWERS`): a function that times out or throws gets
 * 500 `Internal Server Error`, one still running at the 29 s integration timeout 503 `Service
 * Unavailable`, a body over 10 MiB 413 `Request Entity Too Large`.
 */
import type { Context } from 'aws-lambda';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApiEvent, ApiResult } from '../lambdas/api/http.js';
import { API_INTEGRATION_TIMEOUT_SECONDS } from '../model/config/resources.js';
import { API_ROUTES, HTTP_API_ANSWERS, type ApiFunctionName, type ApiRoute } from '../model/config/routes.js';
import { invokeWithTimeout } from './lambda-invoke.js';

export type ApiHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

export const CALLER_HEADER = 'x-riq-caller';
export const DEFAULT_CALLER = 'arn:aws:iam::000000000000:user/local-developer';
/** The HTTP API's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute extends ApiRoute {
  pattern: RegExp;
  params: string[];
}

function compile(route: ApiRoute): CompiledRoute {
  const params: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { ...route, pattern: new RegExp(`^${source}$`), params };
}

export interface ApiServerOptions {
  port: number;
  host?: string;
  handlers: Record<ApiFunctionName, ApiHandler>;
  /** Each function's timeout, seconds (model/config/resources.ts `functionTimeoutSeconds`). */
  timeouts: Record<ApiFunctionName, number>;
  /** @default API_INTEGRATION_TIMEOUT_SECONDS (29) */
  integrationTimeoutSeconds?: number;
  /** Serves the paths it claims (`handles`) before the routes: the console's page. */
  pages?: {
    handles: (path: string) => boolean;
    listener: (req: IncomingMessage, res: ServerResponse) => unknown;
  };
  /** Told of each function that failed (threw or timed out), and of late results ignored. */
  onFunctionError?: (err: unknown) => void;
}

export interface RunningApi {
  url: string;
  stop(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<RunningApi> {
  const routes = API_ROUTES.map(compile);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // The handlers map their own errors; reaching here is a bug in this server.
      console.error('local API server error', err);
      if (!res.headersSent) send(res, 500, { message: 'Internal server error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (options.pages && req.method === 'GET' && options.pages.handles(url.pathname)) {
      await options.pages.listener(req, res);
      return;
    }
    const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    const body = await readBody(req);
    if (body === 'too-large') {
      send(res, HTTP_API_ANSWERS.tooLarge.status, { message: HTTP_API_ANSWERS.tooLarge.message });
      return;
    }
    const match = route?.pattern.exec(url.pathname);
    const pathParameters = Object.fromEntries(
      (route?.params ?? []).map((p, i) => [p, decodePathSegment(match?.[i + 1] ?? '')]),
    );
    const event = toEvent(req, url, route, pathParameters, body);
    let result: ApiResult;
    try {
      result = await invokeFunction(route?.fn ?? 'notFound', event);
    } catch (err) {
      options.onFunctionError?.(err);
      const answer = gatewayAnswerFor(err);
      send(res, answer.status, { message: answer.message });
      return;
    }
    res.writeHead(result.statusCode, {
      'content-type': 'application/json',
      ...(result.headers as Record<string, string>),
    });
    res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
  }

  /**
   * The function's answer; past the integration timeout (shorter than some functions' own), an
   * IntegrationTimeout while the function runs on, as API Gateway stops waiting for it.
   */
  function invokeFunction(fn: ApiFunctionName, event: ApiEvent): Promise<ApiResult> {
    const functionName = `riq-${fn}`;
    const invocation = invokeWithTimeout(
      options.handlers[fn],
      event,
      { functionName, timeoutSeconds: options.timeouts[fn] },
      {
        onLate: ({ error }) =>
          options.onFunctionError?.(
            new Error(`${functionName}: a timed-out invocation finished late; its result is ignored`, {
              cause: error,
            }),
          ),
      },
    );
    const limit = options.integrationTimeoutSeconds ?? API_INTEGRATION_TIMEOUT_SECONDS;
    if (options.timeouts[fn] <= limit) return invocation;
    let timer: NodeJS.Timeout | undefined;
    const gatewayGivesUp = new Promise<never>((_ok, fail) => {
      timer = setTimeout(() => fail(new IntegrationTimeout(functionName, limit)), limit * 1000);
    });
    // The function's own timeout comes later; its outcome then is ignored.
    invocation.catch(() => undefined);
    return Promise.race([invocation, gatewayGivesUp]).finally(() => clearTimeout(timer));
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'EADDRINUSE' ? new PortInUseError(options.port, { cause: err }) : err),
    );
    server.listen(options.port, options.host ?? '127.0.0.1', ok);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://localhost:${port}`,
    stop: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** The API port is taken (another `npm start`, or another server). */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(`port ${port} is in use`, options);
  }
}

/** API Gateway stopped waiting for the function at the integration timeout. */
class IntegrationTimeout extends Error {
  override readonly name = 'IntegrationTimeout';
  constructor(functionName: string, seconds: number) {
    super(`${functionName}: API Gateway's integration timed out after ${seconds} seconds`);
  }
}

/**
 * What the HTTP API answers when the function failed: 503 when it gave up waiting (the integration
 * timeout), else (a function that timed out or threw) 500.
 */
export function gatewayAnswerFor(err: unknown): { status: number; message: string } {
  const answer =
    err instanceof IntegrationTimeout ? HTTP_API_ANSWERS.integrationTimeout : HTTP_API_ANSWERS.functionError;
  return { status: answer.status, message: answer.message };
}

/** The payload format 2.0 event the HTTP API builds for the request (`route` absent: `$default`). */
function toEvent(
  req: IncomingMessage,
  url: URL,
  route: CompiledRoute | undefined,
  pathParameters: Record<string, string>,
  body: Buffer | null,
): ApiEvent {
  // Header names come lower-cased; repeated headers joined with commas; cookies apart.
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(/;\s*/));
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // Repeated query parameters are joined with commas.
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const caller = headers[CALLER_HEADER] ?? DEFAULT_CALLER;
  const text = body && isUtf8(body) ? body.toString('utf8') : null;
  const routeKey = route ? `${route.method} ${route.path}` : '$default';
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies && { cookies }),
    headers,
    ...(url.searchParams.size > 0 && { queryStringParameters: query }),
    ...(route && route.params.length > 0 && { pathParameters }),
    ...(body !== null && { body: text ?? body.toString('base64') }),
    isBase64Encoded: body !== null && text === null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: {
        iam: {
          accessKey: '',
          accountId: '000000000000',
          callerId: '',
          cognitoIdentity: null,
          principalOrgId: '',
          userArn: caller,
          userId: '',
        },
      },
      domainName: headers['host'] ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}

/** A path parameter, decoded; a malformed escape (`%E0%A4%A`) is passed on as it came, for the handler to refuse. */
function decodePathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function isUtf8(buf: Buffer): boolean {
  try {
    strictUtf8.decode(buf);
    return true;
  } catch {
    return false;
  }
}

/**
 * How much of a body over MAX_BODY_BYTES is read (and dropped) before the 413: a client still
 * sending when the connection closes sees a broken pipe instead of the answer. A body longer than
 * this has its connection closed unanswered.
 */
const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | null | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_DRAINED_BYTES) return 'too-large';
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) return 'too-large';
  return size === 0 ? null : Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
