/**
 * The path of one Atlassian request through the simulator, after the latency delay:
 *
 *   OAuth endpoints (`/oauth/…`): fault rules, then the route — no behaviours (auth.atlassian.com
 *   is another host with its own limits).
 *   Atlassian routes (site paths and `/ex/{product}/{cloudId}/…`): auth (401) → fault rules (they
 *   take precedence over every behaviour) → outage (503 or reset) → rate limit (429) → error_rate
 *   (503) → timeout_rate (hang) → the route → drop_after_commit_rate (writes, i.e. POST/PUT except
 *   the read-only search POSTs: committed, then the connection is destroyed) →
 *   answer_after_commit_ms (a committed write answered only after that delay) →
 *   `X-RateLimit-NearLimit` on a 2xx.
 */
import type { SimAuth } from './auth.js';
import type { SimBehaviour } from './behaviour.js';
import type { FaultRegistry } from './faults.js';
import { gatewayTarget, type SimOAuth } from './oauth-routes.js';
import { rateLimitedResponse } from './rate-limit.js';
import { jiraError, json, Router, type Handler, type SimRequest, type SimResponse } from './router.js';

/** Destroy the connection without an answer. */
export interface SimDrop {
  drop: true;
}

export const DROP: SimDrop = { drop: true };

export function isDrop(outcome: SimResponse | SimDrop): outcome is SimDrop {
  return 'drop' in outcome;
}

/** A Router that also names the route template a request matches, for the per-endpoint counters. */
export class TemplatedRouter extends Router {
  private readonly templates: { template: string; matcher: Router }[] = [];

  override add(method: string, pattern: string, handler: Handler): this {
    const template = `${method.toUpperCase()} ${pattern}`;
    this.templates.push({ template, matcher: new Router().add(method, pattern, handler) });
    return super.add(method, pattern, handler);
  }

  /** `"METHOD /route/:template"`, or `"METHOD (unmatched)"`. */
  template(method: string, path: string): string {
    const found = this.templates.find((t) => t.matcher.match(method, path).kind === 'found');
    return found?.template ?? `${method.toUpperCase()} (unmatched)`;
  }
}

export type BareRequest = Omit<SimRequest, 'params'>;

export interface PipelineDeps {
  faults: FaultRegistry;
  behaviour: SimBehaviour;
  auth: SimAuth;
  oauth: SimOAuth;
  /** Jira and Confluence site routes. */
  atlassian: TemplatedRouter;
  /** `/oauth/token…` routes. */
  oauthRoutes: TemplatedRouter;
  /** Dispatches to a router (405/404 included). */
  route: (router: Router, req: BareRequest) => Promise<SimResponse>;
}

const WRITE_METHODS = new Set(['POST', 'PUT']);
/** POST routes that only read (Jira's enhanced search): nothing is committed, so nothing is dropped. */
const READ_ONLY_POSTS = new Set(['POST /rest/api/3/search/jql', 'POST /rest/api/3/search']);

/** Answers one non-control request. `signal` aborts a hang (the client left, or the simulator stops). */
export async function handleAtlassianRequest(
  deps: PipelineDeps,
  req: BareRequest,
  signal: AbortSignal,
): Promise<SimResponse | SimDrop> {
  const { method, path } = req;
  const counters = deps.behaviour.counters;
  if (path === '/oauth' || path.startsWith('/oauth/')) {
    counters.endpoint(deps.oauthRoutes.template(method, path));
    return deps.faults.take(method, path) ?? deps.route(deps.oauthRoutes, req);
  }

  const gateway = gatewayTarget(path);
  const sitePath = gateway?.sitePath ?? path;
  const template = deps.atlassian.template(method, sitePath);
  counters.endpoint(template);

  const unauthorized = deps.auth.check(req.headers, gateway !== undefined);
  if (unauthorized) return unauthorized;
  if (gateway && (!gateway.valid || gateway.cloudId !== deps.oauth.cloudId)) {
    return json(404, { code: 404, message: `No ${gateway.product} site ${gateway.cloudId} for ${sitePath}` });
  }
  // A fault rule matches the path as sent or, on the gateway, the site path (one rule for both modes).
  const fault = deps.faults.take(method, path) ?? (gateway ? deps.faults.take(method, sitePath) : undefined);
  if (fault) return fault;

  const behaviour = deps.behaviour;
  const outage = behaviour.outageNow();
  if (outage) {
    counters.outageRejected++;
    return outage === 'reset' ? DROP : jiraError(503, ['Service unavailable (simulated outage).']);
  }
  const limit = behaviour.rateLimit;
  const token = behaviour.takeToken();
  if (token && !token.allowed && limit) return rateLimitedResponse(token, limit);

  const error = behaviour.drawError();
  if (error) {
    counters.errorsInjected++;
    return {
      ...jiraError(503, ['Simulated upstream failure (503).']),
      ...(error.retryAfter !== undefined ? { headers: { 'Retry-After': String(error.retryAfter) } } : {}),
    };
  }
  if (behaviour.drawTimeout()) {
    counters.timeoutsInjected++;
    await sleep(behaviour.hangMs, signal);
    return jiraError(504, ['Simulated gateway timeout: no answer in time.']);
  }

  const siteReq: BareRequest = gateway
    ? { ...req, path: sitePath, baseUrl: `${req.baseUrl}${gateway.prefix}` }
    : req;
  const response = await deps.route(deps.atlassian, siteReq);
  const ok = response.status >= 200 && response.status <= 299;
  // Drawn for every write, committed or not, so the sequence depends only on the requests.
  const write = WRITE_METHODS.has(method.toUpperCase()) && !READ_ONLY_POSTS.has(template);
  const drop = write && behaviour.drawDrop();
  if (drop && ok) {
    counters.droppedAfterCommit++;
    return DROP;
  }
  if (write && ok && behaviour.answerAfterCommitMs > 0) {
    // Committed already: a client that stops waiting sees a timeout for an object that exists.
    counters.answeredAfterCommit++;
    await sleep(behaviour.answerAfterCommitMs, signal);
  }
  if (ok && token?.allowed && token.nearLimit) {
    return { ...response, headers: { ...response.headers, 'X-RateLimit-NearLimit': 'true' } };
  }
  return response;
}

/** Waits `ms`, or less when `signal` aborts (the client left, the simulator stops); never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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
