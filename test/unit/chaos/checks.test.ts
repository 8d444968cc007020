import { describe, expect, it } from 'vitest';
import {
  countMarker,
  judge,
  outageAllowance,
  type ChaosObservations,
  type RequestOutcome,
} from '../../../chaos/checks.js';
import { REDUCED } from '../../../chaos/settings.js';
import type { SimObjects } from '../../../local/atlassian-sim/control.js';

const objects: SimObjects = {
  issues: [
    { key: 'MD-1', summary: 'm-r1', labels: ['m-r1'], status: 'To Do', comments: ['{"text":"m-r12"}'] },
  ],
  pages: [{ id: '9', space_id: '1', title: 'm-r2', version: 1 }],
};

function outcome(over: Partial<RequestOutcome>): RequestOutcome {
  return {
    index: 0,
    operation: 'jira.get_task',
    priority: 'normal',
    submitStatus: 200,
    token: 'tok0',
    final: { status: 'completed' },
    ...over,
  };
}

function observe(outcomes: RequestOutcome[], over: Partial<ChaosObservations> = {}): ChaosObservations {
  return {
    settings: REDUCED,
    outcomes,
    deadListed: [],
    objects,
    outageCalls: { jira: 3, confluence: 2 },
    tooManyRequests: { total: 5, injected: 4, byReason: { '(none)': 4, 'jira-burst-based': 1 } },
    upstreamCalls: 100,
    strays: { sent: 6, changed: [], callsAfter: 0 },
    bigPage: { bytes: 1_000_000, readBack: 'whole' },
    ...over,
  };
}

const clean: RequestOutcome[] = [
  outcome({
    index: 1,
    operation: 'jira.create_task',
    token: 't1',
    creates: { kind: 'issue', marker: 'm-r1' },
  }),
  outcome({
    index: 2,
    operation: 'confluence.create_page',
    token: 't2',
    creates: { kind: 'page', marker: 'm-r2' },
  }),
  outcome({
    index: 12,
    operation: 'jira.add_comment',
    token: 't12',
    creates: { kind: 'comment', marker: 'm-r12' },
  }),
  outcome({ index: 3, token: 't3', final: { status: 'failed', errorCode: 'NOT_FOUND' } }),
  outcome({ index: 4, token: 't4', final: { status: 'dead', errorCode: 'SERVICE_UNAVAILABLE' } }),
  outcome({ index: 5, token: undefined, cached: true, final: { status: 'cached' } }),
  outcome({ index: 6, token: 't6', resubmit: { status: 200, token: 't6' } }),
];

describe('chaos checks', () => {
  it('passes a run where every promise held, with its figures', () => {
    const verdict = judge(observe(clean, { deadListed: ['t4'] }));
    expect(verdict.violations).toEqual([]);
    expect(verdict.figures).toMatchObject({
      requests: 7,
      completed: 4,
      failed_non_retryable: 1,
      failed_by_code: 'NOT_FOUND×1',
      failed_by_operation: 'jira.get_task NOT_FOUND×1',
      dead_and_listed: 1,
      dead_by_code: 'SERVICE_UNAVAILABLE×1',
      dead_by_operation: 'jira.get_task SERVICE_UNAVAILABLE×1',
      cached_at_submit: 1,
      distinct_creates_submitted: 3,
      creates_completed: 3,
      created_objects_found: 3,
      created_objects_of_dead_creates: 0,
      duplicates: 0,
      '429_caused_by_riq': 1,
      '429_by_reason': '(none)×4, jira-burst-based×1',
      stray_copies_sent: 6,
      stray_copies_that_changed_a_record: 0,
      calls_made_by_stray_copies: 0,
    });
  });

  it('fails a run where a stray copy changed a record or called Atlassian, or the big page came back cut', () => {
    const verdict = judge(
      observe(clean, {
        deadListed: ['t4'],
        strays: { sent: 6, changed: ['request 4 (t4): dead/4 became completed/1'], callsAfter: 1 },
        bigPage: { bytes: 1_000_000, readBack: 'no body' },
      }),
    );
    expect(verdict.violations).toEqual([
      'the 1000000-byte page was not read back whole: no body',
      'a stray copy changed request 4 (t4): dead/4 became completed/1',
      'stray copies of ended requests made 1 calls to Atlassian',
    ]);
  });

  it('allows the object of a dead create, never that of a failed one', () => {
    const dead = outcome({
      index: 9,
      token: 't9',
      operation: 'jira.create_task',
      creates: { kind: 'issue', marker: 'm-r1' },
      final: { status: 'dead', errorCode: 'SERVICE_UNAVAILABLE' },
    });
    const failed = outcome({
      index: 10,
      token: 't10',
      operation: 'confluence.create_page',
      creates: { kind: 'page', marker: 'm-r2' },
      final: { status: 'failed', errorCode: 'VALIDATION_ERROR' },
    });
    const verdict = judge(observe([dead, failed], { deadListed: ['t9'] }));
    expect(verdict.violations).toEqual(['request 10: failed but its page exists']);
    expect(verdict.figures).toMatchObject({
      creates_completed: 0,
      created_objects_found: 2,
      created_objects_of_dead_creates: 1,
    });
  });

  it('names each broken promise', () => {
    const broken = [
      outcome({ index: 1, submitStatus: 500, token: undefined, submitError: 'INTERNAL_ERROR' }),
      outcome({ index: 2, resubmit: { status: 200, token: 'other' } }),
      outcome({ index: 3, final: { status: 'failed', errorCode: 'SERVICE_UNAVAILABLE' } }),
      outcome({ index: 4, token: 't4', final: { status: 'dead' } }),
      outcome({ index: 5, final: { status: 'processing' } }),
      outcome({ index: 6, final: undefined }),
      outcome({ index: 7, operation: 'jira.create_task', creates: { kind: 'issue', marker: 'missing' } }),
    ];
    const twice: SimObjects = { ...objects, pages: [...objects.pages, ...objects.pages] };
    const dup = outcome({ index: 8, creates: { kind: 'page', marker: 'm-r2' } });
    const verdict = judge(
      observe([...broken, dup], { objects: twice, outageCalls: { jira: outageAllowance(REDUCED) + 1 } }),
    );
    expect(verdict.violations).toEqual([
      'request 1 (jira.get_task): submit answered 500 INTERNAL_ERROR',
      'request 2 (jira.get_task): the second submit of its key answered 200 with token other, not tok0',
      'request 3 (jira.get_task): failed with a retryable cause SERVICE_UNAVAILABLE',
      'request 4 (jira.get_task): dead but not in the dead-letter listing',
      'request 5 (jira.get_task): stuck in processing',
      'request 6 (jira.get_task): lost (no record)',
      'request 7: completed but its issue is missing',
      'request 8: page m-r2 exists 2 times',
      `jira: ${outageAllowance(REDUCED) + 1} calls reached the dead service during the outage (allowed ${outageAllowance(REDUCED)})`,
    ]);
    expect(verdict.figures['lost_or_stuck']).toBe(2);
    expect(verdict.figures['duplicates']).toBe(1);
  });

  it('counts a comment marker only as a whole text, not inside a longer marker', () => {
    expect(countMarker(objects, 'comment', 'm-r12')).toBe(1);
    expect(countMarker(objects, 'comment', 'm-r1')).toBe(0);
    expect(countMarker(objects, 'issue', 'm-r1')).toBe(1);
  });

  it('allows the threshold plus one probe per recovery period in the outage', () => {
    // REDUCED: threshold 5, a 20 s outage, 15 s recovery: probes at most 2.
    expect(outageAllowance(REDUCED)).toBe(7);
  });
});
