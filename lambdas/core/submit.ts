/**
 * Submit use case: store the request (deduplicated by idempotency key), then queue it.
 * The record is written before the answer; a failed queue send leaves a `queued` record that the
 * sweeper re-enqueues (DESIGN invariant 1), so the caller's 2xx is never a lie.
 */
import type { RiqConfig } from '../../lib/config/riq-config.js';
import { queueKey } from '../../lib/config/resources.js';
import { IdempotencyConflictError, RiqError } from './errors.js';
import { fingerprint } from './fingerprint.js';
import { isWrite, serviceOf } from './operations.js';
import type { Clock, RequestStore, WorkQueue } from './ports.js';
import type { RequestRecord, RoutingPath, Status } from './request-record.js';
import type { SubmitCommand } from './submit-command.js';
import { consistencyTokenFor, newRequestToken } from './tokens.js';

export interface SubmitDeps {
  store: RequestStore;
  queue: WorkQueue;
  clock: Clock;
  config: Pick<RiqConfig, 'retentionDays'>;
  newToken?: () => string;
  /** Called when the queue send fails after the record was stored (for logs and metrics). */
  onEnqueueFailure?: (token: string, err: unknown) => void;
}

export interface SubmitResponse {
  token: string;
  status: Status;
  poll_url: string;
  routing_path: RoutingPath;
  consistency_token?: string;
  /** True when this answer is for an earlier submit with the same idempotency key. */
  duplicate?: boolean;
}

export async function submitRequest(
  deps: SubmitDeps,
  command: SubmitCommand,
  owner: string,
): Promise<SubmitResponse> {
  const now = deps.clock.now();
  const token = (deps.newToken ?? newRequestToken)();
  const service = serviceOf(command.operation);
  const record: RequestRecord = {
    token,
    owner,
    operation: command.operation,
    service,
    priority: command.priority,
    payload: command.payload,
    status: 'queued',
    routing_path: 'QUEUED',
    attempts: 0,
    created_at: new Date(now).toISOString(),
    updated_at: new Date(now).toISOString(),
    ...(command.idempotencyKey !== undefined ? { idempotency_key: command.idempotencyKey } : {}),
    ...(isWrite(command.operation) ? { consistency_token: consistencyTokenFor(token) } : {}),
  };

  const claim =
    command.idempotencyKey !== undefined
      ? {
          key: `${owner}\n${command.idempotencyKey}`,
          fingerprint: fingerprint(command.operation, command.payload),
        }
      : undefined;
  const outcome = await deps.store.insert(record, claim);
  if (outcome.kind === 'duplicate') {
    if (claim && outcome.fingerprint !== claim.fingerprint) {
      throw new IdempotencyConflictError(command.idempotencyKey ?? '', outcome.existingToken);
    }
    const existing = await deps.store.get(outcome.existingToken);
    if (!existing) {
      // The key's record was purged or expired while its key lives on: say so rather than guess.
      throw new RiqError(
        'IDEMPOTENCY_CONFLICT',
        'idempotency_key belongs to a request that no longer exists',
        {
          idempotency_key: command.idempotencyKey,
          token: outcome.existingToken,
        },
      );
    }
    return { ...responseFor(existing), duplicate: true };
  }

  try {
    await deps.queue.send(queueKey(service, command.priority), token);
  } catch (err) {
    deps.onEnqueueFailure?.(token, err);
  }
  return responseFor(record);
}

export function responseFor(record: RequestRecord): SubmitResponse {
  return {
    token: record.token,
    status: record.status,
    poll_url: `/api/queue/result/${record.token}`,
    routing_path: record.routing_path,
    ...(record.consistency_token !== undefined ? { consistency_token: record.consistency_token } : {}),
  };
}
