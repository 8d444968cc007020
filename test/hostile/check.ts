/**
 * Hostile input, the checking half: sends one request to a running stack byte for byte (node:http,
 * so paths, headers and bodies go out exactly as generated), classifies the answer, and checks that
 * rejected input wrote nothing (no table item, no queue message) by comparing snapshots of the
 * stack's table and queues around each batch.
 *
 * The property: never a 5xx; every 4xx carries RIQ's error body `{"error": {code, message,
 * retryable, details?}}` with a known code whose status and `retryable` match `ERROR_CODES`, or is
 * one of the HTTP API's own 4xx answers (`HTTP_API_ANSWERS`: a body over its payload limit), which
 * no function sees; a rejected request changes nothing. An accepted (2xx) request is fine: hostile text can be valid.
 */
import { request as httpRequest } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { queueDepthAt, totalMessages } from '../../lambdas/adapters/sqs/sqs-work-queue.js';
import { ERROR_CODES, type ErrorCode } from '../../model/errors.js';
import { HTTP_API_ANSWERS } from '../../model/config/routes.js';
import type { StackInfo } from '../../local/ready-line.js';
import { localDynamo, localSqs } from '../support/aws-local.js';

export interface HostileRequest {
  /** What the request tries (corpus entries); generated ones are named by their shape. */
  name: string;
  method: string;
  /** Path and query string, sent as they are (already percent-encoded where needed). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface Answer {
  status: number;
  text: string;
  contentType: string;
}

export type Verdict =
  | { kind: 'accepted'; status: number }
  | { kind: 'rejected'; status: number; code: ErrorCode }
  | { kind: 'violation'; status: number; problem: string };

export interface Outcome {
  request: HostileRequest;
  answer: Answer;
  verdict: Verdict;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** Sends the request as given: no normalisation of the path, no added headers but Host/length. */
export function send(baseUrl: string, req: HostileRequest): Promise<Answer> {
  const base = new URL(baseUrl);
  const body =
    req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  return new Promise<Answer>((ok, fail) => {
    const out = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...req.headers },
        timeout: REQUEST_TIMEOUT_MS,
        // A fresh connection each time: a server that answers before reading a body closes it.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            contentType: String(res.headers['content-type'] ?? ''),
          }),
        );
        res.on('error', fail);
      },
    );
    out.on('timeout', () => out.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    out.on('error', fail);
    out.end(body);
  });
}

