/**
 * The chaos suite's knobs: how many requests, the simulator's fault mix, and when each disaster
 * happens (offsets from the first submit). `FULL` is `npm run chaos`; `REDUCED` is the same
 * scenario, smaller and shorter, inside `npm test` (test/chaos/chaos.test.ts).
 */
import type { DynamoOperation } from './dynamo-throttle.js';

export interface ChaosSettings {
  name: 'full' | 'reduced';
  /** Logical requests submitted (a chain's steps count one each; a second submit of a key does not). */
  requests: number;
  /** The submits are spread evenly over this long. */
  submitSeconds: number;
  /** Issues and pages created through RIQ before the faults start, for gets, updates and comments. */
  seededIssues: number;
  seededPages: number;
  /** The simulator's behaviours while the chaos lasts. */
  faults: {
    /** Share of calls answered 503. */
    errorRate: number;
    /** Share of calls held without an answer (RIQ's call timeout ends them). */
    timeoutRate: number;
    /** The first this many calls past the limits and the 503s hang as well, whatever the seeded draws. */
    hangFirst: number;
    hangMs: number;
    /** Share of writes committed, then answered with a dropped connection. */
    dropAfterCommitRate: number;
    latencyMs: number;
    /** New issues stay invisible to JQL search this long after their create (Atlassian's index lag). */
    searchIndexLagMs: number;
  };
  /** Atlassian's limit as the simulator enforces it over every route, and RIQ's bucket per service. */
  simulatorRate: { perSecond: number; burst: number };
  riqRatePerMinute: number;
  riqBurst: number;
  /** Every route answers 429 with Retry-After from `atMs` for `durationMs`. */
  storm: { atMs: number; durationMs: number; retryAfterSeconds: number };
  /** Every route answers 503 for `durationMs` from `atMs`. */
  outage: { atMs: number; durationMs: number };
  /** Every OAuth access token issued so far stops working (RIQ must refresh). */
  expireTokenAtMs: number;
  /** The SQS emulator is restarted empty: every message is lost. */
  sqsRestartAtMs: number;
  /**
   * DynamoDB throttling bursts: while each lasts, this share of the chosen operations' requests is
   * answered `ProvisionedThroughputExceededException` or `ThrottlingException`, before the SDK's
   * own retries. The worker processes meet it on every operation; the API process (submit, DIRECT,
   * sweeper) on all but the submit's own record writes and reads, which a caller retries with its
   * idempotency key when they fail.
   */
  dynamoThrottle: {
    bursts: ReadonlyArray<{ atMs: number; durationMs: number }>;
    workerOperations: readonly DynamoOperation[];
    apiOperations: readonly DynamoOperation[];
    rate: number;
  };
  /**
   * A page of `bytes` is created at `atMs`, then updated with as many bytes and read back fresh. At
   * the end of the faults, so a step the faults kill (dead after its attempts) cannot leave it unread.
   */
  bigPage: { atMs: number; bytes: number };
  /** A worker process (alternately Jira's and Confluence's) is killed with SIGKILL at each offset. */
  workerKillsAtMs: number[];
  /** How long a killed worker process stays down. */
  workerDownMs: number;
  /** The fault mix stops here; the backlog then drains against a quiet simulator. */
  faultsEndAtMs: number;
  /** After the faults end, how long every request gets to reach an end state. */
  drainTimeoutMs: number;
  /** The sweeper's schedule (one minute on AWS). */
  sweepIntervalMs: number;
  /** RIQ's breaker and per-call timeout for the run. */
  breaker: { failureThreshold: number; windowSeconds: number; recoverySeconds: number };
  upstreamTimeoutMs: number;
  seed: number;
}

const SHARED = {
  faults: {
    errorRate: 0.2,
    timeoutRate: 0.05,
    hangFirst: 2,
    hangMs: 30_000,
    dropAfterCommitRate: 0.02,
    latencyMs: 20,
    searchIndexLagMs: 5_000,
  },
  simulatorRate: { perSecond: 12, burst: 30 },
  // Two services at 5/s each stay under the simulator's 12/s over both.
  riqRatePerMinute: 300,
  riqBurst: 10,
  workerDownMs: 2_000,
  sweepIntervalMs: 15_000,
  // DESIGN's threshold and window; a 15 s recovery (DESIGN: 60 s) keeps the run short.
  breaker: { failureThreshold: 5, windowSeconds: 60, recoverySeconds: 15 },
  upstreamTimeoutMs: 3_000,
  seed: 20_261_123,
} as const;

/** Every operation the workers send to DynamoDB; in the API process, those after the submit's write. */
const THROTTLE = {
  workerOperations: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'TransactWriteItems'],
  apiOperations: ['UpdateItem', 'DeleteItem', 'Query'],
  rate: 0.5,
} as const;

export const FULL: ChaosSettings = {
  ...SHARED,
  name: 'full',
  requests: 1_000,
  // Submits span the faults, so every disaster meets work in flight.
  submitSeconds: 240,
  seededIssues: 12,
  seededPages: 12,
  workerKillsAtMs: [30_000, 60_000, 150_000, 200_000],
  storm: { atMs: 100_000, durationMs: 10_000, retryAfterSeconds: 2 },
  outage: { atMs: 120_000, durationMs: 60_000 },
  dynamoThrottle: {
    bursts: [
      { atMs: 20_000, durationMs: 15_000 },
      { atMs: 235_000, durationMs: 15_000 },
    ],
    ...THROTTLE,
  },
  bigPage: { atMs: 270_000, bytes: 1_000_000 },
  expireTokenAtMs: 190_000,
  sqsRestartAtMs: 220_000,
  faultsEndAtMs: 270_000,
  drainTimeoutMs: 900_000,
};

export const REDUCED: ChaosSettings = {
  ...SHARED,
  name: 'reduced',
  requests: 150,
  submitSeconds: 90,
  seededIssues: 6,
  seededPages: 6,
  workerKillsAtMs: [15_000, 30_000],
  storm: { atMs: 40_000, durationMs: 5_000, retryAfterSeconds: 2 },
  outage: { atMs: 50_000, durationMs: 20_000 },
  dynamoThrottle: {
    bursts: [
      { atMs: 8_000, durationMs: 6_000 },
      { atMs: 85_000, durationMs: 6_000 },
    ],
    ...THROTTLE,
  },
  bigPage: { atMs: 95_000, bytes: 1_000_000 },
  expireTokenAtMs: 75_000,
  sqsRestartAtMs: 80_000,
  faultsEndAtMs: 95_000,
  drainTimeoutMs: 420_000,
};

export const PRESETS = { full: FULL, reduced: REDUCED } as const;
