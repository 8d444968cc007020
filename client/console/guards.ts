/**
 * What keeps the console's proxy from being anyone else's door to RIQ. The proxy answers with the
 * operator's own identity (SigV4 with their credentials on AWS), so a web page elsewhere must not be
 * able to reach it through the operator's browser:
 *
 * - `hostGuard`: every request must name the console's own address in `Host`
 *   (`127.0.0.1:<port>` or `localhost:<port>`). A page on a DNS name rebound to 127.0.0.1 sends its
 *   own name, so it is refused (DNS rebinding). An `Origin` header, when sent, must be the same.
 * - `consoleHeaderGuard`: every proxied call must carry `X-Riq-Console: 1`. A cross-site `<form>`
 *   cannot set a header, and a cross-site `fetch` that sets one needs a CORS preflight the console
 *   never grants.
 * - `apiRoute`: only the RIQ API's own routes (model/config/routes.ts) are forwarded.
 */
import type { MiddlewareHandler } from 'hono';
import { API_ROUTES, type ApiRoute } from '../../model/config/routes.js';
import { consoleErrorBody } from './errors.js';

export const CONSOLE_HEADER = 'x-riq-console';

/** The Host values the console answers to while listening on `port`. */
export function ownHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export function hostGuard(allowedHosts: () => readonly string[]): MiddlewareHandler {
  return async function checkHost(c, next) {
    const allowed = allowedHosts();
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (!allowed.includes(host))
      return c.json(
        consoleErrorBody(
          'foreignHost',
          `Host '${host}' is not this console's address (${allowed.join(' or ')}); open the console by that address`,
        ),
        403,
      );
    const origin = c.req.header('origin');
    if (origin !== undefined && !allowed.some((h) => origin.toLowerCase() === `http://${h}`))
      return c.json(consoleErrorBody('foreignOrigin', `Origin '${origin}' is not this console`), 403);
    await next();
  };
}

export function consoleHeaderGuard(): MiddlewareHandler {
  return async function checkConsoleHeader(c, next) {
    if (c.req.header(CONSOLE_HEADER) !== '1')
      return c.json(
        consoleErrorBody('headerRequired', `calls through the console need the header 'X-Riq-Console: 1'`),
        403,
      );
    await next();
  };
}

interface CompiledRoute {
  route: ApiRoute;
  pattern: RegExp;
}

const COMPILED: readonly CompiledRoute[] = API_ROUTES.map((route) => ({
  route,
  pattern: new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+')}$`),
}));

/**
 * `route`: the RIQ route `method path` names; `methods`: the path is a route's, with these methods
 * only; `none`: no RIQ route has that path.
 */
export function apiRoute(
  method: string,
  path: string,
): { kind: 'route'; route: ApiRoute } | { kind: 'methods'; allowed: string[] } | { kind: 'none' } {
  const byPath = COMPILED.filter((c) => c.pattern.test(path));
  const exact = byPath.find((c) => c.route.method === method);
  if (exact) return { kind: 'route', route: exact.route };
  if (byPath.length > 0) return { kind: 'methods', allowed: [...new Set(byPath.map((c) => c.route.method))] };
  return { kind: 'none' };
}
