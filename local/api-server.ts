/**
 * Serves the API Lambdas over HTTP as API Gateway (REST, proxy integration) would: the routes of
 * model/config/routes.ts, each request turned into an APIGatewayProxyEvent.
 *
 * API Gateway's IAM authorizer puts the caller's ARN in `requestContext.identity.userArn`; locally
 * the `X-Riq-Caller` header stands in for the SigV4 signature (default: a local developer ARN).
 *
 * Each handler runs with its function's timeout (local/lambda-invoke.ts). A function that times out
 * or throws gets what API Gateway answers for a Lambda function error, 502 `Internal server error`,
 * and one still running at the 29 s integration timeout gets 504 `Endpoint request timed out`: both
 * through the deployed DEFAULT_5XX gateway response, so in RIQ's error shape with code
 * `INTERNAL_ERROR` (`GATEWAY_5XX_ERROR`).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { API_INTEGRATION_TIMEOUT_SECONDS } from '../model/config/resources.js';
import {
  API_ROUTES,
  GATEWAY_5XX_ERROR,
  type ApiFunctionName,
  type ApiRoute,
} from '../model/config/routes.js';
import { invokeWithTimeout } from './lambda-invoke.js';

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export const CALLER_HEADER = 'x-riq-caller';
export const DEFAULT_CALLER = 'arn:aws:iam::000000000000:user/local-developer';
/** API Gateway's own payload limit. */
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
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      // API Gateway answers unknown resources and methods with 403 Missing Authentication Token.
      const code = candidates.length > 0 ? 405 : 404;
      send(res, code, {
        error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}`, retryable: false },
      });
      return;
    }
    const body = await readBody(req);
    if (body === 'too-large') {
      // API Gateway's own 413 (its body is `{"message":"Request Too Long"}`), in RIQ's error shape.
      send(res, 413, {
        error: {
          code: 'PAYLOAD_TOO_LARGE',
          message: `request body is over ${MAX_BODY_BYTES} bytes`,
          retryable: false,
          details: { field: 'body', limit: MAX_BODY_BYTES },
        },
      });
      return;
    }
    const match = route.pattern.exec(url.pathname);
    const pathParameters = Object.fromEntries(
      route.params.map((p, i) => [p, decodePathSegment(match?.[i + 1] ?? '')]),
    );
    const event = toEvent(req, url, route, pathParameters, body);
    let result: APIGatewayProxyResult;
    try {
      result = await invokeFunction(route.fn, event);
    } catch (err) {
      options.onFunctionError?.(err);
      const answer = gatewayAnswerFor(err);
      send(res, answer.status, gatewayErrorBody(answer.message));
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
  function invokeFunction(fn: ApiFunctionName, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
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

  await new Promise<void>((ok) => server.listen(options.port, options.host ?? '127.0.0.1', ok));
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

/** API Gateway stopped waiting for the function at the integration timeout. */
class IntegrationTimeout extends Error {
  override readonly name = 'IntegrationTimeout';
  constructor(functionName: string, seconds: number) {
    super(`${functionName}: API Gateway's integration timed out after ${seconds} seconds`);
  }
}

/**
 * What API Gateway answers when the function failed: 504 when it gave up waiting, else (a function
 * that timed out or threw) 502, the proxy integration's answer to any Lambda function error.
 */
export function gatewayAnswerFor(err: unknown): { status: 502 | 504; message: string } {
  if (err instanceof IntegrationTimeout) return { status: 504, message: 'Endpoint request timed out' };
  return { status: 502, message: 'Internal server error' };
}

/** The body of the deployed DEFAULT_5XX gateway response (lib/constructs/api.ts) for `message`. */
export function gatewayErrorBody(message: string): unknown {
  return {
    error: {
      code: GATEWAY_5XX_ERROR.code,
      message,
      retryable: GATEWAY_5XX_ERROR.retryable,
      details: { checked_by: 'api_gateway' },
    },
  };
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  route: CompiledRoute,
  pathParameters: Record<string, string>,
  body: Buffer | null,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const caller = headers[CALLER_HEADER] ?? DEFAULT_CALLER;
  const text = body && isUtf8(body) ? body.toString('utf8') : null;
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: url.searchParams.size > 0 ? query : null,
    multiValueQueryStringParameters: url.searchParams.size > 0 ? multiQuery : null,
    pathParameters: route.params.length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body === null ? null : (text ?? body.toString('base64')),
    isBase64Encoded: body !== null && text === null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: route.method,
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
      identity: {
        accessKey: null,
        accountId: '000000000000',
        apiKey: null,
        apiKeyId: null,
        caller,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: caller,
        userAgent: headers['user-agent'] ?? null,
        userArn: caller,
      },
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

async function readBody(req: IncomingMessage): Promise<Buffer | null | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return size === 0 ? null : Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
