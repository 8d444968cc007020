/**
 * The one source of truth for RIQ's shape and tuning (DESIGN invariant 10).
 *
 * The CDK app (bin/app.ts) and the local stack (local/) both build their resources from a
 * `RiqConfig`; the Lambdas get the runtime part of it as one JSON environment variable
 * (see `runtimeSettings`). Nothing here imports the AWS SDK or CDK, so the runtime code may import it.
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { CALLS_PER_ATTEMPT, MAX_SLOT_WAIT_MS, MESSAGE_MARGIN_MS, messageBudgetMs } from './message-budget.js';

export const SERVICES = ['jira', 'confluence'] as const;
export type Service = (typeof SERVICES)[number];

/** Highest first: the order workers and operators read them in. */
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * How the connection authenticates to Atlassian: HTTP Basic with an API token, or OAuth 2.0 (3LO).
 * Decides whether the hourly points quota applies (Atlassian counts OAuth apps' points).
 */
export const AUTH_MODES = ['api_token', 'oauth'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Whether the functions are traced with X-Ray (`deployment.tracing`). */
export const TRACING_MODES = ['off', 'active'] as const;
export type TracingMode = (typeof TRACING_MODES)[number];

/** The functions' log level (`deployment.logLevel`), as Lambda's logging config and Powertools name it. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const positiveInt = z.int().check(z.positive());

const concurrencySchema = z.object({
  // AWS requires an event source mapping's maximumConcurrency to be at least 2.
  high: z.int().check(z.minimum(2)),
  normal: z.int().check(z.minimum(2)),
  low: z.int().check(z.minimum(2)),
});

/** A share of the bucket's capacity: 0 keeps nothing back, just under 1 keeps nearly all of it back. */
const burstFraction = z.number().check(z.minimum(0), z.lt(1));

/**
 * How much of the bucket lower priorities must leave for higher ones (DESIGN invariant 6): `low` may
 * take a token only while the bucket holds more than `low × burst`, `normal` more than
 * `normal × burst`; `high` may take the last token.
 */
const reservesSchema = z.object({ normal: burstFraction, low: burstFraction }).check(
  z.refine((r) => r.low >= r.normal, {
    message: 'low must keep back at least as much as normal',
    path: ['low'],
  }),
);

/**
 * How RIQ paces Atlassian's hourly points quota (lambdas/core/domain/points-budget.ts). Whether it
 * applies is not configured here: the connection says it (lambdas/adapters/atlassian/connection.ts,
 * from the secret's shape or the local credentials). OAuth 2.0 apps are counted in points; API-token
 * traffic only meets the burst limits, so its budget stays off until an answer announces a quota
 * (`RateLimit-Policy`), which then replaces `quotaPerHour` and `windowSeconds`.
 */
/**
 * Atlassian's per-endpoint burst limits, per HTTP method, calls per second (Jira: GET/POST 100,
 * PUT/DELETE 50): each endpoint family RIQ calls (lambdas/core/domain/token-bucket.ts `CALL_ROUTES`)
 * also takes from a bucket of its method's size, so a service rate configured above them still
 * never bursts one endpoint past its limit.
 */
const methodBurstSchema = z.object({
  GET: positiveInt,
  POST: positiveInt,
  PUT: positiveInt,
  DELETE: positiveInt,
});

/**
 * Atlassian's per-object write windows: at most `writes` writes to one Jira issue (Confluence page)
 * in any `seconds` (lambdas/core/domain/object-write-window.ts keeps them all with one GCRA). Empty:
 * no window. A window allows at least 2 writes: half of the smallest one is the burst, and the rest
 * must leave a rate.
 */
const objectWriteWindowsSchema = z
  .array(
    z.strictObject({
      writes: z.int().check(z.minimum(2), z.maximum(100_000)),
      seconds: z.number().check(z.positive(), z.maximum(24 * 3600)),
    }),
  )
  .check(z.maxLength(8));

const pointsSchema = z
  .object({
    /**
     * Points per window. Tier 1 (the app's global pool across tenants) is 65,000 an hour; tenant tiers
     * grant more (Standard 100,000 + 10 per user, up to 500,000).
     */
    quotaPerHour: positiveInt,
    /** The quota's window: Atlassian's is an hour, reset at the top of each UTC hour. */
    windowSeconds: z.int().check(z.minimum(60), z.maximum(24 * 3600)),
    /**
     * The budget's capacity, in seconds of the quota's pace: what an idle service may spend at once.
     * Minutes, not the hour: a backlog is then spread across the hour instead of spending it at once.
     */
    burstSeconds: positiveInt,
    /** Share of the capacity kept back from `normal` and `low`, as for the token bucket. */
    reserves: reservesSchema,
  })
  .check(
    z.refine((p) => p.burstSeconds <= p.windowSeconds, {
      message: 'burstSeconds must not exceed windowSeconds',
      path: ['burstSeconds'],
    }),
  );

const serviceSchema = z.object({
  /** Requests per minute RIQ allows itself against this service (token bucket refill). */
  ratePerMinute: positiveInt,
  /** Token bucket capacity. */
  burst: positiveInt,
  /** Share of the burst kept back from `normal` and `low` (see lambdas/core/domain/token-bucket.ts). */
  reserves: reservesSchema,
  /** `maximumConcurrency` of each priority queue's event source mapping. */
  concurrency: concurrencySchema,
  /** The hourly points budget of OAuth connections. */
  points: pointsSchema,
  /** Calls per second each endpoint family may make, by its method (Atlassian's burst limits). */
  endpointBurstPerSecond: methodBurstSchema,
  /** Writes one issue/page may take per window, across all workers (Atlassian's per-issue limits). */
  objectWriteWindows: objectWriteWindowsSchema,
});

/**
 * The adaptive rate (AIMD) shared by both services; lambdas/core/domain/token-bucket.ts explains the
 * choice of each default. Rates are fractions of the service's configured rate.
 */
const adaptiveRateSchema = z
  .object({
    /** On a 429 the effective rate is multiplied by this (at most once per `decreaseCooldownMs`). */
    decreaseFactor: z.number().check(z.gt(0), z.lt(1)),
    /** The effective rate never drops below this share of the configured rate. */
    minRateFraction: z.number().check(z.gt(0), z.maximum(1)),
    /** Climb, in shares of the configured rate per second of successful calls, below the last limit met. */
    increasePerSecond: z.number().check(z.gt(0), z.maximum(1)),
    /** Slower climb while the rate is within `probeBand` of the rate at which the limit was last met. */
    probeIncreasePerSecond: z.number().check(z.gt(0), z.maximum(1)),
    /** Half-width of the slow-probe zone around the last limit met, as a share of it. */
    probeBand: z.number().check(z.minimum(0), z.lt(1)),
    /** 429s of calls that were in flight together count as one decrease. */
    decreaseCooldownMs: z.int().check(z.minimum(0), z.maximum(60_000)),
    /**
     * At the configured rate, a 429 cuts the rate only when another came within this window: one
     * alone is taken for calls that reached Atlassian closer together than they left RIQ (the
     * bucket is still emptied and the pause kept). Below the configured rate every 429 cuts. 0:
     * every 429 cuts.
     */
    confirmWindowSeconds: z.int().check(z.minimum(0), z.maximum(3600)),
    /** On `X-RateLimit-NearLimit` the rate is multiplied by this once per hold (1: only stop climbing). */
    nearLimitFactor: z.number().check(z.gt(0), z.maximum(1)),
    /** How long after the last `X-RateLimit-NearLimit: true` the rate does not climb. */
    nearLimitHoldSeconds: z.int().check(z.minimum(0), z.maximum(3600)),
  })
  .check(
    z.refine((a) => a.probeIncreasePerSecond <= a.increasePerSecond, {
      message: 'probeIncreasePerSecond must not exceed increasePerSecond',
      path: ['probeIncreasePerSecond'],
    }),
  );

export const riqConfigSchema = z
  .object({
    /** Stage name: `dev`, `staging`, `prod`, or `local` for the laptop stack. */
    stage: z.string().check(z.regex(/^[a-z][a-z0-9-]{1,20}$/)),
    /** Prefix of every physical name (queues, tables): `riq` gives `riq-jira-high`. */
    namePrefix: z.string().check(z.regex(/^[a-z][a-z0-9-]{1,30}$/)),
    services: z.object({ jira: serviceSchema, confluence: serviceSchema }),
    retry: z.object({
      /** Real attempts before a request is dead; also the queues' `maxReceiveCount`. */
      maxAttempts: z.int().check(z.minimum(1), z.maximum(20)),
      baseDelaySeconds: positiveInt,
      maxDelaySeconds: positiveInt,
    }),
    /** The shared rate limit's reaction to what Atlassian says (DESIGN invariant 5). */
    rateControl: z.object({
      /** Longest pause a `Retry-After` or `X-RateLimit-Reset` may cause; Atlassian has sent absurd values. */
      maxPauseSeconds: z.int().check(z.minimum(1), z.maximum(24 * 3600)),
      adaptive: adaptiveRateSchema,
      /**
       * A worker refused a token waits in its invocation for a rate slot due within this many ms
       * (0: never), instead of deferring the request through SQS; see
       * lambdas/core/domain/token-bucket.ts `tryAcquire`. Waiting bills Lambda time; a deferral bills
       * an SQS send and receive, two DynamoDB writes and a delivery: at the worker's 256 MB they
       * cost about the same as a wait of a second, and the wait keeps the request's place.
       */
      slotWaitMs: z.int().check(z.minimum(0), z.maximum(MAX_SLOT_WAIT_MS)),
      /**
       * How far, in ms, calls may reach Atlassian out of the time and order RIQ let them go (a new
       * connection, a busy process, the network). Atlassian's bucket counts a call when it
       * arrives, RIQ's when it grants it, so calls granted at exactly Atlassian's rate can arrive
       * bunched and find its bucket a token short. `normal` and `low` leave this much refill
       * (effective rate × ms) in hand beyond their reserve: a share of the burst, not of the rate.
       * 0 turns it off; it never exceeds the margin's cap (30 % of the burst).
       */
      callJitterMs: z.int().check(z.minimum(0), z.maximum(5_000)),
    }),
    breaker: z.object({
      failureThreshold: positiveInt,
      windowSeconds: positiveInt,
      recoverySeconds: positiveInt,
    }),
    cache: z.object({ getTtlSeconds: positiveInt, searchTtlSeconds: positiveInt }),
    api: z.object({
      /** Long-poll cap for `GET /result/{token}?wait=N`; API Gateway's integration timeout is 29 s. */
      longPollCapSeconds: z.int().check(z.minimum(0), z.maximum(25)),
      /**
       * Largest accepted submit body; larger gets 413 PAYLOAD_TOO_LARGE. At most 5 MiB: API Gateway
       * (REST) carries 10 MB, but Lambda's synchronous invocation carries 6 MB for the whole event
       * (headers and the body as an escaped JSON string), so 5 MiB leaves room for the envelope.
       */
      maxBodyBytes: z.int().check(z.minimum(1024), z.maximum(5 * 1024 * 1024)),
    }),
    /**
     * Large payloads and results (claim check, lambdas/core/domain/claim-check.ts): stored in the bodies
     * bucket (S3) under the request's token, the record (and the read-cache entry) keeping a pointer.
     */
    bodies: z.object({
      /**
       * A payload or result whose JSON is larger than this is stored in S3; DynamoDB's item limit is
       * 400 KB, and a record holds a payload and a result.
       */
      offloadBytes: z.int().check(z.minimum(1024), z.maximum(128 * 1024)),
      /** The largest result RIQ stores; a larger one ends the request `failed` with RESULT_TOO_LARGE. */
      maxResultBytes: z.int().check(z.minimum(1024), z.maximum(1024 * 1024 * 1024)),
      /**
       * Results up to this size are answered inline (`result`) by GET /result and submit; larger ones
       * as a presigned S3 URL (`result_url`). Under Lambda's 6 MB response limit.
       */
      inlineResultBytes: z.int().check(z.minimum(1024), z.maximum(5 * 1024 * 1024)),
      /** How long a `result_url` stays valid. */
      resultUrlSeconds: z.int().check(z.minimum(60), z.maximum(3600)),
    }),
    worker: z.object({
      /** Lambda timeout of a worker; the claim lease and the queues' visibility derive from it. */
      timeoutSeconds: z.int().check(z.minimum(5), z.maximum(900)),
      /** Messages per worker invocation (processed one after another). */
      batchSize: z.int().check(z.minimum(1), z.maximum(10)),
      memoryMb: z.int().check(z.minimum(128), z.maximum(10240)),
    }),
    upstream: z.object({
      /** Timeout of every single HTTP call to Atlassian. */
      timeoutMs: z.int().check(z.minimum(100), z.maximum(60_000)),
      /**
       * How long a create whose outcome is unknown (a timeout, a connection lost after sending, a
       * 5xx) waits before it is tried again: the retry first looks the object up (Jira: JQL search
       * for the request's marker label), and Jira's search is eventually consistent, so the window
       * gives it time to show an issue the lost attempt created. At most SQS's longest delay.
       */
      reconcileWindowSeconds: z.int().check(z.minimum(1), z.maximum(900)),
    }),
    /** Adaptive routing (`routing: "adaptive"`, the default of a submit): see lambdas/core/use-cases/direct-route.ts. */
    routing: z.object({
      /**
       * Whether the submit function may call Atlassian itself (DIRECT) when the breaker is closed
       * and the shared bucket has a token for the priority. false: every request is queued.
       */
      direct: z.boolean(),
      /**
       * The DIRECT call's deadline: all its HTTP calls must have answered within it, else it is a
       * TIMEOUT and the request goes to the queue. The submit function's timeout derives from it.
       */
      directTimeoutMs: z.int().check(z.minimum(100), z.maximum(20_000)),
    }),
    /** Alarms and their thresholds (lib/constructs/observability.ts). */
    observability: z.object({
      /** E-mail subscribed to the alarm topic (SNS mails a confirmation link first). */
      alarmEmail: z.optional(z.email()),
      /**
       * An existing SNS topic (a pager, AWS Chatbot's topic, another account's on-call topic) every
       * alarm also notifies. Its policy must let `cloudwatch.amazonaws.com` publish, and its KMS key,
       * if any, let CloudWatch use it. The CDK app requires this or `alarmEmail` in prod.
       */
      alarmTopicArn: z.optional(
        z
          .string()
          .check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'must be an SNS topic ARN')),
      ),
      /** The oldest message of a `high` queue older than this raises an alarm. */
      oldestHighMessageAgeSeconds: positiveInt,
      /** The oldest message of a `normal` queue older than this raises an alarm. */
      oldestNormalMessageAgeSeconds: positiveInt,
      /**
       * The oldest message of a `low` queue older than this raises an alarm: low work yields to the
       * points and rate reserves of the other priorities, so it may wait much longer.
       */
      oldestLowMessageAgeSeconds: positiveInt,
      /** The API's 5xx answers, as a percentage of its requests over 5 minutes, that raise an alarm. */
      api5xxPercent: z.number().check(z.gt(0), z.maximum(100)),
      /** The 5xx alarm stays quiet in a 5-minute period with fewer API requests than this. */
      api5xxMinRequests: positiveInt,
      /**
       * The API's p99 latency (ms, 5-minute periods, three in a row) that raises an alarm. It counts
       * the result route's long polls (up to `api.longPollCapSeconds`), since the HTTP API has no
       * per-route metric without its billed detailed metrics.
       */
      apiP99LatencyMs: positiveInt,
    }),
    /** Days a completed or failed record is kept (DynamoDB TTL). Dead records never expire. */
    retentionDays: positiveInt,
    /** Where the workers call Atlassian on AWS (locally: ATLASSIAN_SITE_URL / JIRA_BASE_URL, or the simulator). */
    atlassian: z.object({
      siteUrl: z.optional(z.url()),
      /** Issue type of `jira.create_task` when the payload names none. */
      defaultIssueType: z.string().check(z.minLength(1), z.maxLength(255)),
    }),
    /** How the AWS stacks treat data and logs (unused by the local stack). */
    deployment: z.object({
      /**
       * Keep the table, the work and dead-letter queues when the stack is deleted, and protect the
       * table from deletion (DynamoDB deletion protection).
       */
      retainData: z.boolean(),
      pointInTimeRecovery: z.boolean(),
      logRetentionDays: positiveInt,
      /**
       * Ship source maps with the functions and run them with `--enable-source-maps`: stack traces
       * name the TypeScript lines, at the price of a larger asset and a slower cold start.
       */
      sourceMaps: z.boolean(),
      /**
       * X-Ray active tracing of every function (`active`), or none (`off`). Lambda samples 1 request
       * a second and 5 % of the rest, a rate no sampling rule changes (docs/runbook.md#tracing).
       */
      tracing: z.enum(TRACING_MODES),
      /**
       * The least severe log line the functions write: Lambda's application log level (JSON log
       * format) and Powertools' level, the same. INFO writes a line per state change of a request.
       */
      logLevel: z.enum(LOG_LEVELS),
    }),
  })
  .check(
    z.refine((c) => c.retry.maxDelaySeconds >= c.retry.baseDelaySeconds, {
      message: 'retry.maxDelaySeconds must be >= retry.baseDelaySeconds',
      path: ['retry', 'maxDelaySeconds'],
    }),
    z.refine((c) => c.upstream.timeoutMs < c.worker.timeoutSeconds * 1000, {
      message: 'upstream.timeoutMs must be shorter than worker.timeoutSeconds',
      path: ['upstream', 'timeoutMs'],
    }),
    z.refine((c) => messageBudgetMs(c.upstream.timeoutMs) <= c.worker.timeoutSeconds * 1000, {
      message:
        `worker.timeoutSeconds must hold one message at its worst: upstream.timeoutMs × ` +
        `${CALLS_PER_ATTEMPT} calls + ${MESSAGE_MARGIN_MS} ms`,
      path: ['worker', 'timeoutSeconds'],
    }),
    z.refine((c) => c.routing.directTimeoutMs <= c.upstream.timeoutMs, {
      message: 'routing.directTimeoutMs must not exceed upstream.timeoutMs',
      path: ['routing', 'directTimeoutMs'],
    }),
  );

