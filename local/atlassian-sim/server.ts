/**
 * The simulated Jira/Confluence Cloud: real HTTP on loopback, in-memory data, Basic auth, injectable
 * faults and latency, and a control API under `/__sim/`. Used by `npm start`, the integration tests
 * and standalone through `local/atlassian-sim/main.ts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkBasicAuth, type SimCredentials } from './auth.js';
import { CONTROL_PREFIX, registerControlRoutes } from './control-routes.js';
import { FaultRegistry } from './faults.js';
import { registerJiraRoutes } from './jira-routes.js';
import { Router, jiraError, json, type SimRequest, type SimResponse } from './router.js';
import { DEFAULT_SEED, SimState, type SimSeed } from './state.js';

export interface AtlassianSimulatorOptions extends SimCredentials {
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Initial projects. @default MD and RIQ, issue types Task, Bug, Story */
  seed?: SimSeed;
  /** Delay before answering each Atlassian request. @default 0 */
  latencyMs?: number;
}

export interface AtlassianSimulator {
  /** `http://127.0.0.1:<port>`: the Jira base URL; Confluence is under `${url}/wiki`. */
  url: string;
  /** Data and statistics, for tests that look inside. */
  state: SimState;
  faults: FaultRegistry;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function startAtlassianSimulator(
  options: AtlassianSimulatorOptions,
): Promise<AtlassianSimulator> {
  const host = options.host ?? '127.0.0.1';
  const state = new SimState(options.seed ?? DEFAULT_SEED, options.latencyMs ?? 0);
  const faults = new FaultRegistry();
  const credentials: SimCredentials = { email: options.email, apiToken: options.apiToken };
  const atlassian = new Router();
  registerJiraRoutes(atlassian, state);
  const control = new Router();
  registerControlRoutes(control, state, faults);
  const stopping = new AbortController();
  let baseUrl = '';

  async function respond(
    req: IncomingMessage,
  ): Promise<{ path: string; response: SimResponse; record: boolean }> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname; // still encoded: the router decodes parameters
    const isControl = path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`);

    const raw = await readBody(req);
    if (raw === undefined)
      return { path, response: jiraError(413, ['Request entity too large.']), record: !isControl };
    let body: unknown;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return {
          path,
          response: jiraError(400, ['Unexpected character in the request body: not JSON.']),
          record: !isControl,
        };
      }
    }
    const simReq: Omit<SimRequest, 'params'> = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      baseUrl,
    };

    if (isControl) return { path, response: await route(control, simReq), record: false };

    if (state.latencyMs > 0) await sleep(state.latencyMs, stopping.signal);
    const response =
      checkBasicAuth(req.headers, credentials) ??
      faults.take(method, path) ??
      (await route(atlassian, simReq));
    return { path, response, record: true };
  }

  const server = createServer((req, res) => {
    respond(req)
      .then(({ path, response, record }) => {
        if (record) state.recordCall(req.method ?? 'GET', path, response.status);
        send(res, response);
      })
      .catch((err: unknown) => {
        send(res, jiraError(500, [`Simulator error: ${err instanceof Error ? err.message : String(err)}`]));
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: baseUrl,
    state,
    faults,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        stopping.abort();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function route(router: Router, req: Omit<SimRequest, 'params'>): Promise<SimResponse> {
  const match = router.match(req.method, req.path);
  if (match.kind === 'found') return match.handler({ ...req, params: match.params });
  if (match.kind === 'method_not_allowed') {
    return {
      ...jiraError(405, [`Method ${req.method} is not allowed for ${req.path}.`]),
      headers: { Allow: match.allowed.join(', ') },
    };
  }
  return json(404, { errorMessages: [`No resource found for ${req.method} ${req.path}.`], errors: {} });
}

function send(res: ServerResponse, response: SimResponse): void {
  if (res.destroyed || res.writableEnded) return; // the client gave up (timeout) or we are stopping
  const headers: Record<string, string> = { ...response.headers };
  if (response.body === undefined) {
    res.writeHead(response.status, headers).end();
    return;
  }
  const payload = JSON.stringify(response.body);
  headers['Content-Type'] = 'application/json;charset=UTF-8';
  res.writeHead(response.status, headers).end(payload);
}

/** The body as text, or undefined when it is larger than MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
