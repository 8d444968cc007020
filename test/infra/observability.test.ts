/**
 * The CloudWatch side of a synthesized stage (lib/constructs/observability.ts): the alarm topic,
 * every alarm with its metric and threshold, and what the dashboard shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allQueueKeys,
  API_INTEGRATION_TIMEOUT_SECONDS,
  deadLetterQueueName,
  METRICS,
  METRICS_NAMESPACE,
  PRIORITIES,
  RATE_LIMITED_REASONS,
  queueName,
  REQUESTS_TABLE,
  requestsTableName,
  resolveConfig,
  SERVICES,
  type QueueKey,
  type Service,
} from '../../model/config/index.js';
import { ALARMED_API_FUNCTIONS, breakerOpenEvaluationPeriods } from '../../lib/constructs/observability.js';
import {
  asArray,
  FUNCTION_NAMES,
  functionId,
  logicalIdOf,
  policyStatements,
  resourcesOfType,
  sorted,
  synthStage,
  TEST_ALARM_EMAIL,
  WITHOUT_TLS,
  type PolicyStatementJson,
  type Resource,
  type SynthesizedStage,
} from './support/synth.js';

type Json = Record<string, unknown>;
/** One metric line of a dashboard widget: `[namespace, name, dim, value, …, {options}]` or `[{expression…}]`. */
type MetricLine = unknown[];
interface Widget {
  type: string;
  properties: {
    title?: string;
    metrics?: MetricLine[];
    alarms?: string[];
    annotations?: { horizontal?: { value: number; label?: string; yAxis?: string }[] };
  };
}

/**
 * The dashboard body as JSON: the `Fn::Join` of the template with `{Ref: X}` as `@ref:X` and
 * `{Fn::GetAtt: [X, A]}` as `@getatt:X.A` (every token sits inside a JSON string).
 */
