/** "Did you mean": the nearest known name by edit distance, only when it is close enough to be a typo. */
import { describe, expect, it } from 'vitest';
import { closestName, didYouMean } from '../../../model/suggest.js';

const FIELDS = ['title', 'project_id', 'description', 'issue_type', 'labels'];

describe('closestName', () => {
  it.each([
    ['titel', 'title'],
    ['Title', 'title'],
    ['projectid', 'project_id'],
    ['descripton', 'description'],
    ['label', 'labels'],
    ['issuetype', 'issue_type'],
  ])('%s → %s', (typed, expected) => {
    expect(closestName(typed, FIELDS)).toBe(expected);
  });

  it('names a longer field the input begins', () => {
    expect(closestName('prio', ['operation', 'payload', 'priority'])).toBe('priority');
  });

  it.each(['xyz', 'assignee', 'a', ''])('suggests nothing for %j, too far from every field', (typed) => {
    expect(closestName(typed, FIELDS)).toBeUndefined();
  });

  it('takes the nearest of two candidates', () => {
    expect(closestName('jira.get_tsk', ['jira.get_task', 'jira.set_tasks'])).toBe('jira.get_task');
  });
});

describe('didYouMean', () => {
  it('is a clause to append, or nothing', () => {
    expect(didYouMean('titel', FIELDS)).toBe('; did you mean title?');
    expect(didYouMean('zzzzzz', FIELDS)).toBe('');
  });
});
