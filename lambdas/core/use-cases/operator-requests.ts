/**
 * The operator's view of requests in flight (any owner's):
 *   GET /api/queue/requests?status=&operation=&service=&limit=&cursor=   a page of summaries
 *   GET /api/queue/requests/{token}                                       one request and its timeline
 *
 * The listing reads the sparse by-status index only (its projection holds every field a summary
 * shows), so it can show the statuses that index holds: `processing`, `queued`, `waiting`, `dead`.
 * Each status is listed oldest first; without `status`, the four one after another in that order,
 * the cursor carrying where the page stopped. Neither route shows a payload or a result.
 */
import {
  LISTED_STATUSES,
  type ListedStatus,
  type OperatorRequestView,
  type RequestSummary,
  type RequestSummaryPage,
} from '../../../model/api-views.js';
import { SERVICES, type Service } from '../../../model/config/riq-config.js';
import type { ErrorBody } from '../../../model/errors.js';
import { NotFoundError, RiqError, ValidationError } from '../../../model/errors.js';
import { OPERATIONS, type OperationName } from '../../../model/operations.js';
import { onlyQueryParameters } from '../../../model/query-parameters.js';
import type { RequestRecord } from '../../../model/request-record.js';
import { didYouMean } from '../../../model/suggest.js';
import type { PageKey, RequestStore, SummaryRecord } from '../ports/index.js';
import { isRequestToken } from '../domain/tokens.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decodeCursor, encodeCursor } from './dead-letters.js';

export interface OperatorRequestDeps {
  store: Pick<RequestStore, 'listSummaries' | 'get'>;
}

export interface RequestListQuery {
  /** The statuses to list, in order; the page starts at the first. */
  statuses: readonly ListedStatus[];
  limit: number;
  service?: Service;
  operation?: OperationName;
  /** Where the previous page stopped in `statuses[0]`. */
  startKey?: PageKey;
}

const LIST_PARAMS = ['status', 'operation', 'service', 'limit', 'cursor'];

/** Validates the listing's query; anything wrong is a 400 naming the parameter. */
export function parseRequestListQuery(
  params: Readonly<Record<string, string | undefined>> | null,
): RequestListQuery {
  const query = params ?? {};
  onlyQueryParameters(query, LIST_PARAMS);
  const { status, operation, service, limit, cursor } = query;
  let statuses: readonly ListedStatus[] = LISTED_STATUSES;
  if (status !== undefined) statuses = [parseStatus(status)];
  const out: RequestListQuery = { statuses, limit: DEFAULT_PAGE_SIZE };
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE_SIZE)
      throw ValidationError.forField('limit', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    out.limit = Number(limit);
  }
  if (service !== undefined) {
    if (!(SERVICES as readonly string[]).includes(service))
      throw ValidationError.forField(
        'service',
        `must be one of ${SERVICES.join(', ')}${didYouMean(service, SERVICES)}`,
      );
    out.service = service as Service;
  }
  if (operation !== undefined) {
    if (!(OPERATIONS as readonly string[]).includes(operation))
      throw ValidationError.forField(
        'operation',
        `unknown operation ${JSON.stringify(operation)}${didYouMean(operation, OPERATIONS)}`,
      );
    out.operation = operation as OperationName;
  }
  if (cursor !== undefined) {
    const at = decodeListCursor(cursor);
    // A cursor continues the listing it came from: its status must be one this query lists.
    const from = statuses.indexOf(at.status);
    if (from < 0) throw ValidationError.forField('cursor', 'is not a cursor of this listing');
    out.statuses = statuses.slice(from);
    if (at.key !== undefined) out.startKey = at.key;
  }
  return out;
}

function parseStatus(value: string): ListedStatus {
  if ((LISTED_STATUSES as readonly string[]).includes(value)) return value as ListedStatus;
  throw new RiqError(
    'INVALID_STATUS',
    `status ${JSON.stringify(value)} cannot be listed; use one of ${LISTED_STATUSES.join(', ')}` +
      ' (completed, failed and cached requests are read by token)',
    { field: 'status', received: value, accepted: [...LISTED_STATUSES] },
  );
}

