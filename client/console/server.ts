/**
 * `startConsole`: the console's HTTP server, on 127.0.0.1 only (never another interface), answering
 * only to its own loopback address (guards.ts).
 */
import { getRequestListener, serve } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { consoleApp, consolePages, isConsolePagePath } from './app.js';
import { consoleAssets } from './assets.js';
import { ownHosts } from './guards.js';
import { createUpstream, type UpstreamOptions } from './proxy.js';

export interface ConsoleOptions extends UpstreamOptions {
  /** 0 picks a free port. @default 4000 */
  port?: number;
}

export interface RunningConsole {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The RIQ endpoint it forwards to, and the region it signs for (undefined: unsigned). */
  endpoint: string;
  signingRegion: string | undefined;
  stop(): Promise<void>;
}

export const DEFAULT_CONSOLE_PORT = 4000;
const LOOPBACK = '127.0.0.1';

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const upstream = createUpstream(options);
  // Built before listening: a broken bundle fails the start, not the first page view.
  await consoleAssets();
  let port = options.port ?? DEFAULT_CONSOLE_PORT;
  let hosts = ownHosts(port);
  const app = consoleApp({ upstream, allowedHosts: () => hosts });
  const server = serve({
    fetch: app.fetch,
    hostname: LOOPBACK,
    port,
    // Keep Node's own Request/Response: this may run inside a process that uses them (npm start).
    overrideGlobalObjects: false,
  });
  await new Promise<void>((ok, fail) => {
    if (server.listening) return ok();
    server.once('listening', ok);
    server.once('error', fail);
  });
  port = (server.address() as AddressInfo).port;
  hosts = ownHosts(port);
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    endpoint: upstream.endpoint,
    signingRegion: upstream.signingRegion,
    stop: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/**
 * The console's page as a Node request listener, for a server that serves RIQ's API itself (`npm
 * start`, local/api-server.ts): same origin as the API, so no proxy and no signing.
 */
export function consolePageListener(): {
  handles: (path: string) => boolean;
  listener: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
} {
  const listener = getRequestListener(consolePages().fetch, { overrideGlobalObjects: false });
  return { handles: isConsolePagePath, listener: (req, res) => listener(req, res) };
}
