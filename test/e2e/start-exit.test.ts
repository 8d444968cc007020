/**
 * `npm start` ends cleanly on every path: a busy port is one line naming it and RIQ_PORT (exit 1),
 * and DynamoDB Local's `java` is stopped after SIGINT, SIGTERM, a failed start and an uncaught error.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  infoFilePath,
  spawnLocalStart,
  waitForStackInfo,
  type StartedProcess,
} from '../support/local-start.js';

const stack = inject('stack');

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is gone within `ms` (a killed process takes a moment to be reaped). */
async function goneWithin(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** The pid of the DynamoDB Local the process started, from its log line. */
function dynamoPidIn(output: string): number {
  const match = /DynamoDB Local at \S+ \(pid (\d+)/.exec(output);
  if (!match) throw new Error(`no DynamoDB Local pid in:\n${output}`);
  return Number(match[1]);
}

async function startAndWait(nodeArgs: string[] = []): Promise<{ started: StartedProcess; pid: number }> {
  const infoFile = infoFilePath();
  const started = spawnLocalStart({ RIQ_INFO_FILE: infoFile }, nodeArgs);
  const info = await waitForStackInfo(started, infoFile);
  expect(info.dynamoPid).toBe(dynamoPidIn(started.output()));
  expect(isRunning(info.dynamoPid)).toBe(true);
  return { started, pid: info.dynamoPid };
}

describe('npm start on every exit path', () => {
  it('a busy port: one line naming the port and RIQ_PORT, exit 1, no java left', async () => {
    const busyPort = new URL(stack.url).port;
    const started = spawnLocalStart({ RIQ_PORT: busyPort });
    expect(await started.exited).toBe(1);
    const output = started.output();
    const errors = output.split('\n').filter((l) => / ERROR /.test(l));
    expect(errors).toEqual([
      expect.stringContaining(
        `port ${busyPort} is in use (another npm start?): stop it, or set RIQ_PORT to another port (RIQ_PORT=0 picks a free one)`,
      ),
    ]);
    expect(output).not.toMatch(/EADDRINUSE|\n\s+at /);
    expect(await goneWithin(dynamoPidIn(output))).toBe(true);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s: exit 0, no java left', async (signal) => {
    const { started, pid } = await startAndWait();
    started.child.kill(signal);
    expect(await started.exited).toBe(0);
    expect(started.output()).toContain(`${signal}: stopping`);
    expect(await goneWithin(pid)).toBe(true);
  });

  it('an uncaught error: exit 1 naming it, no java left', async () => {
    const { started, pid } = await startAndWait(['--import', './test/support/throw-when-ready.ts']);
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('uncaught error: Error: an error nothing catches');
    expect(await goneWithin(pid)).toBe(true);
  });

  it('RIQ_PORT=0 names the port it took in the ready output', async () => {
    const infoFile = infoFilePath();
    const started = spawnLocalStart({ RIQ_PORT: '0', RIQ_INFO_FILE: infoFile });
    try {
      const info = await waitForStackInfo(started, infoFile);
      const port = Number(new URL(info.url).port);
      expect(port).toBeGreaterThan(0);
      await expect.poll(() => started.output()).toContain(`RIQ is running at http://localhost:${port} `);
      expect((await fetch(`${info.url}/api/queue/health`)).status).toBe(200);
    } finally {
      started.child.kill('SIGTERM');
      await started.exited;
    }
  });
});
