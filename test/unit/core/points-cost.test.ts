import { describe, expect, it } from 'vitest';
import {
  ADAPTER_PAGING,
  actualPoints,
  estimatePoints,
  settlePoints,
  type PointsCost,
} from '../../../lambdas/core/domain/points-cost.js';
import * as confluence from '../../../lambdas/adapters/atlassian/confluence-adapter.js';
import * as jira from '../../../lambdas/adapters/atlassian/jira-adapter.js';
import { DEFAULT_MAX_RESULTS, OPERATIONS, type OperationName } from '../../../model/operations.js';

const cost = (calls: number, objects: number): PointsCost => ({ points: calls + objects, calls, objects });

describe('points cost', () => {
  describe('estimatePoints', () => {
    it.each<[string, OperationName, Record<string, unknown>, number, PointsCost]>([
      ['a Jira get: 1 call + 1 issue', 'jira.get_task', { task_id: 'MD-1' }, 1, cost(1, 1)],
      ['a Confluence get: 1 call + 1 page', 'confluence.get_page', { page_id: '7' }, 1, cost(1, 1)],
      ['a Jira create: 1 write', 'jira.create_task', { title: 't', project_id: 'MD' }, 1, cost(1, 0)],
      [
        'a retried Jira create: the marker search (≤ 1 issue) + the write',
        'jira.create_task',
        { title: 't', project_id: 'MD' },
        2,
        cost(2, 1),
      ],
      ['a Jira update: 1 write', 'jira.update_task', { task_id: 'MD-1', title: 't' }, 1, cost(1, 0)],
      [
        'a transition: the issue (2), its transitions (1), the POST (1)',
        'jira.transition_task',
        { task_id: 'MD-1', target_status: 'Done' },
        1,
        cost(3, 1),
      ],
      ['a comment on a key: 1 write', 'jira.add_comment', { task_id: 'MD-1', comment: 'c' }, 1, cost(1, 0)],
      [
        'a comment on a numeric id: the issue read for its key + the write',
        'jira.add_comment',
        { task_id: '10001', comment: 'c' },
        1,
        cost(2, 1),
      ],
      [
        'a retried comment: one page of comments, their properties by id, the write',
        'jira.add_comment',
        { task_id: 'MD-1', comment: 'c' },
        3,
        cost(3, 200),
      ],
      [
        'a retried comment on a numeric id: the issue, one page of comments, their properties, the write',
        'jira.add_comment',
        { task_id: '10001', comment: 'c' },
        2,
        cost(4, 201),
      ],
      [
        'a Jira search with the default 50 results',
        'jira.search_tasks',
        { jql: 'project = MD' },
        1,
        cost(1, 50),
      ],
      ['a Jira search for 100', 'jira.search_tasks', { jql: 'x', max_results: 100 }, 1, cost(1, 100)],
      ['a Jira search for 3', 'jira.search_tasks', { jql: 'x', max_results: 3 }, 1, cost(1, 3)],
      [
        'a Confluence create: 1 write',
        'confluence.create_page',
        { title: 't', content: '', space_id: 'MD' },
        1,
        cost(1, 0),
      ],
      [
        'a retried Confluence create: the title look-up (≤ 1 page) + the write',
        'confluence.create_page',
        { title: 't', content: '', space_id: 'MD' },
        2,
        cost(2, 1),
      ],
      [
        'a Confluence update: the page read for its version + the PUT',
        'confluence.update_page',
        { page_id: '7', content: 'c' },
        1,
        cost(2, 1),
      ],
      [
        'a Confluence search with the default 25 results',
        'confluence.search_pages',
        { query: 'q' },
        1,
        cost(1, 25),
      ],
      [
        'a Confluence search for 100: two calls of 50',
        'confluence.search_pages',
        { query: 'q', max_results: 100 },
        1,
        cost(2, 100),
      ],
      [
        'a Confluence search for 51: two calls',
        'confluence.search_pages',
        { query: 'q', max_results: 51 },
        1,
        cost(2, 51),
      ],
    ])('%s', (_, operation, payload, attempt, expected) => {
      expect(estimatePoints(operation, payload, { attempt })).toEqual(expected);
    });

    it('matches Atlassian’s examples: a GET of one issue is 2, a search returning 50 issues 51', () => {
      expect(estimatePoints('jira.get_task', { task_id: 'MD-1' }).points).toBe(2);
      expect(estimatePoints('jira.search_tasks', { jql: 'x', max_results: 50 }).points).toBe(51);
    });

    it('reads a max_results outside the schema’s 1–100 (a stored payload) as the default', () => {
      for (const max_results of [0, 101, 2.5, '10', null]) {
        expect(estimatePoints('jira.search_tasks', { jql: 'x', max_results }).objects).toBe(50);
        expect(estimatePoints('confluence.search_pages', { query: 'q', max_results }).objects).toBe(25);
      }
    });

    it('counts every operation at 1 point or more, points = calls + objects', () => {
      for (const op of OPERATIONS) {
        const estimate = estimatePoints(op, {});
        expect(estimate.points).toBeGreaterThanOrEqual(1);
        expect(estimate.points).toBe(estimate.calls + estimate.objects);
      }
    });
  });

  describe('settlePoints', () => {
    const issues = (n: number) => ({ issues: Array.from({ length: n }, (_, i) => ({ key: `MD-${i}` })) });
    const pages = (n: number) => ({ pages: Array.from({ length: n }, (_, i) => ({ id: String(i) })) });

    it.each<[string, OperationName, Record<string, unknown>, unknown, number, number, number]>([
      ['a search that found 3 of 50 gives 47 back', 'jira.search_tasks', { jql: 'x' }, issues(3), 1, 51, 4],
      ['a search that found none costs its call', 'jira.search_tasks', { jql: 'x' }, issues(0), 1, 51, 1],
      [
        'a search that found all it asked for',
        'jira.search_tasks',
        { jql: 'x', max_results: 7 },
        issues(7),
        1,
        8,
        8,
      ],
      [
        'a Confluence search of 100 that found 60 made two calls',
        'confluence.search_pages',
        { query: 'q', max_results: 100 },
        pages(60),
        1,
        102,
        62,
      ],
      [
        'a Confluence search of 100 that found 20 made one',
        'confluence.search_pages',
        { query: 'q', max_results: 100 },
        pages(20),
        1,
        102,
        21,
      ],
      [
        'a transition already in the target status made only its read',
        'jira.transition_task',
        { task_id: 'MD-1', target_status: 'Done' },
        { transitioned: false },
        1,
        4,
        2,
      ],
      [
        'a transition that moved the issue',
        'jira.transition_task',
        { task_id: 'MD-1', target_status: 'Done' },
        { transitioned: true },
        1,
        4,
        4,
      ],
      [
        'a retried create costs 2 whether it adopted or wrote',
        'jira.create_task',
        { title: 't', project_id: 'MD' },
        { id: '1', key: 'MD-1' },
        2,
        3,
        2,
      ],
      [
        'a retried page create likewise',
        'confluence.create_page',
        { title: 't', content: '', space_id: 'MD' },
        { id: '7' },
        2,
        3,
        2,
      ],
      ['a get costs its estimate', 'jira.get_task', { task_id: 'MD-1' }, { key: 'MD-1' }, 1, 2, 2],
      [
        'a first create costs its estimate',
        'jira.create_task',
        { title: 't', project_id: 'MD' },
        {},
        1,
        1,
        1,
      ],
      [
        'a search whose result is not a search result is settled at the estimate',
        'jira.search_tasks',
        { jql: 'x' },
        { pages: [] },
        1,
        51,
        51,
      ],
      ['a missing result likewise', 'confluence.search_pages', { query: 'q' }, undefined, 1, 26, 26],
      [
        'a transition result without `transitioned` likewise',
        'jira.transition_task',
        { task_id: 'MD-1', target_status: 'Done' },
        'odd',
        1,
        4,
        4,
      ],
    ])('%s', (_, operation, payload, result, attempt, estimated, actual) => {
      expect(settlePoints(operation, payload, result, { attempt })).toEqual({
        estimated,
        actual,
        giveBack: estimated - actual,
      });
      expect(actualPoints(operation, payload, result, { attempt }).points).toBe(actual);
    });

    it('never gives back less than 0 for any result size a search can return', () => {
      for (const max_results of [1, 25, 50, 51, 99, 100]) {
        for (let n = 0; n <= max_results; n++) {
          expect(
            settlePoints('jira.search_tasks', { jql: 'x', max_results }, issues(n)).giveBack,
          ).toBeGreaterThanOrEqual(0);
          expect(
            settlePoints('confluence.search_pages', { query: 'q', max_results }, pages(n)).giveBack,
          ).toBeGreaterThanOrEqual(0);
        }
      }
    });
  });

  describe('the adapters as the cost model counts them', () => {
    it('uses the adapters’ default max_results, from the operations model', () => {
      expect(jira.DEFAULT_SEARCH_RESULTS).toBe(DEFAULT_MAX_RESULTS['jira.search_tasks']);
      expect(confluence.DEFAULT_SEARCH_RESULTS).toBe(DEFAULT_MAX_RESULTS['confluence.search_pages']);
    });

    it('uses the adapters’ page sizes', () => {
      expect(ADAPTER_PAGING).toEqual({
        jiraSearchPageSize: jira.DEFAULT_SEARCH_PAGE_SIZE,
        confluenceSearchPageSize: confluence.DEFAULT_SEARCH_PAGE_SIZE,
        jiraCommentPageSize: jira.COMMENT_PAGE_SIZE,
      });
    });

    it('tells an issue key from a numeric id as the Jira adapter does', () => {
      for (const task_id of ['MD-1', 'A_B2-99', '10001', '1']) {
        const readsIssue = !jira.ISSUE_KEY.test(task_id);
        expect(estimatePoints('jira.add_comment', { task_id, comment: 'c' }).calls).toBe(readsIssue ? 2 : 1);
      }
    });
  });
});
