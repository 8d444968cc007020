import { describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../../model/operations.js';
import { buildPlan, isWrite, resolveTemplates } from '../../../chaos/plan.js';

const seeded = { issueKeys: ['MD-1', 'MD-2'], pageIds: ['101', '102'] };
const plan = buildPlan({ run: 'x', requests: 1_000, submitSeconds: 100, seed: 7, seeded });

describe('chaos plan', () => {
  it('is the same for the same seed', () => {
    expect(buildPlan({ run: 'x', requests: 1_000, submitSeconds: 100, seed: 7, seeded })).toEqual(plan);
  });

  it('has the asked number of requests, spread over the submit time, in order', () => {
    expect(plan).toHaveLength(1_000);
    expect(plan.map((r) => r.index)).toEqual([...Array(1_000).keys()]);
    expect(plan.at(-1)!.atMs).toBeLessThan(100_000);
    for (let i = 1; i < plan.length; i++) expect(plan[i]!.atMs).toBeGreaterThanOrEqual(plan[i - 1]!.atMs);
  });

  it('covers all ten operations and the three priorities', () => {
    expect(new Set(plan.map((r) => r.operation))).toEqual(new Set(OPERATIONS));
    expect(new Set(plan.map((r) => r.priority))).toEqual(new Set(['high', 'normal', 'low']));
  });

  it('has chains whose steps depend on earlier requests and name them in templates', () => {
    const chained = plan.filter((r) => r.dependsOn.length > 0);
    expect(chained.length).toBeGreaterThan(20);
    for (const r of chained) {
      for (const parent of r.dependsOn) expect(parent).toBeLessThan(r.index);
      const refs = [...JSON.stringify(r.payload).matchAll(/\{\{#(\d+)\./g)].map((m) => Number(m[1]));
      for (const ref of refs) expect(r.dependsOn).toContain(ref);
    }
  });

  it('puts idempotency keys, submitted twice, on writes only, each key once', () => {
    const keyed = plan.filter((r) => r.idempotencyKey);
    expect(keyed.length).toBeGreaterThan(50);
    for (const r of keyed) {
      expect(isWrite(r.operation)).toBe(true);
      expect(r.resubmitAfterMs).toBeGreaterThan(0);
    }
    expect(new Set(keyed.map((r) => r.idempotencyKey)).size).toBe(keyed.length);
  });

  it('marks every create with a marker of its own', () => {
    const creates = plan.filter((r) => r.creates);
    expect(new Set(creates.map((r) => r.creates!.kind))).toEqual(new Set(['issue', 'page', 'comment']));
    expect(new Set(creates.map((r) => r.creates!.marker)).size).toBe(creates.length);
  });

  it('sends templates with the parents’ tokens', () => {
    const payload = { task_id: '{{#3.key}}', comment: 'keep {{other}}', n: 1 };
    expect(resolveTemplates(payload, (i) => `tok${i}`)).toEqual({
      task_id: '{{tok3.key}}',
      comment: 'keep {{other}}',
      n: 1,
    });
  });
});
