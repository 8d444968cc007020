/**
 * Done once (DESIGN invariant 2): a create whose answer is lost after Atlassian committed it (the
 * simulator's drop-after-commit) is not created again by the retry; the retry finds and adopts it.
 * The same for a comment, found by the entity property RIQ sets on it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { adfToText } from '../../../lambdas/adapters/atlassian/adf.js';
import { ADOPT_CLOCK_ALLOWANCE_MS } from '../../../lambdas/adapters/atlassian/confluence-adapter.js';
import { COMMENT_PAGE_SIZE } from '../../../lambdas/adapters/atlassian/jira-adapter.js';
import type { AtlassianExecutor } from '../../../lambdas/adapters/atlassian/operation-executor.js';
import { useAtlassianSimulator } from '../../support/atlassian-sim-fixture.js';
import { upstreamFailure } from '../../support/upstream-failure.js';

const sim = useAtlassianSimulator();
let executor: AtlassianExecutor;

beforeAll(() => {
  executor = sim.executor({ timeoutMs: 5_000 });
});

const OTHER = `req_${'0'.repeat(32)}`;

let issues = 0;

async function newIssue(title: string): Promise<string> {
  const token = `req_${String(++issues).padStart(32, '3')}`;
  const created = (await executor.execute('jira.create_task', { title, project_id: 'MD' }, { token })) as {
    key: string;
  };
  return created.key;
}

interface RawComment {
  id: string;
  body: unknown;
  properties?: unknown;
}

/** A GET straight to the simulator (not through the adapter). */
async function rawGet(path: string): Promise<{ comments: RawComment[] }> {
  const res = await sim.call('GET', path);
  expect(res.status).toBe(200);
  return res.body as unknown as { comments: RawComment[] };
}

/** The issue's comments, oldest first, as id and text. */
async function commentsOf(key: string): Promise<{ id: string; text: string }[]> {
  const page = await rawGet(`/rest/api/3/issue/${key}/comment`);
  return page.comments.map((c) => ({ id: c.id, text: adfToText(c.body) }));
}

async function lostAnswer(run: () => Promise<unknown>): Promise<void> {
  await sim.control.setDropAfterCommitRate(1);
  const err = await upstreamFailure(run());
  await sim.control.setDropAfterCommitRate(0);
  expect(err.retryable).toBe(true);
}