export type RiqConfig = z.infer<typeof riqConfigSchema>;

/**
 * Tier 1's 65,000 points an hour, of which an idle service may spend 5 minutes' worth (~5,400) at
 * once; the reserves are the token bucket's.
 */
/** Jira's documented per-endpoint burst limits (Confluence documents none finer; the same serve). */
const ATLASSIAN_METHOD_BURSTS: RiqConfig['services']['jira']['endpointBurstPerSecond'] = {
  GET: 100,
  POST: 100,
  PUT: 50,
  DELETE: 50,
};

/**
 * Jira's per-issue write limits (`jira-per-issue-on-write`). Confluence documents none per page:
 * its writes only keep the write lock.
 */
const JIRA_ISSUE_WRITE_WINDOWS: RiqConfig['services']['jira']['objectWriteWindows'] = [
  { writes: 20, seconds: 2 },
  { writes: 100, seconds: 30 },
];

const DEFAULT_POINTS: RiqConfig['services']['jira']['points'] = {
  quotaPerHour: 65_000,
  windowSeconds: 3600,
  burstSeconds: 300,
  reserves: { normal: 0.1, low: 0.3 },
};

/**
 * The defaults, from the quick-reference seed. The seed's 5 Jira / 3 Confluence workers cannot be
 * met exactly: each of the three priority queues' event source mappings needs a maximumConcurrency
 * of at least 2, so a service has at least 6 concurrent workers. The token bucket (rate, burst), not
 * the worker count, is what keeps RIQ inside Atlassian's limits.
 */
