/**
 * The dead-letter lifecycle for operators (DESIGN invariant 4): list the `dead` requests, retry one
 * (back to `queued` with a full set of attempts, re-enqueued), purge one, or redrive whole
 * dead-letter queues back to their source queues.
 *
 * A retried or purged request still has its copy in the dead-letter queue; the worker ignores it
 * later (a retried request is claimed once, a purged one is missing), so neither is done twice.
 */
import type { DeadLetterEntry, DeadLetterPage } from '../../../model/api-views.js';
import { allQueueKeys, parseQueueKey, queueKey, type QueueKey } from '../../../model/config/resources.js';
import { SERVICES, type Service } from '../../../model/config/riq-config.js';
import { NotFoundError, RiqError, ValidationError, withDetails } from '../../../model/errors.js';
import type {
  Clock,
  DeadLetterChange,
  DeadLetterRedriver,
  PageKey,
  RedriveOutcome,
  RequestStore,
  WorkQueue,
} from '../ports/index.js';
import { onlyQueryParameters } from '../../../model/query-parameters.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { checkTokenSegment } from '../domain/tokens.js';

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

export interface DeadLetterDeps {
  store: Pick<RequestStore, 'listByStatus' | 'requeueDead' | 'deleteDead'>;
  queue: Pick<WorkQueue, 'send'>;
  redriver: DeadLetterRedriver;
  clock: Clock;
  /** Called when the retry's SQS send fails after the record went back to `queued`. */
  onEnqueueFailure?: (token: string, err: unknown) => void;
}

export interface DeadLetterListQuery {
  limit: number;
  service?: Service;
  startKey?: PageKey;
}

const LIST_PARAMS = ['service', 'limit', 'cursor'];

/** Validates `?service=&limit=&cursor=`; anything else is a 400 VALIDATION_ERROR. */
export function parseListQuery(
  params: Readonly<Record<string, string | undefined>> | null,
): DeadLetterListQuery {
  const query = params ?? {};
  onlyQueryParameters(query, LIST_PARAMS);
  const out: DeadLetterListQuery = { limit: DEFAULT_PAGE_SIZE };
  const { service, limit, cursor } = query;
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE_SIZE)
      throw ValidationError.forField('limit', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    out.limit = Number(limit);
  }
  if (service !== undefined) out.service = parseService(service, 'service');
  if (cursor !== undefined) out.startKey = decodeCursor(cursor);
  return out;
}

function parseService(value: unknown, field: string): Service {
  if (typeof value !== 'string' || !(SERVICES as readonly string[]).includes(value))
    throw ValidationError.forField(field, `must be one of ${SERVICES.join(', ')}`);
  return value as Service;
}

/** The page key as opaque base64url JSON. */
export function encodeCursor(key: PageKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): PageKey {
  const invalid = () => ValidationError.forField('cursor', 'is not a cursor this API returned');
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const values = Object.values(parsed);
  if (values.length === 0 || values.some((v) => typeof v !== 'string' && typeof v !== 'number'))
    throw invalid();
  return parsed as PageKey;
}

/** The redrive body: `{}` or `{"service": "jira"}` (an empty body means all services). */
export function parseRedriveBody(text: string | null): { service?: Service } {
  if (text === null || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw ValidationError.forField('body', 'malformed JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw ValidationError.forField('body', 'must be a JSON object');
  for (const name of Object.keys(parsed)) {
    if (name !== 'service') throw ValidationError.forField(name, 'unknown field; only service is allowed');
  }
  const { service } = parsed as { service?: unknown };
  return service === undefined ? {} : { service: parseService(service, 'service') };
}

function entryOf(r: RequestRecord): DeadLetterEntry {
  return {
    token: r.token,
    operation: r.operation,
    service: r.service,
    priority: r.priority,
    owner: r.owner,
    attempts: r.attempts,
    error: r.error === undefined ? null : withDetails(r.error),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export async function listDeadLetters(
  deps: Pick<DeadLetterDeps, 'store'>,
  query: DeadLetterListQuery,
): Promise<DeadLetterPage> {
  const page = await deps.store.listByStatus('dead', {
    limit: query.limit,
    ...(query.service ? { service: query.service } : {}),
    ...(query.startKey ? { startKey: query.startKey } : {}),
  });
  const dead_letters = page.records.map(entryOf);
  return {
    dead_letters,
    count: dead_letters.length,
    next_cursor: page.nextKey ? encodeCursor(page.nextKey) : null,
  };
}

function settled(change: DeadLetterChange, token: string): RequestRecord {
  if (change.kind === 'missing') throw new NotFoundError(`no request ${token}`, { field: 'token' });
  if (change.kind === 'not_dead')
    throw new RiqError('NOT_DEAD', `request ${token} is ${change.status}, not dead`, {
      token,
      status: change.status,
    });
  return change.record;
}

export interface RetryAnswer {
  token: string;
  status: 'queued';
  attempts: 0;
  queue: QueueKey;
  /** False when the send failed: the record is queued and the sweeper re-enqueues it. */
  enqueued: boolean;
}

/** `dead` → `queued` (attempts 0, error kept as last_error), then a fresh message to its queue. */
export async function retryDeadLetter(deps: DeadLetterDeps, token: string): Promise<RetryAnswer> {
  checkTokenSegment(token);
  const record = settled(await deps.store.requeueDead(token, deps.clock.now()), token);
  const queue = queueKey(record.service, record.priority);
  let enqueued = true;
  try {
    await deps.queue.send(queue, token);
  } catch (err) {
    enqueued = false;
    deps.onEnqueueFailure?.(token, err);
  }
  return { token, status: 'queued', attempts: 0, queue, enqueued };
}

/** Deletes a `dead` record; its dead-letter copy is dropped by the worker when redriven. */
export async function purgeDeadLetter(
  deps: Pick<DeadLetterDeps, 'store'>,
  token: string,
): Promise<{ token: string; purged: true }> {
  checkTokenSegment(token);
  settled(await deps.store.deleteDead(token), token);
  return { token, purged: true };
}

export interface RedriveAnswer {
  service: Service | null;
  redrives: RedriveOutcome[];
}

/** Moves every message of the dead-letter queues of `service` (or of all services) back. */
export async function redriveDeadLetters(
  deps: Pick<DeadLetterDeps, 'redriver'>,
  input: { service?: Service },
): Promise<RedriveAnswer> {
  const keys = allQueueKeys().filter((k) => !input.service || parseQueueKey(k).service === input.service);
  const redrives: RedriveOutcome[] = [];
  for (const key of keys) redrives.push(await deps.redriver.redrive(key));
  return { service: input.service ?? null, redrives };
}
