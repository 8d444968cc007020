/**
 * The simulator's control API under `/__sim/` (no auth): faults, run-time behaviours (latency, rate
 * limits and points quota, injected errors, hangs, drops, slow answers after commit, search index
 * lag, outage, seed, OAuth token lifetime), credential expiry, stats and reset.
 */
import type { SimAuth } from './auth.js';
import type { ConfluenceState } from './confluence-state.js';
import { simConfigSchema, type SimBehaviour, type SimConfig } from './behaviour.js';
import { faultRuleSchema, type FaultRegistry } from './faults.js';
import type { SimOAuth } from './oauth-routes.js';
import { json, type Router, type SimRequest, type SimResponse } from './router.js';
import type { SimState } from './state.js';

export const CONTROL_PREFIX = '/__sim';

/** The parts of the simulator the control API steers besides data and faults. */
export interface ControlDeps {
  behaviour: SimBehaviour;
  auth: SimAuth;
  oauth: SimOAuth;
  confluence: ConfluenceState;
  /** Awaited after a reset, before it is answered (AtlassianSimulatorOptions.onReset). */
  onReset?: () => Promise<void>;
}

/**
 * The body of `GET /__sim/objects`: what exists now, for checks that nothing was done twice
 * (e.g. the chaos suite counts the issues, comments and pages carrying each request's marker).
 */
export interface SimObjects {
  issues: { key: string; summary: string; labels: string[]; status: string; comments: string[] }[];
  pages: { id: string; space_id: string; title: string; version: number }[];
}

export function registerControlRoutes(
  router: Router,
  state: SimState,
  faults: FaultRegistry,
  deps: ControlDeps,
): void {
  router.add('POST', `${CONTROL_PREFIX}/faults`, (req) => {
    const parsed = faultRuleSchema.safeParse(req.body);
    if (!parsed.success) return invalid('invalid fault rule', parsed.error.issues);
    return json(201, { id: faults.add(parsed.data) });
  });
  router.add('GET', `${CONTROL_PREFIX}/faults`, () => json(200, { faults: faults.list() }));
  router.add('DELETE', `${CONTROL_PREFIX}/faults`, () => json(200, { cleared: faults.clear() }));
  router.add('DELETE', `${CONTROL_PREFIX}/faults/:id`, (req) =>
    faults.remove(req.params['id'] ?? '')
      ? json(200, { removed: true })
      : json(404, { error: 'no such fault' }),
  );
  router.add('GET', `${CONTROL_PREFIX}/config`, () => json(200, config(state, deps)));
  router.add('POST', `${CONTROL_PREFIX}/config`, (req) => setConfig(state, deps, req));
  router.add('POST', `${CONTROL_PREFIX}/auth/expire`, () => json(200, deps.auth.expire()));
  router.add('POST', `${CONTROL_PREFIX}/auth/renew`, () => json(200, deps.auth.renew()));
  router.add('GET', `${CONTROL_PREFIX}/stats`, () =>
    json(200, {
      ...state.stats(),
      ...deps.behaviour.counters.snapshot(),
      points_quota: deps.behaviour.quotaStats(),
    }),
  );
  router.add('GET', `${CONTROL_PREFIX}/objects`, () => json(200, objects(state, deps.confluence)));
  router.add('POST', `${CONTROL_PREFIX}/reset`, async () => {
    state.reset();
    deps.behaviour.reset();
    await deps.onReset?.();
    return json(200, { reset: true });
  });
}

function objects(state: SimState, confluence: ConfluenceState): SimObjects {
  return {
    issues: state.issues().map((i) => ({
      key: i.key,
      summary: i.summary,
      labels: [...i.labels],
      status: i.status.name,
      // The ADF body as JSON text: a marker written in a comment can be found in it.
      comments: i.comments.map((c) => JSON.stringify(c.body)),
    })),
    pages: confluence
      .allPages()
      .map((p) => ({ id: p.id, space_id: p.spaceId, title: p.title, version: p.version })),
  };
}

function setConfig(state: SimState, deps: ControlDeps, req: SimRequest): SimResponse {
  const parsed = simConfigSchema.safeParse(req.body ?? {});
  if (!parsed.success) return invalid('invalid config', parsed.error.issues);
  const input = parsed.data;
  if (input.latency_ms !== undefined) state.latencyMs = input.latency_ms;
  if (input.search_index_lag_ms !== undefined) state.searchIndexLagMs = input.search_index_lag_ms;
  if (input.oauth_access_ttl_seconds !== undefined) {
    deps.oauth.accessTtlSeconds = input.oauth_access_ttl_seconds;
  }
  deps.behaviour.configure(input);
  return json(200, config(state, deps));
}

function config(state: SimState, deps: ControlDeps): SimConfig {
  return {
    latency_ms: state.latencyMs,
    ...deps.behaviour.view(),
    search_index_lag_ms: state.searchIndexLagMs,
    oauth_access_ttl_seconds: deps.oauth.accessTtlSeconds,
  };
}

function invalid(error: string, issues: { path: PropertyKey[]; message: string }[]): SimResponse {
  return json(400, {
    error,
    issues: issues.map((i) => ({ field: i.path.map(String).join('.') || 'body', message: i.message })),
  });
}