/** What the property says of one answer. */
export function classify(answer: Answer): Verdict {
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'accepted', status };
  if (status < 400 || status >= 500) return { kind: 'violation', status, problem: `status ${status}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    return { kind: 'violation', status, problem: 'the error body is not JSON' };
  }
  const gateway = gatewayAnswer(parsed, status);
  if (gateway) return { kind: 'rejected', status, code: gateway };
  const problem = errorBodyProblem(parsed, status);
  if (problem) return { kind: 'violation', status, problem };
  return { kind: 'rejected', status, code: (parsed as { error: { code: ErrorCode } }).error.code };
}

/** The RIQ code matching the HTTP API's own 4xx answers, by status. */
const GATEWAY_CODES: Readonly<Record<number, ErrorCode>> = {
  [HTTP_API_ANSWERS.tooLarge.status]: 'PAYLOAD_TOO_LARGE',
  [HTTP_API_ANSWERS.forbidden.status]: 'PERMISSION_DENIED',
  [HTTP_API_ANSWERS.throttled.status]: 'RATE_LIMITED',
};

/** The RIQ code of an answer that is exactly one of the HTTP API's own 4xx answers, else undefined. */
function gatewayAnswer(body: unknown, status: number): ErrorCode | undefined {
  const own = Object.values(HTTP_API_ANSWERS).find((a) => a.status === status && status < 500);
  if (!own || !isObject(body) || Object.keys(body).length !== 1 || body['message'] !== own.message) {
    return undefined;
  }
  return GATEWAY_CODES[status];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why a 4xx body is not RIQ's error body, or undefined when it is. */
export function errorBodyProblem(body: unknown, status: number): string | undefined {
  if (!isObject(body) || !isObject(body['error'])) return 'no `error` object in the body';
  const extra = Object.keys(body).filter((k) => k !== 'error');
  if (extra.length > 0) return `unexpected top-level fields ${extra.join(', ')}`;
  const { code, message, retryable, details } = body['error'];
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_CODES, code)) return `unknown code ${String(code)}`;
  const known = ERROR_CODES[code as ErrorCode];
  if (known.httpStatus !== status) return `code ${code} with status ${status} (expected ${known.httpStatus})`;
  if (typeof message !== 'string' || message.length === 0) return 'message is not a non-empty string';
  if (retryable !== known.retryable) return `retryable ${String(retryable)} for ${code}`;
  if (details !== undefined && !isObject(details)) return 'details is not an object';
  if (code === 'VALIDATION_ERROR' && (!isObject(details) || typeof details['field'] !== 'string'))
    return 'VALIDATION_ERROR without details.field';
  const unknownKeys = Object.keys(body['error']).filter(
    (k) => !['code', 'message', 'retryable', 'details'].includes(k),
  );
  if (unknownKeys.length > 0) return `unexpected error fields ${unknownKeys.join(', ')}`;
  return undefined;
}

export async function sendAndClassify(baseUrl: string, req: HostileRequest): Promise<Outcome> {
  try {
    const answer = await send(baseUrl, req);
    return { request: req, answer, verdict: classify(answer) };
  } catch (err) {
    const answer = { status: 0, text: String(err), contentType: '' };
    return {
      request: req,
      answer,
      verdict: { kind: 'violation', status: 0, problem: `no answer: ${String(err)}` },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Nothing written
// ---------------------------------------------------------------------------------------------

/** Every table item and every message (visible, in flight, delayed) of each work and dead-letter queue. */
export interface Snapshot {
  items: number;
  messages: Record<string, number>;
}

export type StackEndpoints = Pick<
  StackInfo,
  'dynamoEndpoint' | 'sqsEndpoint' | 'tableName' | 'queueUrls' | 'deadLetterQueueUrls'
>;

export class StackWatcher {
  private readonly dynamo;
  private readonly sqs;
  private readonly urls: string[];

  constructor(private readonly stack: StackEndpoints) {
    this.dynamo = localDynamo(stack.dynamoEndpoint);
    this.sqs = localSqs(stack.sqsEndpoint);
    this.urls = [...Object.values(stack.queueUrls), ...Object.values(stack.deadLetterQueueUrls)];
  }

  async snapshot(): Promise<Snapshot> {
    const [items, counts] = await Promise.all([
      this.itemCount(),
      Promise.all(this.urls.map((url) => this.messageCount(url))),
    ]);
    return { items, messages: Object.fromEntries(this.urls.map((u, i) => [u, counts[i] ?? 0])) };
  }

  /** Waits until two snapshots `intervalMs` apart agree (work of earlier requests has landed). */
  async settle(timeoutMs = 15_000, intervalMs = 250): Promise<Snapshot> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.snapshot();
    for (;;) {
      await new Promise((ok) => setTimeout(ok, intervalMs));
      const next = await this.snapshot();
      if (sameSnapshot(last, next) || Date.now() >= deadline) return next;
      last = next;
    }
  }

  destroy(): void {
    this.dynamo.client.destroy();
    this.sqs.destroy();
  }

  private async itemCount(): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.dynamo.doc.send(
        new ScanCommand({
          TableName: this.stack.tableName,
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return count;
  }

  private async messageCount(url: string): Promise<number> {
    return totalMessages(await queueDepthAt(this.sqs, url));
  }
}

export function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return a.items === b.items && Object.keys(a.messages).every((u) => a.messages[u] === b.messages[u]);
}

export function describeChange(a: Snapshot, b: Snapshot): string {
  const parts: string[] = [];
  if (a.items !== b.items) parts.push(`table items ${a.items} → ${b.items}`);
  for (const u of Object.keys(a.messages)) {
    if (a.messages[u] !== b.messages[u])
      parts.push(`${u.split('/').pop()} messages ${a.messages[u]} → ${b.messages[u]}`);
  }
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------
// Running a list of requests
// ---------------------------------------------------------------------------------------------

export interface RunReport {
  outcomes: Outcome[];
  violations: Array<{ request: HostileRequest; status: number; problem: string; answer: string }>;
  /** Batches whose rejected requests were checked for writes. */
  checkedBatches: number;
  /** Batches left unchecked because one of their requests was accepted and may write. */
  uncheckedBatches: number;
  /** Changes no single request reproduced (work of earlier requests landing). */
  notes: string[];
}

/** A request that was accepted with anything but a GET may write: its batch is not checked. */
function mayWrite(o: Outcome): boolean {
  return o.verdict.kind === 'accepted' && o.request.method.toUpperCase() !== 'GET';
}

/**
 * Sends the requests one after another in batches; snapshots the stack around each batch. A batch
 * with a change and no accepted write is re-run one request at a time to name the culprit.
 */
export async function runHostile(
  baseUrl: string,
  watcher: StackWatcher,
  requests: readonly HostileRequest[],
  options: { batchSize?: number; onProgress?: (done: number) => void } = {},
): Promise<RunReport> {
  const batchSize = options.batchSize ?? 8;
  const report: RunReport = {
    outcomes: [],
    violations: [],
    checkedBatches: 0,
    uncheckedBatches: 0,
    notes: [],
  };
  const violate = (o: Outcome, problem: string) =>
    report.violations.push({
      request: o.request,
      status: o.answer.status,
      problem,
      answer: o.answer.text.slice(0, 300),
    });

  let before = await watcher.settle();
  for (let i = 0; i < requests.length; i += batchSize) {
    const batch = requests.slice(i, i + batchSize);
    const outcomes: Outcome[] = [];
    for (const req of batch) outcomes.push(await sendAndClassify(baseUrl, req));
    report.outcomes.push(...outcomes);
    for (const o of outcomes) if (o.verdict.kind === 'violation') violate(o, o.verdict.problem);

    if (outcomes.some(mayWrite)) {
      report.uncheckedBatches++;
      before = await watcher.settle();
    } else {
      report.checkedBatches++;
      const after = await watcher.snapshot();
      if (!sameSnapshot(before, after)) {
        // Bisect: each request alone, from a settled stack, twice before it is blamed (work left
        // by earlier tests on a shared stack may land at any moment).
        let named = false;
        for (const req of batch) {
          const changes: string[] = [];
          for (let attempt = 0; attempt < 2 && changes.length === attempt; attempt++) {
            const single = await watcher.settle();
            const o = await sendAndClassify(baseUrl, req);
            const afterSingle = await watcher.snapshot();
            if (!mayWrite(o) && !sameSnapshot(single, afterSingle))
              changes.push(describeChange(single, afterSingle));
            if (changes.length === 2) {
              named = true;
              violate(o, `rejected input changed the stack: ${changes.join(', then ')}`);
            }
          }
        }
        if (!named) {
          report.notes.push(
            `batch at ${i} changed the stack (${describeChange(before, after)}) but no request did so alone ` +
              'twice: background work, not counted',
          );
        }
        before = await watcher.settle();
      } else {
        before = after;
      }
    }
    options.onProgress?.(Math.min(i + batchSize, requests.length));
  }
  return report;
}

/** `status code` → count, e.g. `400 VALIDATION_ERROR: 312`. */
export function tally(outcomes: readonly Outcome[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const v = o.verdict;
    const key =
      v.kind === 'rejected'
        ? `${v.status} ${v.code}`
        : v.kind === 'accepted'
          ? `${v.status} accepted`
          : `${v.status} VIOLATION`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

/** A request as one line for a report: method, path, headers and the start of the body. */
export function describeRequest(req: HostileRequest, max = 300): string {
  const body =
    req.body === undefined
      ? ''
      : ` body(${Buffer.byteLength(req.body)} bytes)=${JSON.stringify(
          (Buffer.isBuffer(req.body) ? req.body.toString('latin1') : req.body).slice(0, max),
        )}`;
  const headers =
    req.headers && Object.keys(req.headers).length > 0 ? ` headers=${JSON.stringify(req.headers)}` : '';
  return `[${req.name}] ${req.method} ${req.path.slice(0, max)}${headers}${body}`;
}