export const DEFAULT_CONFIG: RiqConfig = {
  stage: 'local',
  namePrefix: 'riq',
  services: {
    jira: {
      ratePerMinute: 100,
      burst: 50,
      reserves: { normal: 0.1, low: 0.3 },
      concurrency: { high: 2, normal: 2, low: 2 },
      points: DEFAULT_POINTS,
      endpointBurstPerSecond: ATLASSIAN_METHOD_BURSTS,
      objectWriteWindows: JIRA_ISSUE_WRITE_WINDOWS,
    },
    confluence: {
      ratePerMinute: 50,
      burst: 50,
      reserves: { normal: 0.1, low: 0.3 },
      concurrency: { high: 2, normal: 2, low: 2 },
      points: DEFAULT_POINTS,
      endpointBurstPerSecond: ATLASSIAN_METHOD_BURSTS,
      objectWriteWindows: [],
    },
  },
  rateControl: {
    maxPauseSeconds: 3600,
    slotWaitMs: 1000,
    callJitterMs: 400,
    adaptive: {
      decreaseFactor: 0.7,
      minRateFraction: 0.05,
      increasePerSecond: 0.05,
      probeIncreasePerSecond: 0.005,
      probeBand: 0.3,
      decreaseCooldownMs: 2000,
      confirmWindowSeconds: 10,
      nearLimitFactor: 1,
      nearLimitHoldSeconds: 10,
    },
  },
  retry: { maxAttempts: 4, baseDelaySeconds: 1, maxDelaySeconds: 60 },
  breaker: { failureThreshold: 5, windowSeconds: 60, recoverySeconds: 60 },
  cache: { getTtlSeconds: 300, searchTtlSeconds: 120 },
  api: { longPollCapSeconds: 25, maxBodyBytes: 5 * 1024 * 1024 },
  bodies: {
    offloadBytes: 64 * 1024,
    maxResultBytes: 50 * 1024 * 1024,
    inlineResultBytes: 1024 * 1024,
    resultUrlSeconds: 900,
  },
  // 60 s: one message at its worst (3 calls × 10 s + 3 s, model/config/message-budget.ts) fits with
  // room for the rest of a batch of fast ones; Lambda bills the time used, not the timeout.
  // 256 MB holds a batch of five 5 MB Confluence pages and a 100-issue search with a quarter to
  // spare (test/integration/worker-memory.test.ts; docs/runbook.md#cost has the figures).
  worker: { timeoutSeconds: 60, batchSize: 5, memoryMb: 256 },
  upstream: { timeoutMs: 10_000, reconcileWindowSeconds: 30 },
  // The seed's DIRECT path answers in ~200 ms; 3 s leaves room for a slow create before queueing.
  routing: { direct: true, directTimeoutMs: 3_000 },
  // The API's p99: between the 25 s long-poll cap and the 29 s integration timeout, so long polls
  // alone never fire it and answers that near a 504 do.
  observability: {
    oldestHighMessageAgeSeconds: 60,
    oldestNormalMessageAgeSeconds: 600,
    oldestLowMessageAgeSeconds: 3600,
    api5xxPercent: 1,
    api5xxMinRequests: 20,
    apiP99LatencyMs: 27_000,
  },
  retentionDays: 7,
  atlassian: { defaultIssueType: 'Task' },
  deployment: {
    retainData: false,
    pointInTimeRecovery: false,
    logRetentionDays: 30,
    sourceMaps: false,
    tracing: 'off',
    logLevel: 'INFO',
  },
};

/** A partial config: any subset of fields, nested, that overrides the defaults. */
export type RiqConfigOverrides = DeepPartial<RiqConfig>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/**
 * Merges overrides onto the defaults and validates the result; a wrong field throws with its path,
 * so a bad `cdk.json` or `RIQ_CONFIG` file fails synth or start-up, not a request at 3 a.m.
 */
export function resolveConfig(overrides: unknown = {}, base: RiqConfig = DEFAULT_CONFIG): RiqConfig {
  const merged = deepMerge(base, overrides);
  const parsed = riqConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`Invalid RIQ configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

function deepMerge(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
