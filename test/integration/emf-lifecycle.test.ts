/**
 * The metrics and state-change lines a request's life writes to the local stack's output, as
 * CloudWatch would read them on AWS: EMF lines in namespace RIQ whose names and dimensions are the
 * catalogue's (model/config/metrics.ts), and one `request state changed` line per state change with
 * the token as correlation id. The stack runs in this process; its stdout is captured.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRIC_DIMENSIONS, METRICS, METRICS_NAMESPACE } from '../../model/config/metrics.js';
import type { SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { LocalStack } from '../../local/stack.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

interface EmfMetric {
  name: string;
  dimensions: Record<string, string>;
  value: unknown;
}

let stack: LocalStack;
let api: RiqHttp;
const output: string[] = [];
const errors: string[] = [];

beforeAll(async () => {
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  // Powertools Logger writes WARN and ERROR lines to stderr.
  const writeErr = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    errors.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return (writeErr as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  let control: SimulatorControl;
  // Sweeps (and so the BreakerState gauge) every second.
  ({ stack, api, control } = await startTestStack(
    'riqemf',
    {},
    { sweepIntervalMs: 1000, log: () => undefined },
  ));
  await control.quiet();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  vi.restoreAllMocks();
});

function jsonLines(): Record<string, unknown>[] {
  return output
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Every metric of every EMF line, with the dimension values of its line. */
function emfMetrics(): EmfMetric[] {
  return jsonLines().flatMap((line) => {
    const aws = line['_aws'] as
      | { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      | undefined;
    if (!aws) return [];
    return aws.CloudWatchMetrics.filter((d) => d.Namespace === METRICS_NAMESPACE).flatMap((d) =>
      d.Metrics.map((m) => ({
        name: m.Name,
        dimensions: Object.fromEntries((d.Dimensions[0] ?? []).map((k) => [k, String(line[k])])),
        value: line[m.Name],
      })),
    );
  });
}

describe('metrics and state lines of a request lifecycle in the local stack', () => {
  it('writes the catalogue metrics with exactly the catalogue dimensions', async () => {
    const direct = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'EMF direct', project_id: 'MD' },
      priority: 'high',
    });
    expect(direct.body).toMatchObject({ status: 'completed', routing_path: 'DIRECT' });
    const queued = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'EMF queued', project_id: 'MD' },
      routing: 'queued',
    });
    const done = await api.waitFor(String(queued.body['token']));
    expect(done.body['status']).toBe('completed');
    const key = String((done.body['result'] as { key: string }).key);
    await api.submit({ operation: 'jira.get_task', payload: { task_id: key } });
    expect((await api.submit({ operation: 'jira.get_task', payload: { task_id: key } })).body['status']).toBe(
      'cached',
    );
    const missing = await api.submit({
      operation: 'jira.get_task',
      payload: { task_id: 'MD-99999' },
      routing: 'queued',
    });
    expect((await api.waitFor(String(missing.body['token']))).body['status']).toBe('failed');
    await new Promise((r) => setTimeout(r, 2500));

    const metrics = emfMetrics();
    const named = (name: string) => metrics.filter((m) => m.name === name);
    // Only catalogue names, each with exactly its catalogue dimensions.
    const catalogue = new Map<string, (typeof METRICS)[keyof typeof METRICS]>(
      Object.values(METRICS).map((m) => [m.name, m]),
    );
    for (const m of metrics.filter((x) => catalogue.has(x.name))) {
      const spec = catalogue.get(m.name)!;
      expect(Object.keys(m.dimensions).sort(), m.name).toEqual(
        spec.dimensions.map((d) => METRIC_DIMENSIONS[d]).sort(),
      );
    }

    expect(named('Submitted')).toContainEqual({
      name: 'Submitted',
      dimensions: { service: 'jira', priority: 'high' },
      value: 1,
    });
    expect(named('RoutedDirect').map((m) => m.value)).toContain(1);
    expect(named('RoutedQueued').map((m) => m.value)).toContain(1);
    expect(
      named('Completed').filter((m) => m.dimensions['service'] === 'jira').length,
    ).toBeGreaterThanOrEqual(3);
    expect(named('Completed')).toContainEqual({
      name: 'Completed',
      dimensions: { service: 'jira', priority: 'high' },
      value: 1,
    });
    const latencies = named('QueueLatency').map((m) => m.value);
    expect(latencies.length).toBeGreaterThanOrEqual(3);
    expect(latencies.every((v) => typeof v === 'number' && v >= 0)).toBe(true);
    expect(named('CacheHit').map((m) => m.value)).toEqual(expect.arrayContaining([0, 1]));
    expect(named('Failed')).toContainEqual({
      name: 'Failed',
      dimensions: { service: 'jira', priority: 'normal' },
      value: 1,
    });
    // Every call the points budget metered: the two creates a point each, the read that found its
    // Jira task 2 (one call, one object), the read of a missing task its estimate (2), jira only.
    const spent = named('PointsSpent');
    expect(spent.filter((m) => m.value === 1).length).toBeGreaterThanOrEqual(2);
    expect(spent.filter((m) => m.value === 2).length).toBeGreaterThanOrEqual(2);
    expect(spent.every((m) => m.dimensions['service'] === 'jira')).toBe(true);
    for (const service of ['jira', 'confluence']) {
      expect(named('BreakerState')).toContainEqual({
        name: 'BreakerState',
        dimensions: { service },
        value: 1,
      });
    }

    // One state line per change, correlated by the token.
    const states = jsonLines().filter((l) => l['message'] === 'request state changed');
    expect(states).toContainEqual(
      expect.objectContaining({
        correlation_id: direct.body['token'],
        status: 'completed',
        routing_path: 'DIRECT',
        duration_ms: expect.any(Number),
      }),
    );
    expect(states).toContainEqual(
      expect.objectContaining({
        correlation_id: queued.body['token'],
        status: 'completed',
        routing_path: 'QUEUED',
      }),
    );
    expect(states).toContainEqual(
      expect.objectContaining({
        correlation_id: missing.body['token'],
        status: 'failed',
        error_code: 'NOT_FOUND',
      }),
    );
    // The Atlassian service is `target_service`: `service` is the logger's own (the function).
    expect(states).toContainEqual(
      expect.objectContaining({ correlation_id: direct.body['token'], target_service: 'jira' }),
    );
  }, 60_000);

  it('passes the logger no reserved key: a submit, a completion and a redrive log no warning', async () => {
    const before = output.length;
    const errorsBefore = errors.length;
    const sub = await api.submit({
      operation: 'jira.create_task',
      payload: { title: 'No reserved keys', project_id: 'MD' },
      routing: 'queued',
    });
    expect((await api.waitFor(String(sub.body['token']))).body['status']).toBe('completed');
    const redrive = await api.raw('POST', '/api/queue/dead-letters/redrive', '{"service":"jira"}');
    expect(redrive.status).toBe(202);
    const logged = output.slice(before).join('') + errors.slice(errorsBefore).join('');
    expect(logged).toContain('request state changed');
    expect(logged).toContain('dead-letter queues redriven');
    expect(logged).not.toMatch(/is a reserved key and will be dropped/);
  }, 60_000);
});