/** The listing's cursor: the status it stopped in and the index key there (none: its start). */
interface ListCursor {
  status: ListedStatus;
  key?: PageKey;
}

function encodeListCursor(at: ListCursor): string {
  return encodeCursor({ s: at.status, ...(at.key ? { k: encodeCursor(at.key) } : {}) });
}

function decodeListCursor(cursor: string): ListCursor {
  const outer = decodeCursor(cursor);
  const { s, k, ...rest } = outer;
  if (
    Object.keys(rest).length > 0 ||
    typeof s !== 'string' ||
    !(LISTED_STATUSES as readonly string[]).includes(s) ||
    (k !== undefined && typeof k !== 'string')
  )
    throw ValidationError.forField('cursor', 'is not a cursor this API returned');
  return { status: s as ListedStatus, ...(typeof k === 'string' ? { key: decodeCursor(k) } : {}) };
}

/** A page of summaries: the statuses in order, each oldest first, reading on until the page is full. */
export async function listRequests(
  deps: OperatorRequestDeps,
  query: RequestListQuery,
): Promise<RequestSummaryPage> {
  const requests: RequestSummary[] = [];
  let startKey = query.startKey;
  for (let i = 0; i < query.statuses.length; i++) {
    const status = query.statuses[i]!;
    const page = await deps.store.listSummaries(status, {
      limit: query.limit - requests.length,
      ...(query.service ? { service: query.service } : {}),
      ...(query.operation ? { operation: query.operation } : {}),
      ...(startKey ? { startKey } : {}),
    });
    requests.push(...page.records.map((r) => summaryOf(r, status)));
    startKey = undefined;
    if (page.nextKey) return { requests, next_cursor: encodeListCursor({ status, key: page.nextKey }) };
    const next = query.statuses[i + 1];
    if (requests.length >= query.limit) {
      return next === undefined
        ? { requests }
        : { requests, next_cursor: encodeListCursor({ status: next }) };
    }
  }
  return { requests };
}

function lastErrorOf(r: Pick<RequestRecord, 'error' | 'last_error'>): ErrorBody | undefined {
  return r.error ?? r.last_error ?? undefined;
}

function summaryOf(r: SummaryRecord, status: ListedStatus): RequestSummary {
  const lastError = lastErrorOf(r);
  return {
    token: r.token,
    status,
    service: r.service,
    operation: r.operation,
    priority: r.priority,
    attempts: r.attempts,
    created_at: r.created_at,
    updated_at: r.updated_at,
    ...(lastError ? { last_error: lastError } : {}),
  };
}

/** Any request by token, whoever owns it; an unknown or malformed token is a 404. */
export async function getRequestView(deps: OperatorRequestDeps, token: string): Promise<OperatorRequestView> {
  const record = isRequestToken(token) ? await deps.store.get(token) : undefined;
  if (!record) throw new NotFoundError(`no request ${token.slice(0, 128)}`, { field: 'token' });
  const lastError = lastErrorOf(record);
  return {
    token: record.token,
    status: record.status,
    service: record.service,
    operation: record.operation,
    priority: record.priority,
    owner: record.owner,
    routing_path: record.routing_path,
    attempts: record.attempts,
    created_at: record.created_at,
    updated_at: record.updated_at,
    ...(record.completed_at !== undefined ? { completed_at: record.completed_at } : {}),
    ...(record.depends_on?.length ? { depends_on: record.depends_on } : {}),
    ...(record.status === 'waiting' && record.waiting_on?.length ? { waiting_on: record.waiting_on } : {}),
    ...(record.deferred_reason !== undefined ? { deferred_reason: record.deferred_reason } : {}),
    ...(record.deferred_until !== undefined ? { deferred_until: record.deferred_until } : {}),
    ...(lastError ? { last_error: lastError } : {}),
    timeline: record.timeline ?? [],
  };
}
