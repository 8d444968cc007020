/**
 * A recording HTTP proxy for contract tests: listens on loopback, forwards every request (method,
 * path, query, headers, body) to a target base URL unchanged and records what was sent, so the test
 * sees exactly the requests an adapter put on the wire.
 */
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest } from './validate-request.js';

export interface RecordedExchange extends RecordedRequest {
  /** The raw body text; undefined when empty. */
  rawBody: string | undefined;
  /** The target's status; 502 when the target could not be reached. Set once the answer arrives. */
  status: number | undefined;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`; the target's path prefix is not included (the proxy adds it). */
  url: string;
  /** Everything forwarded since start or the last clear(), in arrival order. */
  readonly requests: RecordedExchange[];
  clear(): void;
  stop(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; `host` is rewritten for the target. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

export async function startRecordingProxy(targetBaseUrl: string): Promise<RecordingProxy> {
  const target = new URL(targetBaseUrl);
  if (target.protocol !== 'http:') throw new Error(`recording proxy targets http only, got ${targetBaseUrl}`);
  const targetPrefix = target.pathname.replace(/\/+$/, '');
  const requests: RecordedExchange[] = [];

  const server = createServer((req, res) => {
    readAll(req)
      .then((raw) => {
        const text = raw.length > 0 ? raw.toString('utf8') : undefined;
        const exchange: RecordedExchange = {
          method: (req.method ?? 'GET').toUpperCase(),
          url: req.url ?? '/',
          body: parseJson(text),
          rawBody: text,
          contentType: req.headers['content-type'],
          status: undefined,
        };
        requests.push(exchange);

        const headers: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
        }
        headers['host'] = target.host;
        headers['content-length'] = String(raw.length);
        const upstream = request(
          {
            protocol: target.protocol,
            hostname: target.hostname,
            port: target.port,
            method: req.method,
            path: `${targetPrefix}${req.url ?? '/'}`,
            headers,
          },
          (answer) => {
            exchange.status = answer.statusCode;
            const out: OutgoingHttpHeaders = {};
            for (const [name, value] of Object.entries(answer.headers)) {
              if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
            }
            res.writeHead(answer.statusCode ?? 502, out);
            answer.pipe(res);
          },
        );
        upstream.on('error', (err) => {
          exchange.status = 502;
          if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
          res.end(`recording proxy: ${err.message}`);
        });
        upstream.end(raw);
      })
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`recording proxy: ${err instanceof Error ? err.message : String(err)}`);
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    clear: () => {
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Parsed JSON, the text itself when it is not JSON (the validator then reports a type problem), or undefined. */
function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
