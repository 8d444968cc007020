/**
 * The simulator's control API under `/__sim/` (no auth): faults, latency, stats, reset.
 */
import { faultRuleSchema, type FaultRegistry } from './faults.js';
import { json, type Router, type SimRequest, type SimResponse } from './router.js';
import type { SimState } from './state.js';

export const CONTROL_PREFIX = '/__sim';

export function registerControlRoutes(router: Router, state: SimState, faults: FaultRegistry): void {
  router.add('POST', `${CONTROL_PREFIX}/faults`, (req) => {
    const parsed = faultRuleSchema.safeParse(req.body);
    if (!parsed.success) return invalid(parsed.error.issues);
    return json(201, { id: faults.add(parsed.data) });
  });
  router.add('GET', `${CONTROL_PREFIX}/faults`, () => json(200, { faults: faults.list() }));
  router.add('DELETE', `${CONTROL_PREFIX}/faults`, () => json(200, { cleared: faults.clear() }));
  router.add('DELETE', `${CONTROL_PREFIX}/faults/:id`, (req) =>
    faults.remove(req.params['id'] ?? '')
      ? json(200, { removed: true })
      : json(404, { error: 'no such fault' }),
  );
  router.add('GET', `${CONTROL_PREFIX}/config`, () => json(200, config(state)));
  router.add('POST', `${CONTROL_PREFIX}/config`, (req) => setConfig(state, req));
  router.add('GET', `${CONTROL_PREFIX}/stats`, () => json(200, state.stats()));
  router.add('POST', `${CONTROL_PREFIX}/reset`, () => {
    state.reset();
    return json(200, { reset: true });
  });
}

function setConfig(state: SimState, req: SimRequest): SimResponse {
  const body = req.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return json(400, { error: 'body must be a JSON object' });
  }
  const latency = (body as Record<string, unknown>)['latency_ms'];
  if (latency !== undefined) {
    if (typeof latency !== 'number' || !Number.isInteger(latency) || latency < 0 || latency > 600_000) {
      return json(400, { error: 'latency_ms must be an integer between 0 and 600000' });
    }
    state.latencyMs = latency;
  }
  return json(200, config(state));
}

function config(state: SimState): { latency_ms: number } {
  return { latency_ms: state.latencyMs };
}

function invalid(issues: { path: PropertyKey[]; message: string }[]): SimResponse {
  return json(400, {
    error: 'invalid fault rule',
    issues: issues.map((i) => ({ field: i.path.map(String).join('.') || 'body', message: i.message })),
  });
}
