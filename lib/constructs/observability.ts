import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  deadLetterQueueName,
  METRIC_DIMENSIONS,
  METRICS,
  METRICS_NAMESPACE,
  PRIORITIES,
  queueKey,
  queueName,
  RATE_LIMITED_REASONS,
  REQUESTS_TABLE,
  requestsTableName,
  SERVICES,
  type ApiFunctionName,
  type MetricKey,
  type Priority,
  type QueueKey,
  type RateLimitedReason,
  type RiqConfig,
  type Service,
} from '../../model/config/index.js';

/** The SQS metrics' namespace and the dimension that names a queue. */
const SQS_NAMESPACE = 'AWS/SQS';
const DYNAMODB_NAMESPACE = 'AWS/DynamoDB';
/** The API functions a caller waits on whose errors and throttles page someone. */
export const ALARMED_API_FUNCTIONS = ['submit', 'result'] as const satisfies readonly ApiFunctionName[];
const SQS_QUEUE_NAME = 'QueueName';
const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/**
 * `<namePrefix>-<suffix>`: the physical names of the topic, dashboard and alarms. A deployed
 * stage's prefix already names it (`riq-dev`): `riq-dev-alarms`, dashboard `riq-dev`.
 */
export function observabilityName(config: RiqConfig, suffix?: string): string {
  return suffix === undefined ? config.namePrefix : `${config.namePrefix}-${suffix}`;
}

/**
 * 1-minute periods the `BreakerState` alarm needs at 0 before it fires: longer than the breaker's
 * recovery timeout (after which a healthy breaker is half-open, 0.5), plus one sweep of slack.
 */
export function breakerOpenEvaluationPeriods(config: RiqConfig): number {
  return Math.ceil(config.breaker.recoverySeconds / 60) + 1;
}

/**
 * The points the budget refills per minute at its configured pace (`quotaPerHour` over its window):
 * spending per minute above it for long empties the budget before the hour ends. A quota Atlassian
 * announces replaces the configured one at run time (GET /api/queue/health shows which is in force).
 */
export function pointsPacePerMinute(config: RiqConfig, service: Service): number {
  const points = config.services[service].points;
  return (points.quotaPerHour * 60) / points.windowSeconds;
}

/** The sweeper's own metrics: what it repaired, per sweep, for the whole stage. */
const SWEEPER_METRICS = [
  'sweeperRequeued',
  'sweeperRecoveredLeases',
  'sweeperFailedSends',
  'sweeperReleasedDependents',
] as const satisfies readonly MetricKey[];

/** A RIQ metric of the catalogue with exactly the dimensions the catalogue lists for it. */
export function riqMetric(
  key: MetricKey,
  dims: { readonly service?: Service; readonly priority?: Priority; readonly reason?: RateLimitedReason },
  options: { readonly statistic?: string; readonly period?: Duration; readonly label?: string } = {},
): Metric {
  const spec = METRICS[key];
  const dimensionsMap: Record<string, string> = {};
  for (const dimension of spec.dimensions) {
    const value = dims[dimension];
    if (value === undefined) throw new Error(`metric ${spec.name} needs the ${dimension} dimension`);
    dimensionsMap[METRIC_DIMENSIONS[dimension]] = value;
  }
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: spec.name,
    dimensionsMap,
    statistic: options.statistic ?? Stats.SUM,
    period: options.period ?? FIVE_MINUTES,
    ...(options.label !== undefined && { label: options.label }),
  });
}

export interface RiqObservabilityProps {
  readonly config: RiqConfig;
  /** The work queues; their metrics are read by the physical names the config gives them. */
  readonly queues: Record<QueueKey, IQueue>;
  readonly deadLetterQueues: Record<QueueKey, IQueue>;
  /** The HTTP API's stage: its 4xx, 5xx, Count and latency metrics (dimensions ApiId, Stage). */
  readonly api: IHttpStage;
  readonly apiFunctions: Record<ApiFunctionName, IFunction>;
  readonly workerFunctions: Record<Service, IFunction>;
  readonly sweeperFunction: IFunction;
}

/**
 * RIQ's CloudWatch side: an encrypted, TLS-only alarm topic (e-mail subscription when
 * `observability.alarmEmail` is set; every alarm also notifies `observability.alarmTopicArn` when
 * set), the alarms that page someone, and one dashboard.
 *
 * Every RIQ metric is read through the catalogue (model/config/metrics.ts), so a renamed metric or
 * dimension changes the Lambdas and these alarms together.
 */
export class RiqObservability extends Construct {
  public readonly topic: Topic;
  public readonly dashboard: Dashboard;
  /** Every alarm, in creation order. */
  public readonly alarms: Alarm[] = [];

