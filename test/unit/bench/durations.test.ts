import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeWithTimeout, type InvocationTiming } from '../../../local/lambda-invoke.js';
import {
  ownWork,
  recordInvocations,
  stopTimingUpstreamCalls,
  timeUpstreamCalls,
} from '../../../bench/durations.js';

const timing = (functionName: string, durationMs: number, upstreamMs = 0): InvocationTiming => ({
  functionName,
  durationMs,
  upstreamMs,
  timedOut: false,
});

describe('ownWork', () => {
  it("prices a function's own work at the p90 of duration less upstream wait, rounded up to 1 ms", () => {
    const timings = [
      ...Array.from({ length: 9 }, (_, i) => timing('riq-worker-jira', 60 + i * 10, 50)), // own 10..90
      timing('riq-worker-jira', 150.2, 50), // own 100.2
      timing('riq-submit', 5),
    ];
    const w = ownWork(timings, 'riq-worker-jira');
    expect(w?.samples).toBe(10);
    expect(w?.medianMs).toBe(50);
    expect(w?.p90Ms).toBe(90);
    expect(w?.billedMs).toBe(90);
    expect(w?.meanMs).toBeCloseTo(55.02, 6);
    expect(w?.upstreamMedianMs).toBe(50);
    expect(ownWork([timing('riq-result', 3.2)], 'riq-result')?.billedMs).toBe(4);
    expect(ownWork(timings, 'riq-result')).toBeUndefined();
  });

  it('leaves out invocations that timed out', () => {
    const w = ownWork(
      [timing('riq-submit', 10), { ...timing('riq-submit', 9_000), timedOut: true }],
      'riq-submit',
    );
    expect(w?.samples).toBe(1);
    expect(w?.billedMs).toBe(10);
  });
});

describe('timeUpstreamCalls', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('{}'), 60));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    stopTimingUpstreamCalls();
    await new Promise((ok) => server.close(ok));
  });

  it("counts a handler's fetch to the upstream as waiting, and the log waits for the next invocation", async () => {
    timeUpstreamCalls(base);
    const log = recordInvocations();
    const next = log.next('riq-worker');
    try {
      await invokeWithTimeout(
        async () => {
          await (await fetch(`${base}/rest/api/3/issue/RIQ-1`)).text();
        },
        {},
        { functionName: 'riq-submit', timeoutSeconds: 2 },
      );
      await invokeWithTimeout(
        async () => undefined,
        {},
        { functionName: 'riq-worker-jira', timeoutSeconds: 2 },
      );
      expect((await next).functionName).toBe('riq-worker-jira');
    } finally {
      log.stop();
    }
    const submit = log.timings.find((t) => t.functionName === 'riq-submit');
    expect(submit?.upstreamMs).toBeGreaterThanOrEqual(55);
    expect(submit?.upstreamMs).toBeLessThanOrEqual(submit!.durationMs);
    // A fetch outside any invocation is not counted anywhere.
    await (await fetch(`${base}/x`)).text();
    expect(log.timings).toHaveLength(2);
  });
});
