/**
 * Hostile input against the shared stack: the fixed corpus (each with its precise answer) and a
 * small generated run with a fixed seed. Never a 5xx, every 4xx RIQ's error body with a known code,
 * nothing written for a rejected request. `npm run fuzz` runs many more on a stack of its own.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  describeRequest,
  runHostile,
  sendAndClassify,
  StackWatcher,
  sameSnapshot,
} from '../hostile/check.js';
import { CORPUS, expectationProblem } from '../hostile/corpus.js';
import { sampleHostile } from '../hostile/generators.js';

const stack = inject('stack');
const watcher = new StackWatcher(stack);
afterAll(() => watcher.destroy());

const SEED = 20_260_808;
const RUNS = 100;

function violationsText(report: Awaited<ReturnType<typeof runHostile>>): string[] {
  return report.violations.map(
    (v) => `${v.status} ${v.problem} ← ${describeRequest(v.request, 200)} → ${v.answer}`,
  );
}

describe('hostile input gets a precise 4xx and changes nothing', () => {
  it(`answers each of the ${CORPUS.length} corpus requests as expected, writing nothing for the rejected ones`, async () => {
    const report = await runHostile(stack.url, watcher, CORPUS);
    expect(violationsText(report)).toEqual([]);
    const misses = report.outcomes
      .map((o, i) => ({ o, problem: expectationProblem(CORPUS[i]!, o) }))
      .filter((m) => m.problem !== undefined)
      .map((m) => `${m.problem} ← ${describeRequest(m.o.request, 200)} → ${m.o.answer.text.slice(0, 200)}`);
    expect(misses).toEqual([]);
    expect(report.checkedBatches).toBeGreaterThan(0);
  });

  it(`${RUNS} generated requests (seed ${SEED}): no 5xx, RIQ's error body, nothing written`, async () => {
    const requests = sampleHostile(SEED, RUNS);
    const report = await runHostile(stack.url, watcher, requests);
    expect(violationsText(report)).toEqual([]);
    expect(report.outcomes.filter((o) => o.verdict.kind === 'rejected').length).toBeGreaterThan(RUNS / 2);
    expect(report.checkedBatches).toBeGreaterThan(0);
  });

  it('the write check sees a write (so the checks above can fail)', async () => {
    const before = await watcher.settle();
    const outcome = await sendAndClassify(stack.url, {
      name: 'a valid queued submit',
      method: 'POST',
      path: '/api/queue/submit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        operation: 'jira.get_task',
        payload: { task_id: 'MD-1' },
        routing: 'queued',
        fresh: true,
      }),
    });
    expect(outcome.verdict.kind).toBe('accepted');
    expect(sameSnapshot(before, await watcher.snapshot())).toBe(false);
    await watcher.settle();
  });
});