describe('a retried create adopts what the lost attempt created', () => {
  it('jira.create_task: one issue, found by its marker label, which results do not show', async () => {
    const payload = { title: 'Exactly once', project_id: 'MD', labels: ['ops'] };
    const token = `req_${'a'.repeat(32)}`;
    await lostAnswer(() => executor.execute('jira.create_task', payload, { token, attempt: 1 }));
    expect((await sim.control.stats()).created.issues).toBe(1);

    const retried = (await executor.execute('jira.create_task', payload, { token, attempt: 2 })) as {
      key: string;
    };
    expect((await sim.control.stats()).created.issues).toBe(1);
    const issue = (await executor.execute('jira.get_task', { task_id: retried.key }, { token: 't' })) as {
      summary: string;
      labels: string[];
    };
    expect(issue).toMatchObject({ summary: 'Exactly once', labels: ['ops'] });
  });

  it('jira.create_task: another request with the same fields still creates its own issue', async () => {
    const payload = { title: 'Twins', project_id: 'MD' };
    await executor.execute('jira.create_task', payload, { token: `req_${'b'.repeat(32)}`, attempt: 1 });
    await executor.execute('jira.create_task', payload, { token: `req_${'c'.repeat(32)}`, attempt: 2 });
    expect((await sim.control.stats()).created.issues).toBe(2);
  });

  it('jira.add_comment: one comment, found by its entity property among the newest', async () => {
    const key = await newIssue('Commented once');
    const token = `req_${'e'.repeat(32)}`;
    const payload = { task_id: key, comment: 'Exactly once comment' };
    await executor.execute('jira.add_comment', { task_id: key, comment: 'Someone else' }, { token: OTHER });
    await lostAnswer(() => executor.execute('jira.add_comment', payload, { token, attempt: 1 }));
    expect((await sim.control.stats()).created.comments).toBe(2);

    const retried = (await executor.execute('jira.add_comment', payload, { token, attempt: 2 })) as {
      id: string;
      issue_key: string;
      url: string;
    };
    expect((await sim.control.stats()).created.comments).toBe(2);
    const comments = await commentsOf(key);
    expect(comments.map((c) => c.text)).toEqual(['Someone else', 'Exactly once comment']);
    expect(retried).toMatchObject({ id: comments[1]!.id, issue_key: key });
    expect(retried.url).toContain(`focusedCommentId=${comments[1]!.id}`);
  });

  it('jira.add_comment: finds the lost comment past the first page of newer ones', async () => {
    const key = await newIssue('Busy issue');
    const token = `req_${'f'.repeat(32)}`;
    const payload = { task_id: key, comment: 'Buried' };
    await lostAnswer(() => executor.execute('jira.add_comment', payload, { token, attempt: 1 }));
    // More newer comments than one page holds, none of them ours.
    for (let i = 0; i < COMMENT_PAGE_SIZE + 5; i++) {
      await executor.execute('jira.add_comment', { task_id: key, comment: `newer ${i}` }, { token: OTHER });
    }
    const before = (await sim.control.stats()).created.comments;
    await executor.execute('jira.add_comment', payload, { token, attempt: 2 });
    expect((await sim.control.stats()).created.comments).toBe(before);
  });

  it('jira.add_comment: a retry with nothing to adopt posts the comment, with the property', async () => {
    const key = await newIssue('Nothing lost');
    const token = `req_${'9'.repeat(32)}`;
    // Another request's comment with the same text is not ours.
    await executor.execute('jira.add_comment', { task_id: key, comment: 'Same text' }, { token: OTHER });
    await executor.execute('jira.add_comment', { task_id: key, comment: 'Same text' }, { token, attempt: 2 });
    expect((await sim.control.stats()).created.comments).toBe(2);
    const ids = (await rawGet(`/rest/api/3/issue/${key}/comment`)).comments.map((c) => Number(c.id));
    const byId = await sim.call('POST', '/rest/api/3/comment/list?expand=properties', { ids });
    expect(byId.status).toBe(200);
    expect((byId.body['values'] as RawComment[]).map((c) => c.properties)).toEqual([
      [{ key: 'riq.request', value: { token: OTHER } }],
      [{ key: 'riq.request', value: { token } }],
    ]);
  });

  it('confluence.create_page: one page, found by its title in the space', async () => {
    const payload = { title: 'Exactly once page', space_id: 'MD', content: '<p>x</p>' };
    const token = `req_${'d'.repeat(32)}`;
    const submittedAt = Date.now();
    await lostAnswer(() =>
      executor.execute('confluence.create_page', payload, { token, attempt: 1, submittedAt }),
    );
    expect((await sim.control.stats()).created.pages).toBe(1);
    const retried = await executor.execute('confluence.create_page', payload, {
      token,
      attempt: 2,
      submittedAt,
    });
    expect(retried).toMatchObject({ title: 'Exactly once page', space_key: 'MD', version: 1 });
    expect((await sim.control.stats()).created.pages).toBe(1);
  });

  it('confluence.create_page: a retry never adopts a page with its title made before the request', async () => {
    const payload = { title: 'Someone else’s page', space_id: 'MD', content: '<p>ours</p>' };
    // Another writer's page, made well before the request was submitted.
    await executor.execute('confluence.create_page', payload, { token: OTHER, attempt: 1 });
    const before = (await sim.control.stats()).created.pages;
    const submittedAt = Date.now() + ADOPT_CLOCK_ALLOWANCE_MS + 60_000;
    const err = await executor
      .execute('confluence.create_page', payload, { token: `req_${'e'.repeat(32)}`, attempt: 2, submittedAt })
      .catch((e: unknown) => e);
    // The duplicate title, as the first attempt would have met it; nothing adopted, nothing made.
    expect(err).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect((await sim.control.stats()).created.pages).toBe(before);
  });
});