function dashboardBody(dashboard: Resource): { widgets: Widget[] } {
  const body = dashboard.Properties['DashboardBody'] as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof body === 'string') return JSON.parse(body) as { widgets: Widget[] };
  const [separator, parts] = body['Fn::Join'];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (token.Ref !== undefined) return `@ref:${token.Ref}`;
      if (token['Fn::GetAtt'] !== undefined) return `@getatt:${token['Fn::GetAtt'].join('.')}`;
      throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(part)}`);
    })
    .join(separator);
  return JSON.parse(text) as { widgets: Widget[] };
}

/** `[namespace, name, ...dimension pairs]` of a metric line, without its options. */
function metricOf(
  line: MetricLine,
): { namespace: string; name: string; dims: Record<string, string> } | undefined {
  if (typeof line[0] !== 'string') return undefined;
  const strings = line.filter((x): x is string => typeof x === 'string');
  const dims: Record<string, string> = {};
  for (let i = 2; i + 1 < strings.length; i += 2) dims[strings[i] as string] = strings[i + 1] as string;
  return { namespace: strings[0] as string, name: strings[1] as string, dims };
}

function sameDims(a: Record<string, string>, b: Record<string, string>): boolean {
  const entries = (d: Record<string, string>) => JSON.stringify(Object.entries(d).sort());
  return entries(a) === entries(b);
}

function optionsOf(line: MetricLine): Json {
  const last = line.at(-1);
  return typeof last === 'object' && last !== null ? (last as Json) : {};
}

for (const stageName of ['dev', 'prod'] as const) {
  describe(`RiqObservability ${stageName}`, () => {
    let riq: SynthesizedStage;
    let alarms: Resource[];
    let widgets: Widget[];

    beforeAll(() => {
      riq = synthStage(stageName);
      alarms = Object.values(resourcesOfType(riq.stateless, 'AWS::CloudWatch::Alarm'));
      const dashboards = Object.values(resourcesOfType(riq.stateless, 'AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      widgets = dashboardBody(dashboards[0] as Resource).widgets;
    });
    afterAll(() => riq?.cleanup());

    /** The stage's names: `riq-<stage>` is the name prefix, and the observability names add the stage. */
    const named = (suffix: string) => `riq-${stageName}-${suffix}`;
    const topicId = () => logicalIdOf(riq.stage.stateless.observability.topic);
    const alarmNamed = (suffix: string): Json => {
      const found = alarms.filter((a) => a.Properties['AlarmName'] === named(suffix));
      expect(found, named(suffix)).toHaveLength(1);
      return (found[0] as Resource).Properties;
    };
    const workerId = (service: Service) => functionId(riq, `${service} worker`);
    const physicalQueueNames = () =>
      Object.values(resourcesOfType(riq.stateful, 'AWS::SQS::Queue')).map(
        (q) => q.Properties['QueueName'] as string,
      );
    const lines = () => widgets.flatMap((w) => w.properties.metrics ?? []);
    const metricLines = () =>
      lines().flatMap((line) => {
        const metric = metricOf(line);
        return metric ? [{ ...metric, options: optionsOf(line) }] : [];
      });

    /** What a metric alarm watches: one metric of one queue, service or function. */
    const metric = (namespace: string, name: string, dimension: string, value: unknown) => ({
      Namespace: namespace,
      MetricName: name,
      Dimensions: [{ Name: dimension, Value: value }],
    });
    /** When an alarm fires, over one-minute (SQS, breaker) or five-minute (Lambda) periods. */
    const anyInAMinute = { Statistic: 'Maximum', Period: 60, Threshold: 1, EvaluationPeriods: 1 };
    const anyInFiveMinutes = { Statistic: 'Sum', Period: 300, Threshold: 1, EvaluationPeriods: 1 };
    const atLeast = 'GreaterThanOrEqualToThreshold';
    const metricAlarms = [
      ...allQueueKeys().map((key) => ({
        alarm: `dlq-${key}`,
        fires: 'on any message in a dead-letter queue',
        watches: () =>
          metric('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', named(`${key}-dlq`)),
        when: {
          ...anyInAMinute,
          ComparisonOperator: atLeast,
          DatapointsToAlarm: 1,
          TreatMissingData: 'notBreaching',
        },
      })),
      ...SERVICES.map((service) => ({
        alarm: `breaker-open-${service}`,
        fires: 'when a breaker stays open past breaker.recoverySeconds (60 s: 2 one-minute periods)',
        watches: () => metric(METRICS_NAMESPACE, 'BreakerState', 'service', service),
        // The sweeper reports every minute: no data means it stopped.
        when: {
          ...anyInAMinute,
          Threshold: 0,
          ComparisonOperator: 'LessThanOrEqualToThreshold',
          EvaluationPeriods: 2,
          DatapointsToAlarm: 2,
          TreatMissingData: 'breaching',
        },
      })),
      ...PRIORITIES.flatMap((priority) =>
        SERVICES.map((service) => ({
          alarm: `oldest-message-${service}-${priority}`,
          fires: `when the oldest message of a ${priority} queue is older than its threshold`,
          watches: () =>
            metric('AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', named(`${service}-${priority}`)),
          when: {
            ...anyInAMinute,
            Threshold: { high: 60, normal: 600, low: 3600 }[priority],
            ComparisonOperator: 'GreaterThanThreshold',
            TreatMissingData: 'notBreaching',
          },
        })),
      ),
      ...ALARMED_API_FUNCTIONS.flatMap((fn) =>
        (['Errors', 'Throttles'] as const).map((name) => ({
          alarm: `${fn}-${name.toLowerCase()}`,
          fires: `on any ${name === 'Errors' ? 'error' : 'throttle'} of an API function in 5 minutes`,
          watches: () => metric('AWS/Lambda', name, 'FunctionName', { Ref: functionId(riq, fn) }),
          when: { ...anyInFiveMinutes, ComparisonOperator: atLeast, TreatMissingData: 'notBreaching' },
        })),
      ),
      ...SERVICES.flatMap((service) =>
        (['Errors', 'Throttles'] as const).map((name) => ({
          alarm: `worker-${name.toLowerCase()}-${service}`,
          fires: `on any ${name === 'Errors' ? 'error' : 'throttle'} of a worker in 5 minutes`,
          watches: () => metric('AWS/Lambda', name, 'FunctionName', { Ref: workerId(service) }),
          when: { ...anyInFiveMinutes, ComparisonOperator: atLeast, TreatMissingData: 'notBreaching' },
        })),
      ),
    ];

    describe('alarm topic', () => {
      it('is named after the stage, encrypted with a rotated customer-managed key CloudWatch may use', () => {
        const topics = Object.entries(resourcesOfType(riq.stateless, 'AWS::SNS::Topic'));
        expect(topics.map(([id]) => id)).toEqual([topicId()]);
        const topic = (topics[0] as [string, Resource])[1].Properties;
        expect(topic['TopicName']).toBe(named('alarms'));
        const keyRef = topic['KmsMasterKeyId'] as { 'Fn::GetAtt': [string, string] };
        expect(keyRef['Fn::GetAtt'][1]).toBe('Arn');
        const key = resourcesOfType(riq.stateless, 'AWS::KMS::Key')[keyRef['Fn::GetAtt'][0]];
        expect(key?.Properties['EnableKeyRotation']).toBe(true);
        const statements = (key?.Properties['KeyPolicy'] as { Statement: PolicyStatementJson[] }).Statement;
        const forCloudWatch = statements.filter(
          (s) =>
            JSON.stringify((s as unknown as Json)['Principal']) === '{"Service":"cloudwatch.amazonaws.com"}',
        );
        expect(forCloudWatch.map((s) => sorted(asArray(s.Action)))).toEqual([
          ['kms:Decrypt', 'kms:GenerateDataKey'],
        ]);
      });

      it('denies publishing without TLS and lets only CloudWatch alarms of this stage publish', () => {
        const policies = Object.values(resourcesOfType(riq.stateless, 'AWS::SNS::TopicPolicy')).filter((p) =>
          (p.Properties['Topics'] as Json[]).some((t) => t['Ref'] === topicId()),
        );
        expect(policies).toHaveLength(1);
        const statements = policyStatements(policies);
        const denies = statements.filter((s) => s.Effect === 'Deny');
        expect(denies).toHaveLength(1);
        expect(denies[0]?.Condition).toEqual(WITHOUT_TLS);
        expect(asArray(denies[0]?.Action)).toEqual(['sns:Publish']);
        const allows = statements.filter((s) => s.Effect === 'Allow');
        expect(allows).toHaveLength(1);
        expect((allows[0] as unknown as Json)['Principal']).toEqual({ Service: 'cloudwatch.amazonaws.com' });
        expect(JSON.stringify(allows[0]?.Condition?.['ArnLike'])).toContain(`:alarm:${named('*')}`);
      });

      it(`has ${stageName === 'prod' ? "only the tests' e-mail" : 'no'} subscription`, () => {
        // cdk.json sets no alarmEmail; prod cannot synthesize without one (test/infra/support/synth.ts).
        const expected = stageName === 'prod' ? [TEST_ALARM_EMAIL] : [];
        expect(riq.config.observability.alarmEmail).toBe(expected[0]);
        const subscriptions = Object.values(resourcesOfType(riq.stateless, 'AWS::SNS::Subscription'));
        expect(subscriptions.map((s) => s.Properties['Endpoint'])).toEqual(expected);
      });

      it('outputs the topic ARN and the dashboard name', () => {
        const outputs = Object.values(
          riq.stateless.toJSON()['Outputs'] as Record<string, { Value: unknown }>,
        );
        const values = outputs.map((o) => JSON.stringify(o.Value));
        expect(values).toContain(JSON.stringify({ Ref: topicId() }));
        expect(values).toContain(
          JSON.stringify({ Ref: logicalIdOf(riq.stage.stateless.observability.dashboard) }),
        );
      });
    });

    describe('alarms', () => {
      it('creates 26 alarms: 6 dead-letter queues, 2 breakers, 6 queue ages, 2 API, 2 × 2 API functions, 2 DynamoDB, 2 × 2 workers', () => {
        expect(alarms).toHaveLength(
          allQueueKeys().length +
            SERVICES.length +
            allQueueKeys().length +
            2 +
            2 * 2 +
            2 +
            2 * SERVICES.length,
        );
        expect(alarms).toHaveLength(26);
        expect(riq.stage.stateless.observability.alarms).toHaveLength(26);
      });

      it('notifies the topic on ALARM and on OK, and says what to do, for every alarm', () => {
        for (const alarm of alarms) {
          const name = alarm.Properties['AlarmName'] as string;
          expect(name.startsWith(named('')), name).toBe(true);
          expect(alarm.Properties['AlarmActions'], name).toEqual([{ Ref: topicId() }]);
          expect(alarm.Properties['OKActions'], name).toEqual([{ Ref: topicId() }]);
          expect(alarm.Properties['AlarmDescription'], name).toMatch(/^[A-Z].{30,}\.$/);
          expect(alarm.Properties['TreatMissingData'], name).toMatch(/^(breaching|notBreaching)$/);
        }
        expect(sorted(alarms.map((a) => a.Properties['AlarmName'] as string))).toHaveLength(alarms.length);
      });

      it('watches the dead-letter queues and the work queues the config names', () => {
        for (const key of allQueueKeys()) {
          expect(physicalQueueNames()).toContain(deadLetterQueueName(riq.config, key));
          expect(physicalQueueNames()).toContain(queueName(riq.config, key));
        }
      });

      it('takes breaker.recoverySeconds (60 s) and oldestHighMessageAgeSeconds (60 s) from the config', () => {
        expect(riq.config.breaker.recoverySeconds).toBe(60);
        expect(riq.config.observability.oldestHighMessageAgeSeconds).toBe(60);
      });

      it.each(metricAlarms)('fires $fires ($alarm)', ({ alarm, watches, when }) => {
        expect(alarmNamed(alarm)).toMatchObject({ ...watches(), ...when });
      });

      /** The HTTP API's own metrics, by API and stage. */
      const apiMetric = (name: string, stat: string) => ({
        Metric: {
          Namespace: 'AWS/ApiGateway',
          MetricName: name,
          Dimensions: expect.arrayContaining([
            { Name: 'ApiId', Value: { Ref: logicalIdOf(riq.stage.stateless.api.httpApi) } },
            { Name: 'Stage', Value: stageName },
          ]),
        },
        Period: 300,
        Stat: stat,
      });

      it('fires when over api5xxPercent of at least api5xxMinRequests requests fail with 5xx in 5 minutes', () => {
        const alarm = alarmNamed('api-5xx');
        expect(alarm).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 1,
          TreatMissingData: 'notBreaching',
        });
        expect(alarm['MetricName']).toBeUndefined();
        expect(alarm['Metrics']).toEqual([
          expect.objectContaining({
            Expression: 'IF(requests >= 20, 100 * errors / requests, 0)',
            ReturnData: true,
          }),
          { Id: 'errors', MetricStat: apiMetric('5xx', 'Sum'), ReturnData: false },
          { Id: 'requests', MetricStat: apiMetric('Count', 'Sum'), ReturnData: false },
        ]);
      });

      it("fires when the API's p99 latency stays over apiP99LatencyMs for three 5-minute periods", () => {
        const alarm = alarmNamed('api-latency-p99');
        const apiId = logicalIdOf(riq.stage.stateless.api.httpApi);
        expect(alarm).toMatchObject({
          Namespace: 'AWS/ApiGateway',
          MetricName: 'Latency',
          ExtendedStatistic: 'p99',
          Period: 300,
          Threshold: 27_000,
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 3,
          DatapointsToAlarm: 3,
          TreatMissingData: 'notBreaching',
        });
        expect(alarm['Dimensions']).toEqual(
          expect.arrayContaining([
            { Name: 'ApiId', Value: { Ref: apiId } },
            { Name: 'Stage', Value: stageName },
          ]),
        );
        // Above the long-poll cap, below the integration timeout.
        expect(alarm['Threshold']).toBeGreaterThan(riq.config.api.longPollCapSeconds * 1000);
        expect(alarm['Threshold']).toBeLessThan(API_INTEGRATION_TIMEOUT_SECONDS * 1000);
      });

      it.each(['Read', 'Write'])(
        'fires on any DynamoDB %s throttle of the table or its index in 5 minutes',
        (kind) => {
          const alarm = alarmNamed(`dynamodb-${kind.toLowerCase()}-throttles`);
          expect(alarm).toMatchObject({
            Threshold: 1,
            ComparisonOperator: atLeast,
            EvaluationPeriods: 1,
            TreatMissingData: 'notBreaching',
          });
          const ddbMetric = (dims: Record<string, string>) => ({
            Metric: {
              Namespace: 'AWS/DynamoDB',
              MetricName: `${kind}ThrottleEvents`,
              // CDK writes a metric's dimensions sorted by name.
              Dimensions: Object.entries(dims)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([Name, Value]) => ({ Name, Value })),
            },
            Period: 300,
            Stat: 'Sum',
          });
          const tableName = requestsTableName(riq.config);
          expect(
            Object.values(resourcesOfType(riq.stateful, 'AWS::DynamoDB::Table'))[0]?.Properties['TableName'],
          ).toBe(tableName);
          expect(alarm['Metrics']).toEqual([
            expect.objectContaining({ Expression: 'FILL(onTable, 0) + FILL(onIndex, 0)', ReturnData: true }),
            { Id: 'onTable', MetricStat: ddbMetric({ TableName: tableName }), ReturnData: false },
            {
              Id: 'onIndex',
              MetricStat: ddbMetric({
                TableName: tableName,
                GlobalSecondaryIndexName: REQUESTS_TABLE.statusIndex.name,
              }),
              ReturnData: false,
            },
          ]);
        },
      );
    });

    describe('dashboard', () => {
      it('is named after the stage', () => {
        const dashboard = Object.values(resourcesOfType(riq.stateless, 'AWS::CloudWatch::Dashboard'))[0];
        expect(dashboard?.Properties['DashboardName']).toBe(`riq-${stageName}`);
      });

      it('graphs every metric of the catalogue with each of its dimension combinations', () => {
        const riqLines = metricLines().filter((m) => m.namespace === METRICS_NAMESPACE);
        for (const spec of Object.values(METRICS)) {
          if (spec.dimensions.length === 0) {
            expect(
              riqLines.some((m) => m.name === spec.name && sameDims(m.dims, {})),
              spec.name,
            ).toBe(true);
            continue;
          }
          const has = (dimension: string) => (spec.dimensions as readonly string[]).includes(dimension);
          for (const service of SERVICES) {
            const priorities = has('priority') ? PRIORITIES : [undefined];
            const reasons = has('reason') ? RATE_LIMITED_REASONS : [undefined];
            for (const priority of priorities) {
              for (const reason of reasons) {
                const dims: Record<string, string> = {
                  service,
                  ...(priority ? { priority } : {}),
                  ...(reason ? { reason } : {}),
                };
                expect(
                  riqLines.some((m) => m.name === spec.name && sameDims(m.dims, dims)),
                  `${spec.name} ${JSON.stringify(dims)}`,
                ).toBe(true);
              }
            }
          }
        }
        // Nothing outside the catalogue.
        const names = new Set<string>(Object.values(METRICS).map((m) => m.name));
        for (const m of riqLines) expect(names.has(m.name), m.name).toBe(true);
      });

      it('shows per service PointsSpent summed per minute against the pace quotaPerHour / 60, and PointsRemaining', () => {
        for (const service of SERVICES) {
          const found = widgets.filter((w) => w.properties.title?.startsWith(`Points ${service}:`));
          expect(found, service).toHaveLength(1);
          const widget = found[0] as Widget;
          // 65,000 points an hour: about 1,083 a minute.
          expect(widget.properties.annotations?.horizontal).toEqual([
            expect.objectContaining({ value: riq.config.services[service].points.quotaPerHour / 60 }),
          ]);
          expect(riq.config.services[service].points.quotaPerHour).toBe(65_000);
          const shown = (widget.properties.metrics ?? []).flatMap((line) => {
            const m = metricOf(line);
            return m ? [[m.name, m.dims['service'], optionsOf(line)['stat'], optionsOf(line)['period']]] : [];
          });
          expect(shown).toEqual([
            [METRICS.pointsSpent.name, service, 'Sum', 60],
            [METRICS.pointsRemaining.name, service, 'Minimum', 60],
          ]);
          const remaining = (widget.properties.metrics ?? []).find(
            (line) => metricOf(line)?.name === METRICS.pointsRemaining.name,
          ) as MetricLine;
          expect(optionsOf(remaining)['yAxis']).toBe('right');
        }
      });

      it('shows per service the 429s (RateLimited) of every RateLimit-Reason and unknown', () => {
        expect(RATE_LIMITED_REASONS).toContain('unknown');
        expect(RATE_LIMITED_REASONS).toContain('jira-burst-based');
        for (const service of SERVICES) {
          const found = widgets.filter((w) => w.properties.title?.startsWith(`RateLimited ${service} `));
          expect(found, service).toHaveLength(1);
          const reasons = (found[0]?.properties.metrics ?? []).map((line) => {
            const m = metricOf(line);
            expect(m?.name).toBe(METRICS.rateLimited.name);
            expect(m?.dims['service']).toBe(service);
            return m?.dims['reason'];
          });
          expect(reasons).toEqual([...RATE_LIMITED_REASONS]);
        }
      });

      it("graphs the HTTP API's requests, 4xx, 5xx and p99 latencies by API and stage", () => {
        const api = metricLines().filter((m) => m.namespace === 'AWS/ApiGateway');
        expect(sorted(api.map((m) => m.name))).toEqual(
          sorted(['Count', '4xx', '5xx', 'Latency', 'IntegrationLatency']),
        );
        const apiId = `@ref:${logicalIdOf(riq.stage.stateless.api.httpApi)}`;
        for (const m of api) expect(m.dims, m.name).toEqual({ ApiId: apiId, Stage: stageName });
        for (const m of api.filter((l) => l.name.endsWith('Latency'))) expect(m.options['stat']).toBe('p99');
      });

      it('graphs QueueLatency p50 and p99 per service and priority', () => {
        for (const service of SERVICES) {
          for (const priority of PRIORITIES) {
            const stats = metricLines()
              .filter(
                (m) =>
                  m.name === METRICS.queueLatency.name &&
                  m.dims['service'] === service &&
                  m.dims['priority'] === priority,
              )
              .map((m) => m.options['stat'] as string);
            expect(sorted(stats), `${service}-${priority}`).toEqual(['p50', 'p99']);
          }
        }
      });

      it('graphs depth and oldest message age of every queue and depth of every dead-letter queue', () => {
        const sqs = metricLines().filter((m) => m.namespace === 'AWS/SQS');
        const queuesOf = (name: string) =>
          sorted(sqs.filter((m) => m.name === name).map((m) => m.dims['QueueName'] ?? ''));
        const work = allQueueKeys().map((key: QueueKey) => `riq-${stageName}-${key}`);
        const dead = work.map((name) => `${name}-dlq`);
        expect(sorted([...work, ...dead])).toEqual(sorted(physicalQueueNames()));
        expect(queuesOf('ApproximateNumberOfMessagesVisible')).toEqual(sorted([...work, ...dead]));
        expect(queuesOf('ApproximateAgeOfOldestMessage')).toEqual(sorted(work));
      });

      it('shows the cache hit ratio as CacheHit / (CacheHit + CacheMiss) per service', () => {
        const expressions = lines()
          .map((line) => line[0])
          .filter(
            (x): x is { expression: string } => typeof x === 'object' && x !== null && 'expression' in x,
          )
          .map((x) => x.expression);
        for (const service of SERVICES) {
          expect(expressions).toContain(`hits_${service} / (hits_${service} + misses_${service})`);
          for (const [id, name] of [
            [`hits_${service}`, METRICS.cacheHit.name],
            [`misses_${service}`, METRICS.cacheMiss.name],
          ]) {
            const used = metricLines().filter((m) => m.options['id'] === id);
            expect(used.map((m) => [m.name, m.dims['service'], m.options['stat']])).toEqual([
              [name, service, 'Sum'],
            ]);
          }
        }
      });

      it('graphs Errors and Throttles of every Lambda function', () => {
        const lambda = metricLines().filter((m) => m.namespace === 'AWS/Lambda');
        const expected = sorted(FUNCTION_NAMES.map((name) => `@ref:${functionId(riq, name)}`));
        expect(expected).toHaveLength(
          Object.keys(resourcesOfType(riq.stateless, 'AWS::Lambda::Function')).length,
        );
        for (const name of ['Errors', 'Throttles']) {
          expect(
            sorted(lambda.filter((m) => m.name === name).map((m) => m.dims['FunctionName'] ?? '')),
            name,
          ).toEqual(expected);
        }
      });

      it('shows the state of every alarm', () => {
        const alarmWidgets = widgets.filter((w) => w.type === 'alarm');
        expect(alarmWidgets).toHaveLength(1);
        const alarmIds = Object.keys(resourcesOfType(riq.stateless, 'AWS::CloudWatch::Alarm'));
        expect(sorted(alarmWidgets[0]?.properties.alarms ?? [])).toEqual(
          sorted(alarmIds.map((id) => `@getatt:${id}.Arn`)),
        );
      });
    });
  });
}

describe('RiqObservability with stage overrides', () => {
  let riq: SynthesizedStage;

  beforeAll(() => {
    riq = synthStage('dev', {
      'riq:stages': {
        dev: {
          observability: {
            alarmEmail: 'ops@example.com',
            oldestHighMessageAgeSeconds: 120,
            oldestNormalMessageAgeSeconds: 900,
            oldestLowMessageAgeSeconds: 7200,
            api5xxPercent: 5,
            api5xxMinRequests: 50,
            apiP99LatencyMs: 5000,
          },
          breaker: { recoverySeconds: 300 },
        },
      },
    });
  });
  afterAll(() => riq?.cleanup());

  const alarm = (suffix: string) =>
    Object.values(resourcesOfType(riq.stateless, 'AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties['AlarmName'] === `riq-dev-${suffix}`,
    )?.Properties ?? {};

  it('subscribes observability.alarmEmail to the topic', () => {
    const subscriptions = Object.values(resourcesOfType(riq.stateless, 'AWS::SNS::Subscription'));
    expect(subscriptions.map((s) => s.Properties)).toEqual([
      {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
        TopicArn: { Ref: logicalIdOf(riq.stage.stateless.observability.topic) },
      },
    ]);
  });

  it('keeps a breaker alarm quiet for recoverySeconds 300: 6 one-minute periods', () => {
    for (const service of SERVICES) {
      expect(alarm(`breaker-open-${service}`)).toMatchObject({ EvaluationPeriods: 6, DatapointsToAlarm: 6 });
    }
  });

  it('takes the age, 5xx and latency thresholds from the config', () => {
    for (const service of SERVICES) {
      expect(alarm(`oldest-message-${service}-high`)['Threshold']).toBe(120);
      expect(alarm(`oldest-message-${service}-normal`)['Threshold']).toBe(900);
      expect(alarm(`oldest-message-${service}-low`)['Threshold']).toBe(7200);
    }
    expect(alarm('api-5xx')['Threshold']).toBe(5);
    expect(JSON.stringify(alarm('api-5xx')['Metrics'])).toContain(
      'IF(requests >= 50, 100 * errors / requests, 0)',
    );
    expect(alarm('api-latency-p99')['Threshold']).toBe(5000);
  });
});

describe('breakerOpenEvaluationPeriods', () => {
  it('is one period more than the recovery timeout spans, in whole minutes', () => {
    const periods = (recoverySeconds: number) =>
      breakerOpenEvaluationPeriods(resolveConfig({ breaker: { recoverySeconds } }));
    expect(periods(1)).toBe(2);
    expect(periods(60)).toBe(2);
    expect(periods(61)).toBe(3);
    expect(periods(300)).toBe(6);
  });
});
