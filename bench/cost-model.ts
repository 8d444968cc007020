/**
 * The cost arithmetic of docs/runbook.md: AWS list prices times what one RIQ request uses, per
 * million requests, each line with its working shown. The usage comes from the `cost` benchmark
 * (DynamoDB capacity units, SQS requests and log bytes measured in the local stack); Lambda
 * durations are assumptions, stated with the figures.
 */

/** us-east-1 list prices (USD), read 2026-12. */
export const PRICES = {
  /** API Gateway HTTP API, per million requests (first 300 million a month). */
  httpApiPerMillion: 1.0,
  /** API Gateway REST API, per million requests (first 333 million a month). */
  restApiPerMillion: 3.5,
  /** Lambda arm64, per GB-second. */
  lambdaPerGbSecond: 0.0000133334,
  lambdaPerMillionInvocations: 0.2,
  /** DynamoDB on-demand. */
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
  sqsPerMillionRequests: 0.4,
  /** CloudWatch Logs ingestion (standard class). */
  logsPerGb: 0.5,
  /** X-Ray, per million traces recorded. */
  xrayPerMillionTraces: 5.0,
} as const;

export type Prices = typeof PRICES;

export interface Invocation {
  /** The function, as the line names it. */
  name: string;
  memoryMb: number;
  /** Billed seconds (assumed). */
  seconds: number;
}

/** What one RIQ request (or one deferral) uses. */
export interface RequestUsage {
  /** Calls to the API: 1 for a DIRECT request, 2 for a queued one read once. */
  apiCalls: number;
  api: 'http' | 'rest';
  invocations: readonly Invocation[];
  dynamoReadUnits: number;
  /** Tables' and indexes' write units together. */
  dynamoWriteUnits: number;
  sqsRequests: number;
  logBytes: number;
  /** Share of requests whose trace X-Ray records (0–1). */
  tracedShare: number;
}

export interface CostLine {
  item: string;
  working: string;
  dollars: number;
}

export interface Cost {
  lines: CostLine[];
  /** Per million requests. */
  total: number;
}

const MILLION = 1_000_000;
const GB = 1024 ** 3;

/** Dollars per million requests that each use `usage`, line by line. */
export function costPerMillion(usage: RequestUsage, prices: Prices = PRICES): Cost {
  const lines: CostLine[] = [];
  const line = (item: string, working: string, dollars: number) => {
    if (dollars > 0) lines.push({ item, working, dollars });
  };
  const apiPrice = usage.api === 'http' ? prices.httpApiPerMillion : prices.restApiPerMillion;
  line(
    `API Gateway (${usage.api === 'http' ? 'HTTP API' : 'REST API'})`,
    `${fmt(usage.apiCalls)} × $${fmt(apiPrice)}`,
    usage.apiCalls * apiPrice,
  );
  const gbSeconds = usage.invocations.reduce((s, i) => s + (i.memoryMb / 1024) * i.seconds, 0);
  const invocations = usage.invocations.length;
  line(
    'Lambda',
    `${usage.invocations.map((i) => `${i.name} ${fmt(i.memoryMb / 1024)} GB × ${fmt(i.seconds)} s`).join(' + ')}` +
      ` = ${fmt(gbSeconds)} GB-s × ${fmt(MILLION)} × $${prices.lambdaPerGbSecond}` +
      ` + ${invocations} × $${fmt(prices.lambdaPerMillionInvocations)}`,
    gbSeconds * MILLION * prices.lambdaPerGbSecond + invocations * prices.lambdaPerMillionInvocations,
  );
  line(
    'DynamoDB',
    `${fmt(usage.dynamoWriteUnits)} write units × $${fmt(prices.dynamoPerMillionWriteUnits)}` +
      ` + ${fmt(usage.dynamoReadUnits)} read units × $${fmt(prices.dynamoPerMillionReadUnits)}`,
    usage.dynamoWriteUnits * prices.dynamoPerMillionWriteUnits +
      usage.dynamoReadUnits * prices.dynamoPerMillionReadUnits,
  );
  line(
    'SQS',
    `${fmt(usage.sqsRequests)} requests × $${fmt(prices.sqsPerMillionRequests)}`,
    usage.sqsRequests * prices.sqsPerMillionRequests,
  );
  const logGb = (usage.logBytes * MILLION) / GB;
  line(
    'CloudWatch Logs',
    `${fmt(usage.logBytes)} bytes × ${fmt(MILLION)} = ${fmt(logGb)} GB × $${fmt(prices.logsPerGb)}`,
    logGb * prices.logsPerGb,
  );
  line(
    'X-Ray',
    `${fmt(usage.tracedShare * 100)} % traced × $${fmt(prices.xrayPerMillionTraces)}`,
    usage.tracedShare * prices.xrayPerMillionTraces,
  );
  return { lines, total: lines.reduce((s, l) => s + l.dollars, 0) };
}

/** The cost as text: one line per item, then the total. */
export function describeCost(cost: Cost): string[] {
  return [
    ...cost.lines.map((l) => `${l.item}: ${l.working} = $${l.dollars.toFixed(2)}`),
    `total $${cost.total.toFixed(2)} per million`,
  ];
}

/** A number as the working shows it: at most 3 decimals, no trailing zeros. */
function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(Number(n.toFixed(3)));
}