  private readonly config: RiqConfig;

  constructor(scope: Construct, id: string, props: RiqObservabilityProps) {
    super(scope, id);
    const { config } = props;
    this.config = config;
    const stack = Stack.of(this);

    // CloudWatch may use the key and publish to the topic on behalf of this account's alarms of this
    // stage only (what CloudWatch sends as aws:SourceAccount and aws:SourceArn).
    const fromThisStagesAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: observabilityName(config, '*'),
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };

    // SNS's AWS-managed key (alias/aws/sns) has a key policy nobody can change, and it does not let
    // CloudWatch encrypt what an alarm publishes: an alarm on a topic encrypted with it fails to
    // notify. Hence a customer-managed key that allows CloudWatch exactly the two calls SNS needs.
    const key = new Key(this, 'AlarmTopicKey', {
      description: `${observabilityName(config, 'alarms')}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: config.deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheEncryptedTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: fromThisStagesAlarms,
      }),
    );

    this.topic = new Topic(this, 'AlarmTopic', {
      topicName: observabilityName(config, 'alarms'),
      displayName: `RIQ ${config.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // The topic policy replaces SNS's default one: allow this account's alarms of this stage only.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisStage',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromThisStagesAlarms,
      }),
    );
    if (config.observability.alarmEmail !== undefined) {
      this.topic.addSubscription(new EmailSubscription(config.observability.alarmEmail));
      Validations.of(this.topic).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'A notification the mail server refused would sit in a queue nobody reads; every alarm also ' +
          'stays in ALARM on the dashboard and in CloudWatch, and notifies again on OK.',
      });
    }

    const queueKeys = Object.keys(props.queues) as QueueKey[];
    const deadLetterKeys = Object.keys(props.deadLetterQueues) as QueueKey[];
    const alarmWidgets = this.createAlarms(props, deadLetterKeys);

    // An existing topic (a pager, AWS Chatbot) hears every alarm directly: SNS cannot subscribe a
    // topic to a topic, and an alarm may notify several.
    if (config.observability.alarmTopicArn !== undefined) {
      const external = new SnsAction(
        Topic.fromTopicArn(this, 'ExternalAlarmTopic', config.observability.alarmTopicArn),
      );
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(external);
        alarm.addOkAction(external);
      }
    }

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: observabilityName(config),
      defaultInterval: Duration.hours(3),
    });
    for (const row of this.dashboardRows(props, queueKeys, deadLetterKeys)) this.dashboard.addWidgets(...row);
    this.dashboard.addWidgets(...alarmWidgets);

    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic every RIQ alarm notifies (subscribe the on-call channel to it)',
      value: this.topic.topicArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'CloudWatch dashboard of this RIQ stage',
      value: this.dashboard.dashboardName,
    });
  }

  private createAlarms(props: RiqObservabilityProps, deadLetterKeys: QueueKey[]): IWidget[] {
    const { config } = props;

    // a. Any message in a dead-letter queue: a request has spent its retries.
    for (const key of deadLetterKeys) {
      this.alarm(`DeadLetters-${key}`, {
        name: `dlq-${key}`,
        description:
          `A request of ${key} is dead (retries spent): inspect it with GET /api/queue/dead-letters, ` +
          'fix the cause, then retry or purge it.',
        metric: sqsMetric(deadLetterQueueName(config, key), 'ApproximateNumberOfMessagesVisible'),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // SQS stops publishing the metrics of a queue idle for six hours: an empty, idle DLQ is healthy.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    // b. A breaker that stays open past its recovery timeout (a healthy one is half-open by then).
    const breakerPeriods = breakerOpenEvaluationPeriods(config);
    for (const service of SERVICES) {
      this.alarm(`BreakerOpen-${service}`, {
        name: `breaker-open-${service}`,
        description:
          `The ${service} circuit breaker has stayed open for over ${config.breaker.recoverySeconds} s ` +
          `(or the sweeper stopped reporting it): check ${capitalize(service)} Cloud's status and RIQ's credentials, ` +
          'and the sweeper if no data.',
        metric: riqMetric('breakerState', { service }, { statistic: Stats.MAXIMUM, period: ONE_MINUTE }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: breakerPeriods,
        // The sweeper reports every breaker once a minute whatever the traffic, so a gap means the
        // sweeper is not running: the breaker's state is unknown and stale requests are not
        // repaired either, which deserves the same page.
        treatMissingData: TreatMissingData.BREACHING,
      });
    }

    // c. Work waiting too long, each priority with its own threshold.
    const oldestAgeSeconds: Record<Priority, number> = {
      high: config.observability.oldestHighMessageAgeSeconds,
      normal: config.observability.oldestNormalMessageAgeSeconds,
      low: config.observability.oldestLowMessageAgeSeconds,
    };
    for (const priority of PRIORITIES) {
      for (const service of SERVICES) {
        const key = queueKey(service, priority);
        this.alarm(`Oldest${capitalize(priority)}Message-${service}`, {
          name: `oldest-message-${key}`,
          description:
            `A ${key} message has waited over ${oldestAgeSeconds[priority]} s: ` +
            `check the ${service} breaker, rate limit, points budget and worker errors on the dashboard.`,
          metric: sqsMetric(queueName(config, key), 'ApproximateAgeOfOldestMessage'),
          threshold: oldestAgeSeconds[priority],
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          // No data: the queue is idle (SQS publishes nothing for a queue idle six hours), nothing waits.
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
      }
    }

    // d. The API's share of 5xx answers, in periods with enough requests for a share to mean something.
    const minRequests = config.observability.api5xxMinRequests;
    this.alarm('Api5xxRate', {
      name: 'api-5xx',
      description:
        `Over ${config.observability.api5xxPercent} % of API requests failed with 5xx in 5 minutes ` +
        `(of at least ${minRequests} requests): read the API functions' errors and logs.`,
      metric: new MathExpression({
        label: `API 5xx (% of requests, 0 below ${minRequests} requests)`,
        expression: `IF(requests >= ${minRequests}, 100 * errors / requests, 0)`,
        usingMetrics: {
          errors: props.api.metricServerError({ statistic: Stats.SUM, period: FIVE_MINUTES }),
          requests: props.api.metricCount({ statistic: Stats.SUM, period: FIVE_MINUTES }),
        },
        period: FIVE_MINUTES,
      }),
      threshold: config.observability.api5xxPercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No requests, no data: nothing failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // The API's time to answer, sustained over 15 minutes.
    this.alarm('ApiLatencyP99', {
      name: 'api-latency-p99',
      description:
        `The API's p99 latency stayed over ${config.observability.apiP99LatencyMs} ms for 15 minutes: ` +
        "compare Latency with IntegrationLatency on the dashboard and read the API functions' durations.",
      metric: props.api.metricLatency({ statistic: Stats.p(99), period: FIVE_MINUTES }),
      threshold: config.observability.apiP99LatencyMs,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // The API functions callers wait on: a failed submit loses a request, a failed result hides one.
    for (const name of ALARMED_API_FUNCTIONS) {
      this.functionAlarms(props.apiFunctions[name], {
        who: `The ${name} function`,
        id: (kind) => `${capitalize(name)}${kind}`,
        name: (kind) => `${name}-${kind.toLowerCase()}`,
        throttleHint: "compare the account's unreserved concurrency with the API's request rate.",
      });
    }

    // DynamoDB refused requests (on-demand tables throttle too: a hot key, or past the table's
    // maximum throughput): reads, then writes, of the table and of its index.
    const tableName = requestsTableName(config);
    for (const kind of ['Read', 'Write'] as const) {
      const metricName = `${kind}ThrottleEvents`;
      const ddb = (dimensionsMap: Record<string, string>) =>
        new Metric({
          namespace: DYNAMODB_NAMESPACE,
          metricName,
          dimensionsMap,
          statistic: Stats.SUM,
          period: FIVE_MINUTES,
        });
      this.alarm(`DynamoDb${kind}Throttles`, {
        name: `dynamodb-${kind.toLowerCase()}-throttles`,
        description:
          `DynamoDB throttled ${kind.toLowerCase()}s of the table ${tableName} or its index ` +
          `${REQUESTS_TABLE.statusIndex.name}: find the hot key or the caller in the functions' logs.`,
        metric: new MathExpression({
          label: `${metricName} (table + index)`,
          expression: 'FILL(onTable, 0) + FILL(onIndex, 0)',
          usingMetrics: {
            onTable: ddb({ TableName: tableName }),
            onIndex: ddb({ TableName: tableName, GlobalSecondaryIndexName: REQUESTS_TABLE.statusIndex.name }),
          },
          period: FIVE_MINUTES,
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // DynamoDB publishes throttle events only when there are some.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    // e. Worker errors and throttles.
    for (const service of SERVICES) {
      this.functionAlarms(props.workerFunctions[service], {
        who: `The ${service} worker`,
        id: (kind) => `Worker${kind}-${service}`,
        name: (kind) => `worker-${kind.toLowerCase()}-${service}`,
        throttleHint:
          "compare its reserved concurrency with its mappings' maximum concurrency and the account's " +
          'unreserved concurrency.',
      });
    }

    return [
      new AlarmStatusWidget({
        title: 'Alarms',
        alarms: this.alarms,
        width: 24,
        height: Math.max(3, Math.ceil(this.alarms.length / 4) + 1),
      }),
    ];
  }

  /** A function's Errors and Throttles alarms (Lambda publishes both only for invoked functions). */
  private functionAlarms(
    fn: IFunction,
    spec: {
      who: string;
      id: (kind: 'Errors' | 'Throttles') => string;
      name: (kind: 'Errors' | 'Throttles') => string;
      throttleHint: string;
    },
  ): void {
    // No data means no invocation, so no failure.
    this.alarm(spec.id('Errors'), {
      name: spec.name('Errors'),
      description: `${spec.who} failed invocations: read its logs for the error and fix it.`,
      metric: fn.metricErrors({ statistic: Stats.SUM, period: FIVE_MINUTES }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarm(spec.id('Throttles'), {
      name: spec.name('Throttles'),
      description: `${spec.who} was throttled: ${spec.throttleHint}`,
      metric: fn.metricThrottles({ statistic: Stats.SUM, period: FIVE_MINUTES }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  private alarm(
    id: string,
    spec: {
      name: string;
      description: string;
      metric: IMetric;
      threshold: number;
      comparisonOperator: ComparisonOperator;
      evaluationPeriods: number;
      treatMissingData: TreatMissingData;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: observabilityName(this.config, spec.name),
      alarmDescription: spec.description,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparisonOperator,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.evaluationPeriods,
      treatMissingData: spec.treatMissingData,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }

  private dashboardRows(
    props: RiqObservabilityProps,
    queueKeys: QueueKey[],
    deadLetterKeys: QueueKey[],
  ): IWidget[][] {
    const { config } = props;
    const perServiceAndPriority = (key: MetricKey, statistic: string = Stats.SUM) =>
      SERVICES.flatMap((service) =>
        PRIORITIES.map((priority) =>
          riqMetric(key, { service, priority }, { statistic, label: queueKey(service, priority) }),
        ),
      );
    const perService = (key: MetricKey, statistic: string = Stats.SUM, period: Duration = FIVE_MINUTES) =>
      SERVICES.map((service) =>
        riqMetric(key, { service }, { statistic, period, label: `${service} ${METRICS[key].name}` }),
      );
    const graph = (title: string, left: IMetric[], width = 8) =>
      new GraphWidget({ title, left, width, height: 6 });
    const functions: [string, IFunction][] = [
      ...Object.entries(props.apiFunctions).map(([name, fn]): [string, IFunction] => [`api ${name}`, fn]),
      ...Object.entries(props.workerFunctions).map(([service, fn]): [string, IFunction] => [
        `${service} worker`,
        fn,
      ]),
      ['sweeper', props.sweeperFunction],
    ];

    return [
      [
        new TextWidget({
          markdown:
            `# RIQ ${config.stage}\nQueues, flow control and functions. Alarms notify the SNS topic ` +
            `\`${observabilityName(config, 'alarms')}\`.`,
          width: 24,
          height: 2,
        }),
      ],
      [
        graph(
          'Queue depth (visible messages)',
          queueKeys.map((key) =>
            sqsMetric(queueName(config, key), 'ApproximateNumberOfMessagesVisible', { label: key }),
          ),
        ),
        graph(
          'Age of oldest message (s)',
          queueKeys.map((key) =>
            sqsMetric(queueName(config, key), 'ApproximateAgeOfOldestMessage', { label: key }),
          ),
        ),
        graph(
          'Dead-letter queue depth',
          deadLetterKeys.map((key) =>
            sqsMetric(deadLetterQueueName(config, key), 'ApproximateNumberOfMessagesVisible', {
              label: `${key} DLQ`,
            }),
          ),
        ),
      ],
      SERVICES.map((service) =>
        graph(
          `${METRICS.queueLatency.name} ${service} (ms, p50 / p99)`,
          PRIORITIES.flatMap((priority) =>
            [Stats.p(50), Stats.p(99)].map((statistic) =>
              riqMetric(
                'queueLatency',
                { service, priority },
                { statistic, label: `${priority} ${statistic}` },
              ),
            ),
          ),
          12,
        ),
      ),
      [
        new GraphWidget({
          title: `${METRICS.breakerState.name} (1 closed, 0.5 half-open, 0 open)`,
          left: perService('breakerState', Stats.MINIMUM, ONE_MINUTE),
          leftYAxis: { min: 0, max: 1 },
          width: 8,
          height: 6,
        }),
        graph(`${METRICS.deferred.name} deliveries`, perService('deferred'), 16),
      ],
      // The hour's points budget against its pace, and where Atlassian says it stands.
      SERVICES.map(
        (service) =>
          new GraphWidget({
            title: `Points ${service}: ${METRICS.pointsSpent.name} per minute vs pace; ${METRICS.pointsRemaining.name}`,
            left: [
              riqMetric(
                'pointsSpent',
                { service },
                { statistic: Stats.SUM, period: ONE_MINUTE, label: `${METRICS.pointsSpent.name} / min` },
              ),
            ],
            leftAnnotations: [
              {
                value: pointsPacePerMinute(config, service),
                label: `pace: ${config.services[service].points.quotaPerHour} points / ${config.services[service].points.windowSeconds} s`,
              },
            ],
            right: [
              riqMetric(
                'pointsRemaining',
                { service },
                {
                  statistic: Stats.MINIMUM,
                  period: ONE_MINUTE,
                  label: `${METRICS.pointsRemaining.name} (r)`,
                },
              ),
            ],
            leftYAxis: { min: 0 },
            rightYAxis: { min: 0 },
            width: 12,
            height: 6,
          }),
      ),
      SERVICES.map((service) =>
        graph(
          `${METRICS.rateLimited.name} ${service} (429s by RateLimit-Reason)`,
          RATE_LIMITED_REASONS.map((reason) =>
            riqMetric('rateLimited', { service, reason }, { statistic: Stats.SUM, label: reason }),
          ),
          12,
        ),
      ),
      [
        graph(METRICS.submitted.name, perServiceAndPriority('submitted'), 6),
        graph(METRICS.completed.name, perServiceAndPriority('completed'), 6),
        graph(METRICS.failed.name, perServiceAndPriority('failed'), 6),
        graph(METRICS.dead.name, perServiceAndPriority('dead'), 6),
      ],
      [
        graph(
          `${METRICS.routedDirect.name} vs ${METRICS.routedQueued.name}`,
          [...perService('routedDirect'), ...perService('routedQueued')],
          12,
        ),
        new GraphWidget({
          title: 'Cache hit ratio',
          left: SERVICES.map(
            (service) =>
              new MathExpression({
                label: `${service} cache hit ratio`,
                expression: `hits_${service} / (hits_${service} + misses_${service})`,
                usingMetrics: {
                  [`hits_${service}`]: riqMetric('cacheHit', { service }),
                  [`misses_${service}`]: riqMetric('cacheMiss', { service }),
                },
                period: FIVE_MINUTES,
              }),
          ),
          leftYAxis: { min: 0, max: 1 },
          width: 12,
          height: 6,
        }),
      ],
      [
        graph('API requests and 5xx', [
          props.api.metricCount({ statistic: Stats.SUM, label: 'requests' }),
          props.api.metricServerError({ statistic: Stats.SUM, label: '5xx' }),
          props.api.metricClientError({ statistic: Stats.SUM, label: '4xx' }),
        ]),
        graph(
          'Lambda errors',
          functions.map(([label, fn]) => fn.metricErrors({ statistic: Stats.SUM, label })),
        ),
        graph(
          'Lambda throttles',
          functions.map(([label, fn]) => fn.metricThrottles({ statistic: Stats.SUM, label })),
        ),
      ],
      [
        // The HTTP API's time to answer, and the functions' share of it.
        graph(
          'API latency (ms, p99)',
          [
            props.api.metricLatency({ statistic: 'p99', label: 'Latency' }),
            props.api.metricIntegrationLatency({ statistic: 'p99', label: 'IntegrationLatency' }),
          ],
          24,
        ),
      ],
      [
        graph(
          'Sweeper repairs',
          SWEEPER_METRICS.map((key) =>
            riqMetric(key, {}, { statistic: Stats.SUM, label: METRICS[key].name }),
          ),
          24,
        ),
      ],
    ];
  }
}

/**
 * An SQS metric of a queue, by the queue's physical name from the config. Not `queue.metric…()`:
 * the queues live in the stateful stack and their names are known, so the dashboard and alarms
 * need no cross-stack export (and the dashboard shows real names, not tokens).
 */
function sqsMetric(
  physicalName: string,
  metricName: 'ApproximateNumberOfMessagesVisible' | 'ApproximateAgeOfOldestMessage',
  options: { label?: string } = {},
): Metric {
  return new Metric({
    namespace: SQS_NAMESPACE,
    metricName,
    dimensionsMap: { [SQS_QUEUE_NAME]: physicalName },
    statistic: Stats.MAXIMUM,
    period: ONE_MINUTE,
    ...(options.label !== undefined && { label: options.label }),
  });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
