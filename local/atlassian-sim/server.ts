/**
 * The simulated Jira/Confluence Cloud: real HTTP on loopback, in-memory data, Basic auth, injectable
 * faults and latency, and a control API under `/__sim/`. Used by `npm start`, the integration tests
 * and standalone through `local/atlassian-sim/main.ts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimAuth, type SimCredentials } from './auth.js';
import { SimBehaviour } from './behaviour.js';
import { registerConfluenceRoutes } from './confluence-routes.js';
import { ConfluenceState } from './confluence-state.js';
import { CONTROL_PREFIX, registerControlRoutes } from './control-routes.js';
import { FaultRegistry } from './faults.js';
import { registerJiraRoutes } from './jira-routes.js';
import { registerOAuthRoutes, SimOAuth, type SimOAuthOptions } from './oauth-routes.js';
import { handleAtlassianRequest, isDrop, sleep, TemplatedRouter, type SimDrop } from './pipeline.js';
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
  /** Seed of the PRNG behind every injected fraction (errors, timeouts, drops). @default random */
  randomSeed?: number;
  /** The simulated OAuth 2.0 (3LO) grant. @default DEFAULT_SIM_OAUTH */
  oauth?: SimOAuthOptions;
  /**
   * Runs on each `POST /__sim/reset`, after the simulator's data is cleared and before it answers:
   * the local stack drops what its read cache holds from the data that is gone.
   */
  onReset?: () => Promise<void>;
}

export interface AtlassianSimulator {
  /** `http://127.0.0.1:<port>`: the Jira base URL; Confluence is under `${url}/wiki`. */
  url: string;
  /** Data and statistics, for tests that look inside. */
  state: SimState;
  /** Confluence spaces and pages (reset with `state`). */
  confluence: ConfluenceState;
  faults: FaultRegistry;
  /** Run-time behaviours (rate limits, points quota, injected failures, outage) and their counters. */
  behaviour: SimBehaviour;
  /** The OAuth grant (client id/secret, current tokens, cloudId). */
  oauth: SimOAuth;
  auth: SimAuth;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

type Outcome = { path: string; response: SimResponse | SimDrop; record: boolean };

export async function startAtlassianSimulator(
  options: AtlassianSimulatorOptions,
): Promise<AtlassianSimulator> {
  const host = options.host ?? '127.0.0.1';
  const state = new SimState(options.seed ?? DEFAULT_SEED, options.latencyMs ?? 0);
  const behaviour = new SimBehaviour(options.randomSeed);
  const faults = new FaultRegistry(() => behaviour.draw());
  const oauth = new SimOAuth(options.oauth ?? {}, behaviour.counters);
  const auth = new SimAuth({ email: options.email, apiToken: options.apiToken }, oauth);
  const atlassian = new TemplatedRouter();
  registerJiraRoutes(atlassian, state);
  const confluence = new ConfluenceState();
  state.onReset(() => confluence.reset());
  registerConfluenceRoutes(atlassian, confluence, state);
  const oauthRoutes = new TemplatedRouter();
  registerOAuthRoutes(oauthRoutes, oauth);
  const control = new Router();
  registerControlRoutes(control, state, faults, {
    behaviour,
    auth,
    oauth,
    confluence,
    ...(options.onReset ? { onReset: options.onReset } : {}),
  });
  const stopping = new AbortController();
  let baseUrl = '';

  async function respond(req: IncomingMessage, signal: AbortSignal): Promise<Outcome> {
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

    if (state.latencyMs > 0) await sleep(state.latencyMs, signal);
    const response = await handleAtlassianRequest(
      {
        faults,
        behaviour,
        auth,
        oauth,
        atlassian,
        oauthRoutes,
        route,
        issueIdOf: (idOrKey) => state.issue(idOrKey)?.id ?? idOrKey,
      },
      simReq,
      signal,
    );
    return { path, response, record: true };
  }

  const server = createServer((req, res) => {
    // Aborted when the client leaves or the simulator stops, so a simulated hang ends with them.
    const gone = new AbortController();
    const onStop = () => gone.abort();
    stopping.signal.addEventListener('abort', onStop, { once: true });
    res.once('close', () => {
      gone.abort();
      stopping.signal.removeEventListener('abort', onStop);
    });
    respond(req, gone.signal)
      .then(({ path, response, record }) => {
        if (isDrop(response)) {
          if (record) state.recordCall(req.method ?? 'GET', path, 0);
          req.socket.destroy();
          return;
        }
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
    confluence,
    faults,
    behaviour,
    oauth,
    auth,
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
