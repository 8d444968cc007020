import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressCounts } from '../../../bench/progress.js';
import { runForResult } from '../../../bench/result-line.js';

const CHILD = 'test/unit/bench/fixtures/progress-child.ts';

describe('runForResult', () => {
  it("hands the child's progress to the runner, its other lines to the log, and answers its result", async () => {
    const logPath = join(mkdtempSync(join(tmpdir(), 'riq-progress-')), 'child.log');
    const seen: ProgressCounts[] = [];
    const result = await runForResult<{ answer: number }>({
      args: [CHILD],
      logPath,
      label: 'fixture',
      onProgress: (counts) => seen.push(counts),
    });
    expect(result).toEqual({ answer: 42 });
    expect(seen).toEqual([
      { label: 'fixture', done: 1, total: 2 },
      { label: 'fixture', done: 2, total: 2 },
    ]);
    const log = readFileSync(logPath, 'utf8');
    expect(log).toContain('a log line in two writes\n');
    expect(log).not.toContain('RIQ_PROGRESS');
  }, 30_000);

  it('asks for no progress when the runner shows none', async () => {
    const logPath = join(mkdtempSync(join(tmpdir(), 'riq-progress-')), 'child.log');
    const result = await runForResult<{ answer: number }>({ args: [CHILD], logPath, label: 'fixture' });
    expect(result).toEqual({ answer: 42 });
    expect(readFileSync(logPath, 'utf8')).not.toContain('RIQ_PROGRESS');
  }, 30_000);
});
