/**
 * The coldstart benchmark's verdicts, and that every bundle built as CDK builds it starts with the
 * benchmark's placeholder environment, offline (else the benchmark would measure an error).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  BUNDLE_GOAL_KB,
  IMPORTS,
  INIT_GOAL_MS,
  bundleWeight,
  coldstart,
  judge,
  measureFunction,
} from '../../../bench/coldstart.js';
import { lambdaBundleOptions } from '../../../lib/lambda-bundling.js';
import { FUNCTION_ENTRIES } from '../../../model/config/index.js';

describe('coldstart', () => {
  describe('judge', () => {
    it('meets both goals at exactly 250 KB and a median of exactly 150 ms', () => {
      expect([BUNDLE_GOAL_KB, INIT_GOAL_MS]).toEqual([250, 150]);
      expect(judge({ bytes: 250 * 1024, importMs: [900, 150, 10, 150, 151], importCpuMs: [] })).toEqual({
        kb: 250,
        medianMs: 150,
        sizeMet: true,
        initMet: true,
      });
    });

    it('misses the size goal by one byte and the init goal by a median over 150 ms', () => {
      const judged = judge({ bytes: 250 * 1024 + 1, importMs: [10, 151, 152, 10, 900], importCpuMs: [] });
      expect(judged).toMatchObject({ medianMs: 151, sizeMet: false, initMet: false });
    });

    it('takes the median, not the fastest or the mean', () => {
      expect(judge({ bytes: 1, importMs: [100, 10, 1000, 200, 120], importCpuMs: [] }).medianMs).toBe(120);
    });
  });

  it('weighs a bundle per npm package and per source folder, largest first', () => {
    const input = (bytesInOutput: number) => ({ bytesInOutput });
    const weight = bundleWeight({
      inputs: {},
      outputs: {
        'out/index.mjs': {
          bytes: 1000,
          imports: [],
          exports: [],
          inputs: {
            'node_modules/@smithy/core/dist-es/a.js': input(300),
            'node_modules/@smithy/core/dist-es/b.js': input(200),
            'node_modules/zod/v4/classic/schemas.js': input(400),
            'lambdas/adapters/s3/s3-body-store.ts': input(50),
            'lambdas/adapters/sqs/sqs-work-queue.ts': input(30),
            'model/errors.ts': input(5),
          },
        },
      },
    });
    expect(weight).toEqual([
      ['@smithy/core', 500],
      ['zod', 400],
      ['lambdas/adapters', 80],
      ['model/errors.ts', 5],
    ]);
  });

  it.each(Object.keys(FUNCTION_ENTRIES) as (keyof typeof FUNCTION_ENTRIES)[])(
    'bundles %s and imports it in fresh processes with no AWS and no network',
    async (name) => {
      const figures = await measureFunction(name, lambdaBundleOptions({ sourceMaps: false }));
      expect(figures.bytes).toBeGreaterThan(0);
      expect(figures.importMs).toHaveLength(IMPORTS);
      for (const ms of figures.importMs) expect(ms).toBeGreaterThan(0);
      expect(figures.importCpuMs).toHaveLength(IMPORTS);
      for (const ms of figures.importCpuMs) expect(ms).toBeGreaterThan(0);
      expect(figures.mapBytes).toBeUndefined();
      // The parts add up to the code in the bundle (the rest is esbuild's glue and the banner).
      const parts = figures.weight.reduce((sum, [, bytes]) => sum + bytes, 0);
      expect(parts).toBeLessThanOrEqual(figures.bytes);
      expect(parts).toBeGreaterThan(figures.bytes * 0.8);
    },
    60_000,
  );

  it('refuses a BENCH_COLDSTART_NODE that is not a node binary, before building anything', async () => {
    vi.stubEnv('BENCH_COLDSTART_NODE', '/nonexistent/node');
    try {
      await expect(coldstart()).rejects.toThrow(
        'BENCH_COLDSTART_NODE=/nonexistent/node is not a node binary that runs here',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('imports with the node binary it is given', async () => {
    // The benchmark's own binary, named explicitly: the figures come back as from the default.
    const figures = await measureFunction(
      'notFound',
      lambdaBundleOptions({ sourceMaps: false }),
      process.execPath,
    );
    expect(figures.importMs).toHaveLength(IMPORTS);
    await expect(
      measureFunction('notFound', lambdaBundleOptions({ sourceMaps: false }), '/nonexistent/node'),
    ).rejects.toThrow();
  }, 60_000);
});
