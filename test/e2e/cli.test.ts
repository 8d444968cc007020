/**
 * The real `riq` CLI (bin/riq.mjs: the compiled dist/riq.mjs, rebuilt when stale) against the shared
 * local stack, with the real QueueClient: exit codes, `--json` output on stdout and RIQ error codes
 * on stderr.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';

const stack = inject('stack');
const sim = new SimulatorControl(stack.simulatorUrl ?? '');
const run = Math.random().toString(36).slice(2, 8);

interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function riq(...args: string[]): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/riq.mjs', ...args, '--endpoint', stack.url, '--json'], {
      env: { ...process.env, RIQ_ENDPOINT: '', RIQ_CALLER: '', AWS_REGION: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const json = (out: CliOutcome): Record<string, unknown> => JSON.parse(out.stdout) as Record<string, unknown>;

describe('the riq CLI against the local stack', () => {
  afterEach(() => sim.setLatency(0));

  let token = '';

  it('submits a create with --wait: exit 0, the completed request as JSON', async () => {
    const payload = JSON.stringify({ title: `CLI ${run}`, project_id: 'MD', labels: ['cli'] });
    const out = await riq('submit', 'jira.create_task', payload, '--wait', '30');
    expect(out.code, out.stderr).toBe(0);
    const body = json(out);
    expect(body).toMatchObject({ status: 'completed', token: expect.stringMatching(/^req_[0-9a-f]{32}$/) });
    expect((body['result'] as { key: string }).key).toMatch(/^MD-\d+$/);
    token = String(body['token']);
  });

  it('runs every one of the ten operations with submit --wait: exit 0, completed', async () => {
    const done = async (operation: string, payload: Record<string, unknown>) => {
      const out = await riq(
        'submit',
        operation,
        JSON.stringify(payload),
        '--wait',
        '--timeout',
        '30',
        '--fresh',
      );
      expect(out.code, `${operation}: ${out.stderr}`).toBe(0);
      const body = json(out);
      expect(body['status'], operation).toBe('completed');
      return body['result'] as Record<string, unknown>;
    };
    const riqOut = await riq(
      'submit',
      'jira.create_task',
      JSON.stringify({ title: `CLI ops ${run}`, project_id: 'MD', labels: [`cli-${run}`] }),
      '--wait',
    );
    expect(riqOut.code, riqOut.stderr).toBe(0);
    const key = String((json(riqOut)['result'] as { key: string }).key);
    expect((await done('jira.get_task', { task_id: key }))['key']).toBe(key);
    await done('jira.update_task', { task_id: key, title: `CLI ops ${run} edited` });
    expect(
      (await done('jira.transition_task', { task_id: key, target_status: 'In Progress' }))['status'],
    ).toBe('In Progress');
    await done('jira.add_comment', { task_id: key, comment: 'from the CLI' });
    await done('jira.search_tasks', { jql: `labels = "cli-${run}"`, max_results: 5 });
    const page = await done('confluence.create_page', {
      title: `CLI page ${run}`,
      content: '<p>v1</p>',
      space_id: 'MD',
    });
    const pageId = String(page['id']);
    expect((await done('confluence.get_page', { page_id: pageId }))['id']).toBe(pageId);
    await done('confluence.update_page', { page_id: pageId, content: '<p>v2</p>' });
    await done('confluence.search_pages', { query: `CLI page ${run}` });
  }, 120_000);

  it('reads the result of that token', async () => {
    expect(token).not.toBe('');
    const out = await riq('result', token);
    expect(out.code, out.stderr).toBe(0);
    expect(json(out)).toMatchObject({
      token,
      status: 'completed',
      operation: 'jira.create_task',
      attempts: 1,
    });
  });

  it('health and breakers answer the API JSON', async () => {
    const health = await riq('health');
    expect(health.code, health.stderr).toBe(0);
    expect(json(health)).toMatchObject({ status: expect.stringMatching(/^(healthy|degraded)$/) });
    expect(json(health)).toHaveProperty('services.jira.queues');
    expect(json(health)).toHaveProperty('budgets.jira.rate.lines.normal.ahead_ms');
    expect(json(health)).toHaveProperty('budgets.confluence.points.quota_source');

    const breakers = await riq('breakers');
    expect(breakers.code, breakers.stderr).toBe(0);
    expect(json(breakers)).toHaveProperty('circuit_breakers.jira.state');
    expect(json(breakers)).toHaveProperty('circuit_breakers.confluence.state');
  });

  it('exits 3 with VALIDATION_ERROR on stderr for a bad payload', async () => {
    const out = await riq('submit', 'jira.create_task', '{"title":"","project_id":"MD"}');
    expect(out.code).toBe(3);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/VALIDATION_ERROR \(HTTP 400\)/);
  });

  it('exits 3 with NOT_FOUND for an unknown token', async () => {
    const out = await riq('result', `req_${'0'.repeat(32)}`);
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(/NOT_FOUND \(HTTP 404\)/);
  });

  it('exits 4 when --wait times out', async () => {
    await sim.setLatency(3000);
    const payload = JSON.stringify({ title: `CLI slow ${run}`, project_id: 'MD' });
    const out = await riq(
      'submit',
      'jira.create_task',
      payload,
      '--routing',
      'queued',
      '--wait',
      '--timeout',
      '1',
    );
    expect(out.code, out.stderr).toBe(4);
    expect(out.stderr).toMatch(/timed out after 1 s waiting for req_[0-9a-f]{32}/);
    const slow = /waiting for (req_[0-9a-f]{32})/.exec(out.stderr)![1]!;
    await sim.setLatency(0);
    // Let it finish so the next files see a quiet queue.
    const done = await riq('result', slow, '--wait', '--timeout', '30');
    expect(done.code, done.stderr).toBe(0);
  });

  it('lists dead letters as JSON', async () => {
    const out = await riq('dlq', 'list', '--limit', '5');
    expect(out.code, out.stderr).toBe(0);
    expect(json(out)).toMatchObject({ dead_letters: expect.any(Array), count: expect.any(Number) });
    expect(json(out)).toHaveProperty('next_cursor');
  });

  it('lists a waiting request (operator) and watches requests through retries and dependencies', async () => {
    // Jira's create answers 503 until the fault is removed: the first request retries meanwhile,
    // and the second, which depends on it, stays waiting for as long as the test needs.
    const fault = await sim.addFault({ method: 'POST', path: '^/rest/api/3/issue$', status: 503 });
    let first: string;
    let second: string;
    try {
      const one = await riq(
        'submit',
        'jira.create_task',
        JSON.stringify({ title: `CLI first ${run}`, project_id: 'MD' }),
        '--routing',
        'queued',
      );
      expect(one.code, one.stderr).toBe(0);
      first = String(json(one)['token']);
      const two = await riq(
        'submit',
        'jira.create_task',
        JSON.stringify({ title: `CLI second ${run}`, project_id: 'MD' }),
        '--depends-on',
        first,
      );
      expect(two.code, two.stderr).toBe(0);
      second = String(json(two)['token']);
      expect(json(two)['status']).toBe('waiting');

      const listed = await riq(
        'list',
        '--status',
        'waiting',
        '--operation',
        'jira.create_task',
        '--limit',
        '100',
      );
      expect(listed.code, listed.stderr).toBe(0);
      const requests = json(listed)['requests'] as { token: string; status: string; operation: string }[];
      expect(
        requests.find((r) => r.token === second),
        listed.stdout,
      ).toMatchObject({ status: 'waiting', operation: 'jira.create_task' });
    } finally {
      await sim.removeFault(fault);
    }

    const entries = (out: CliOutcome) =>
      out.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const watched = await riq('watch', second, '--timeout', '50');
    expect(watched.code, watched.stderr).toBe(0);
    const lines = entries(watched);
    const events = lines.slice(0, -1).map((e) => e['event']);
    expect(events[0]).toBe('submitted');
    expect(events).toEqual(expect.arrayContaining(['dependencies_met', 'attempt_started', 'succeeded']));
    expect(events.indexOf('dependencies_met')).toBeLessThan(events.indexOf('succeeded'));
    // Each entry once, however many looks it took.
    expect(new Set(lines.slice(0, -1).map((e) => JSON.stringify(e))).size).toBe(lines.length - 1);
    expect(lines.at(-1)).toMatchObject({ token: second, status: 'completed' });

    // The first one has finished too: its timeline shows the 503s it was retried through.
    const firstWatched = await riq('watch', first, '--timeout', '10');
    expect(firstWatched.code, firstWatched.stderr).toBe(0);
    const firstLines = entries(firstWatched);
    expect(firstLines).toEqual(
      expect.arrayContaining([expect.objectContaining({ event: 'failed_attempt', status_code: 503 })]),
    );
    expect(firstLines.at(-1)).toMatchObject({ token: first, status: 'completed' });
  }, 120_000);

  it('exits 2 on a mistyped operation or payload field, naming the nearest, and stores nothing', async () => {
    const key = `cli-typo-${run}`;
    const operation = await riq('submit', 'jira.get_tsk', '{"task_id":"MD-1"}', '--idempotency-key', key);
    expect(operation.code).toBe(2);
    expect(operation.stderr).toMatch(
      /^riq: unknown operation 'jira.get_tsk'; did you mean 'jira.get_task'\?/,
    );
    const payload = JSON.stringify({ titel: `CLI typo ${run}`, project_id: 'MD' });
    const field = await riq('submit', 'jira.create_task', payload, '--idempotency-key', key);
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(
      /^riq: unknown field 'titel' in the payload of jira.create_task; did you mean 'title'\?/,
    );
    // Nothing reached the API: the same key with a corrected payload is a new request, not a conflict.
    const fixed = JSON.stringify({ title: `CLI typo ${run}`, project_id: 'MD' });
    const sent = await riq('submit', 'jira.create_task', fixed, '--idempotency-key', key, '--wait', '30');
    expect(sent.code, sent.stderr).toBe(0);
    expect(json(sent)).toMatchObject({ status: 'completed' });
  });

  it('exits 2 on a usage error without calling the API', async () => {
    const out = await riq('submit', 'jira.create_task');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/missing <payload>/);
  });
});
