/**
 * The console as a Hono app: its page (`consolePages`, also served by `npm start` at `/`) and, in
 * `riq console`, the guarded proxy of `/api/queue/*` to the RIQ endpoint (`consoleApp`).
 */
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { ASSET_PATHS, consoleAssets } from './assets.js';
import { consoleErrorBody } from './errors.js';
import { apiRoute, consoleHeaderGuard, hostGuard } from './guards.js';
import type { Upstream } from './proxy.js';

/** The console's calls are small JSON bodies (a redrive's `{"service": …}`). */
const MAX_PROXIED_BODY_BYTES = 64 * 1024;

/** True for the paths `consolePages` serves. */
export function isConsolePagePath(path: string): boolean {
  return path === '/' || path === ASSET_PATHS.js || path === ASSET_PATHS.css;
}

/** The page, its script and its styles; everything from this origin, never framed. */
export function consolePages(): Hono {
  const pages = new Hono();
  pages.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        // uPlot positions its legend and cursor with inline styles.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
      // Plain HTTP on loopback: no HSTS.
      strictTransportSecurity: false,
      xFrameOptions: 'DENY',
      referrerPolicy: 'no-referrer',
    }),
  );
  pages.use('*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });
  pages.get('/', async (c) => c.html((await consoleAssets()).html));
  pages.get(ASSET_PATHS.js, async (c) =>
    c.body((await consoleAssets()).js, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  pages.get(ASSET_PATHS.css, async (c) =>
    c.body((await consoleAssets()).css, 200, { 'content-type': 'text/css; charset=utf-8' }),
  );
  return pages;
}

export interface ConsoleAppOptions {
  upstream: Upstream;
  /** The Host values this console answers to (guards.ts `ownHosts`), read on each request. */
  allowedHosts: () => readonly string[];
}

export function consoleApp(options: ConsoleAppOptions): Hono {
  const app = new Hono();
  app.use('*', hostGuard(options.allowedHosts));
  app.route('/', consolePages());
  app.use('/api/*', consoleHeaderGuard());
  app.all('/api/*', async (c) => {
    const url = new URL(c.req.url);
    const match = apiRoute(c.req.method, url.pathname);
    if (match.kind === 'none')
      return c.json(consoleErrorBody('unknownRoute', `${url.pathname} is not a RIQ API route`), 404);
    if (match.kind === 'methods') {
      c.header('allow', match.allowed.join(', '));
      return c.json(
        consoleErrorBody(
          'methodNotAllowed',
          `${c.req.method} is not allowed on ${url.pathname}; allowed: ${match.allowed.join(', ')}`,
        ),
        405,
      );
    }
    const text = c.req.method === 'GET' || c.req.method === 'HEAD' ? '' : await readLimited(c.req.raw);
    if (text === undefined)
      return c.json(
        consoleErrorBody(
          'bodyTooLarge',
          `a body through the console is at most ${MAX_PROXIED_BODY_BYTES} bytes`,
        ),
        413,
      );
    const accept = c.req.header('accept');
    const contentType = c.req.header('content-type');
    const answer = await options.upstream.forward({
      method: c.req.method,
      pathAndQuery: `${url.pathname}${url.search}`,
      ...(accept !== undefined ? { accept } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(text !== '' ? { body: text } : {}),
    });
    if (answer.kind === 'unreachable')
      return c.json(consoleErrorBody('upstreamUnreachable', answer.message), 502);
    if (answer.kind === 'signing-failed')
      return c.json(consoleErrorBody('signingFailed', answer.message), 502);
    return new Response(answer.status === 204 ? null : answer.body, {
      status: answer.status,
      headers: { ...answer.headers, 'cache-control': 'no-store' },
    });
  });
  app.notFound((c) =>
    c.json(consoleErrorBody('unknownRoute', `${c.req.path} is not part of the console`), 404),
  );
  return app;
}

/**
 * The body as text, or undefined past MAX_PROXIED_BODY_BYTES (read no further). Hono's `bodyLimit`
 * would do this, but it re-wraps the request in the global `Request`, which fails when the Node
 * adapter keeps Node's own globals (server.ts `overrideGlobalObjects: false`).
 */
async function readLimited(req: Request): Promise<string | undefined> {
  if (!req.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_PROXIED_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
