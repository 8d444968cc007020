/**
 * The worker's memory setting (`worker.memoryMb`) holds the largest bodies RIQ passes through: the
 * workers run in a process of their own (local/worker-host.ts) whose V8 heap is capped as the
 * setting leaves it (old space 90 % of the memory, new space a twentieth: 10 % left for code,
 * buffers and the runtime), and must complete, with a peak resident set (Linux `VmHWM`, the whole
 * process) under 90 % of the setting, a batch of five 5 MB Confluence pages read back, the 5 MB
 * page's create (its payload loaded from S3), and a 100-issue `jira.search_tasks` of about 3 MB.
 * A heap the setting cannot hold fails the invocations (V8 aborts the process), so the requests
 * never complete.
 *
 * The process also runs the local event source mappings and tsx's loader, which a Lambda
 * instance does not: the figure is an upper bound.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerProcess } from '../../chaos/worker-process.js';
import { DEFAULT_CONFIG } from '../../model/config/riq-config.js';
import { SIMULATOR_CREDENTIALS, type LocalStack } from '../../local/stack.js';
import type { RiqHttp } from '../support/riq-http.js';
import { startTestStack } from '../support/test-stack.js';

const MEMORY_MB = DEFAULT_CONFIG.worker.memoryMb;
const PAGE_BYTES = 5_000_000;

let stack: LocalStack;
let api: RiqHttp;
const workers: WorkerProcess[] = [];

/** The process's peak and current resident set, MiB, from /proc. */
function residentMb(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
}

/** A worker process with the heap the memory setting leaves, polling the normal queues, started. */
async function startWorker(): Promise<{ worker: WorkerProcess; pid: number }> {
  const oldSpace = MEMORY_MB - Math.floor(MEMORY_MB / 10);
  const semiSpace = Math.floor(MEMORY_MB / 20);
  const worker = new WorkerProcess(
    `memory-${workers.length}`,
    ['confluence-normal', 'jira-normal'],
    stack.queueArns,
    join(tmpdir(), `riq-worker-memory-${process.pid}-${workers.length}.log`),
    { NODE_OPTIONS: `--max-old-space-size=${oldSpace} --max-semi-space-size=${semiSpace}` },
  );
  workers.push(worker);
  await worker.start();
  return { worker, pid: worker.pid! };
}

beforeAll(async () => {
  let control;
  ({ stack, api, control } = await startTestStack('riqmem', {}, { startWorkers: false }));
  await control.quiet();
}, 120_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await stack?.stop();
});

async function completed(token: string): Promise<Record<string, unknown>> {
  const done = await api.waitFor(token, 90_000);
  expect(done.body['status'], JSON.stringify({ ...done.body, result: undefined }).slice(0, 800)).toBe(
    'completed',
  );
  return done.body;
}

describe(`the worker at ${MEMORY_MB} MB`, () => {
  it('passes 5 MB Confluence pages and a 100-issue search with its peak resident set under 90 % of the setting', async () => {
    // Submitted before the worker polls, so its first receive takes them in one batch.
    const create = await api.submit({
      operation: 'confluence.create_page',
      payload: {
        title: `A 5 MB page ${Date.now()}`,
        space_id: 'MD',
        content: `<p>${'a'.repeat(PAGE_BYTES)}</p>`,
      },
      routing: 'queued',
    });
    expect(create.status, JSON.stringify(create.body).slice(0, 300)).toBe(200);
    const first = await startWorker();
    const idle = residentMb(first.pid);
    const answer = await completed(String(create.body['token']));
    const url = answer['result_url'];
    const created = (typeof url === 'string' ? await (await fetch(url)).json() : answer['result']) as {
      id: string;
    };
    const afterCreate = residentMb(first.pid);
    await first.worker.stop();
    // A receive the stopped process left open in the emulator (its long poll, 1 s) would take a
    // message sent now and hide it for the visibility timeout: wait it out.
    await new Promise((r) => setTimeout(r, 1_500));
    const gets = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.submit({
          operation: 'confluence.get_page',
          payload: { page_id: created.id },
          fresh: true,
          routing: 'queued',
        }),
      ),
    );
    const batchPid = (await startWorker()).pid;
    for (const g of gets)
      expect(Number((await completed(String(g.body['token'])))['result_size_bytes'])).toBeGreaterThan(
        PAGE_BYTES,
      );
    const afterPages = residentMb(batchPid);

    const auth = Buffer.from(`${SIMULATOR_CREDENTIALS.email}:${SIMULATOR_CREDENTIALS.apiToken}`).toString(
      'base64',
    );
    const label = `mem-${Date.now()}`;
    const description = 'd'.repeat(30_000);
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${stack.simulatorUrl}/rest/api/3/issue`, {
        method: 'POST',
        headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          fields: {
            project: { key: 'MD' },
            summary: `Issue ${i}`,
            issuetype: { name: 'Task' },
            labels: [label],
            description: {
              type: 'doc',
              version: 1,
              content: [{ type: 'paragraph', content: [{ type: 'text', text: description }] }],
            },
          },
        }),
      });
      expect(res.status).toBe(201);
    }
    const search = await api.submit({
      operation: 'jira.search_tasks',
      payload: { jql: `labels = ${label}`, max_results: 100 },
      routing: 'queued',
    });
    const found = await completed(String(search.body['token']));
    expect(Number(found['result_size_bytes'])).toBeGreaterThan(3_000_000);
    const afterSearch = residentMb(batchPid);

    console.info(
      `worker memory (${MEMORY_MB} MB setting): resident after start ${idle.now.toFixed(0)} MiB; ` +
        `create of a 5 MB page: peak ${afterCreate.peak.toFixed(0)} MiB; ` +
        `batch of five 5 MB gets: peak ${afterPages.peak.toFixed(0)} MiB; ` +
        `then a ${Math.round(Number(found['result_size_bytes']) / 1e5) / 10} MB search: peak ${afterSearch.peak.toFixed(0)} MiB, now ${afterSearch.now.toFixed(0)} MiB`,
    );
    expect(afterCreate.peak).toBeLessThan(MEMORY_MB * 0.9);
    expect(afterSearch.peak).toBeLessThan(MEMORY_MB * 0.9);
  }, 300_000);
});
