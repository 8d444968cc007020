import { describe, expect, it } from 'vitest';
import { processedLineLevel } from '../../../lambdas/worker/message-actions.js';

describe('processedLineLevel', () => {
  it('is DEBUG for the outcomes a state line always tells (completed, failed)', () => {
    expect(processedLineLevel({ action: 'ack', outcome: 'completed' })).toBe('DEBUG');
    expect(processedLineLevel({ action: 'ack', outcome: 'failed' })).toBe('DEBUG');
  });

  it('is INFO for what no state line tells, or may not', () => {
    for (const outcome of ['already-finished', 'missing', 'lease-lost'] as const) {
      expect(processedLineLevel({ action: 'ack', outcome })).toBe('INFO');
    }
    expect(processedLineLevel({ action: 'retry', delaySeconds: 4, outcome: 'retry' })).toBe('INFO');
    expect(processedLineLevel({ action: 'dead-letter', outcome: 'dead' })).toBe('INFO');
    expect(processedLineLevel({ action: 'defer', delaySeconds: 2, outcome: 'busy' })).toBe('INFO');
  });
});
