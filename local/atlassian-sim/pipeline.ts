/**
 * The path of one Atlassian request through the simulator, after the latency delay:
 *
 *   OAuth endpoints (`/oauth/…`): fault rules, then the route — no behaviours (auth.atlassian.com
 *   is another host with its own limits).
 *   Atlassian routes (site paths and `/ex/{product}/{cloudId}/…`): auth (401) → fault rules (they
 *   take precedence over every behaviour) → outage (503 or reset) → points quota spent (429 until
 *   the reset) → site rate limit (429) → endpoint burst (429) → per-issue writes (429) → error_rate
 *   (503) → timeout_rate (hang) → the route, then its points charged to the quota →
 *   drop_after_commit_rate (writes, i.e. POST/PUT except the read-only search POSTs: committed,
 *   then the connection is destroyed) → answer_after_commit_ms (a committed write answered only
 *   after that delay) → `X-RateLimit-NearLimit` on a 2xx of the site bucket; the quota's headers on
 *   every answer from the quota check on. Every 429 is counted by its `RateLimit-Reason`.
 *   A call costs points only when it reaches a route: what a limit, fault, outage, injected error
 *   or hang answers costs nothing.
 */
import type { SimAuth } from './auth.js';
import type { SimBehaviour } from './behaviour.js';
import type { FaultRegistry } from './faults.js';
import { callPoints, isWrite, READ_ONLY_POSTS } from './call-points.js';
import { gatewayTarget, type GatewayTarget, type SimOAuth } from './oauth-routes.js';
import type { WriteTarget } from './per-issue-limit.js';
import type { QuotaProduct } from './points-quota.js';
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
    return this.resolve(method, path).template;
  }

  /** The template a request matches and its path parameters (none when unmatched). */
  resolve(method: string, path: string): { template: string; params: Record<string, string> } {
    for (const t of this.templates) {
      const match = t.matcher.match(method, path);
      if (match.kind === 'found') return { template: t.template, params: match.params };
    }
    return { template: `${method.toUpperCase()} (unmatched)`, params: {} };
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
  /** The id of an issue named by id or key (the per-issue limit counts both as one); as given when unknown. */
  issueIdOf: (idOrKey: string) => string;
}

/** Writes that can be dropped after commit or answered late. */
const WRITE_METHODS = new Set(['POST', 'PUT']);

/** What the pipeline knows of a request once it is authenticated and matched. */
interface Matched {
  req: BareRequest;
  gateway: GatewayTarget | undefined;
  template: string;
  params: Record<string, string>;
  product: QuotaProduct;
}

/** Answers one non-control request. `signal` aborts a hang (the client left, or the simulator stops). */
export async function handleAtlassianRequest(
  deps: PipelineDeps,
  req: BareRequest,
  signal: AbortSignal,
): Promise<SimResponse | SimDrop> {
  const outcome = await answer(deps, req, signal);
  if (!isDrop(outcome) && outcome.status === 429) {
    deps.behaviour.counters.rateLimited(outcome.headers?.['RateLimit-Reason']);
  }
  return outcome;
}

async function answer(
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
  const { template, params } = deps.atlassian.resolve(method, sitePath);
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

  const product: QuotaProduct = sitePath === '/wiki' || sitePath.startsWith('/wiki/') ? 'confluence' : 'jira';
  // Only a Bearer token passes auth with `Authorization: Bearer` (on the gateway): an OAuth call.
  const quota = behaviour.quotaFor(
    gateway !== undefined && /^Bearer\s/i.test(req.headers.authorization ?? ''),
  );
  if (!quota) return limitedAnswer(deps, { req, gateway, template, params, product }, signal);
  const refused = quota.refusal(product);
  const response =
    refused ??
    (await limitedAnswer(deps, { req, gateway, template, params, product }, signal, (points) =>
      quota.charge(product, points),
    ));
  return isDrop(response) ? response : withHeaders(response, quota.headers(product));
}

/**
 * From the rate limits on: site bucket, endpoint bucket, per-issue writes, injected errors and
 * hangs, the route (then `charge` its points), drops and slow answers after commit.
 */
async function limitedAnswer(
  deps: PipelineDeps,
  { req, gateway, template, params, product }: Matched,
  signal: AbortSignal,
  charge?: (points: number) => void,
): Promise<SimResponse | SimDrop> {
  const { method } = req;
  const behaviour = deps.behaviour;
  const counters = behaviour.counters;
  const limit = behaviour.rateLimit;
  const token = behaviour.takeToken();
  if (token && !token.allowed && limit) return rateLimitedResponse(token, limit.burst);
  const burst = behaviour.bursts?.take(template, product);
  if (burst) return burst;
  const target = isWrite(method, template) ? writeTarget(deps, template, params) : undefined;
  const perIssue = target && behaviour.perIssueWrites?.take(target);
  if (perIssue) return perIssue;

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
    ? { ...req, path: gateway.sitePath, baseUrl: `${req.baseUrl}${gateway.prefix}` }
    : req;
  const response = await deps.route(deps.atlassian, siteReq);
  charge?.(callPoints(method, template, response));
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
    return withHeaders(response, { 'X-RateLimit-NearLimit': 'true' });
  }
  return response;
}

/** The issue or page a write goes to, for the per-issue limit; undefined for a create or a search. */
function writeTarget(
  deps: PipelineDeps,
  template: string,
  params: Record<string, string>,
): WriteTarget | undefined {
  const issue = params['issueIdOrKey'];
  if (issue !== undefined) return { kind: 'issue', id: deps.issueIdOf(issue) };
  const page = params['id'];
  if (page !== undefined && template.includes('/wiki/api/v2/pages/:id')) return { kind: 'page', id: page };
  return undefined;
}

function withHeaders(response: SimResponse, headers: Record<string, string>): SimResponse {
  return { ...response, headers: { ...headers, ...response.headers } };
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
