import { defineConfig } from 'vitest/config';

/**
 * In CI, a test of the integration and e2e projects that fails is run once more: they drive the
 * whole local stack with real timers on a small shared machine, where one scheduling stall can
 * outlast a lease or a breaker window. A regression fails both runs; a test that passed only on its
 * second run is marked `(retry x1)` in the output.
 */
const retryInCi = process.env['CI'] ? 1 : 0;

export default defineConfig({
  test: {
    // The SDK's notice that its Node 20 support ends in 2027 would repeat in every test file.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // Adapter requests checked against Atlassian's OpenAPI specs; in-process simulator, no AWS.
      { test: { name: 'contract', include: ['test/contract/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          retry: retryInCi,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          // One shared stack and simulator: files run one after another so faults do not leak.
          fileParallelism: false,
          retry: retryInCi,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'browser',
          // The console in Debian's Chromium (playwright-core) against its own `npm start`.
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          fileParallelism: false,
          retry: retryInCi,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // What the page shows after a click or a refresh comes from the API: allow a loaded machine.
          expect: { poll: { timeout: 20_000, interval: 100 } },
          // After unit to e2e, so Chromium's load does not slow their timing-sensitive tests.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          // After every other project, alone: its load would slow their timing-sensitive tests.
          sequence: { groupOrder: 2 },
          testTimeout: 900_000,
        },
      },
    ],
  },
});
