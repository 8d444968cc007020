/**
 * An OperationExecutor that makes the worker's external call idempotent with Powertools
 * idempotency, keyed on the request token only (DESIGN invariant 2, "done once").
 *
 * The gap it closes: the call to Atlassian succeeded, but the worker died (or lost its lease)
 * before `RequestStore.complete` stored the outcome. The next attempt — another delivery, another
 * worker, a different attempt number — gets the saved result back and Atlassian is not called
 * again. A call that throws leaves no record (Powertools deletes it), so the retry calls again.
 *
 * Records live in the requests table under their own key prefix (`CALL#<hash of the token>`); they
 * expire with the retention through the table's TTL attribute, and keep their status in
 * `call_status`, apart from the requests' `status`; they carry no `listed_status`, so they never
 * appear in the by-status index.
 *
 * A record left INPROGRESS by a crash expires with the invocation that wrote it (the Lambda's
 * remaining time, see `registerLambdaContext`). No other worker can claim the request before then:
 * the in-progress expiry is at most the call's start + the worker timeout, the call starts after the
 * claim, and the claim lease is the worker timeout + 10 s (model/config/resources.ts
 * claimLeaseSeconds). So a later attempt finds the record either COMPLETED (the saved result is
 * returned), gone (the call threw) or expired (the call's outcome is unknown: the call is made
 * again, and the Atlassian adapters reconcile a create on attempts > 1).
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { REQUESTS_TABLE } from '../../../model/config/resources.js';
import { CallNotMadeError, UpstreamError } from '../../../model/errors.js';
import { isWrite, type OperationName } from '../../../model/operations.js';
import type { CallContext, OperationExecutor } from '../../core/ports/index.js';

/** The attributes of a saved call besides the key and the table's TTL attribute. */
export const CALL_RECORD_ATTRIBUTES = {
  /** Not `status`, the requests' field: a call record is no request. */
  status: 'call_status',
  result: 'call_result',
  /** Epoch ms after which an INPROGRESS record no longer blocks a new call. */
  inProgressExpiry: 'call_in_progress_expiry',
} as const;

/** Powertools hashes the selected key (md5, base64 of its JSON) and prefixes it. */
export function callRecordKey(token: string): string {
  return `${REQUESTS_TABLE.callKeyPrefix}#${createHash('md5').update(JSON.stringify(token)).digest('base64')}`;
}

export interface IdempotentExecutorOptions {
  /** The plain DynamoDB client (not the document client). */
  client: DynamoDBClient;
  tableName: string;
  /** How long a saved result is kept: the records' retention (retentionDays · 86 400). */
  retentionSeconds: number;
  /**
   * The worker's timeout. Bounds an in-progress record's life when no Lambda context was
   * registered, and is how long a call that meets another in-progress call waits before retrying.
   */
  callTimeoutSeconds: number;
  /**
   * Which operations go through the idempotency layer. Default: writes only — reads have no side
   * effect to protect, and saving them would cost two writes and a copy of every read result.
   */
  protects?: (operation: OperationName) => boolean;
  /** Told when the layer failed around a call whose own outcome is still returned or thrown. */
  warn?: (message: string, details: Record<string, unknown>) => void;
}

/** The idempotent function's first argument: the only thing hashed into the key. */
interface CallKey {
  token: string;
}

/** What the inner executor did; kept so a failure of the layer itself does not hide it. */
type CallOutcome = { kind: 'returned'; result: unknown } | { kind: 'threw'; error: unknown };

interface Call {
  operation: OperationName;
  payload: Record<string, unknown>;
  context: CallContext;
  outcome?: CallOutcome;
}

export class IdempotentExecutor implements OperationExecutor {
  readonly #config: IdempotencyConfig;
  readonly #call: (key: CallKey, call: Call) => Promise<unknown>;
  readonly #protects: (operation: OperationName) => boolean;
  readonly #retryAfterSeconds: number;
  readonly #warn: (message: string, details: Record<string, unknown>) => void;

  constructor(
    private readonly inner: OperationExecutor,
    options: IdempotentExecutorOptions,
  ) {
    this.#protects = options.protects ?? isWrite;
    this.#retryAfterSeconds = options.callTimeoutSeconds;
    this.#warn = options.warn ?? (() => undefined);
    this.#config = new IdempotencyConfig({
      eventKeyJmesPath: 'token',
      // A call without a token must fail, never silently skip idempotency.
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: options.retentionSeconds,
    });
    // Until a Lambda context is registered, an in-progress record lives one worker timeout.
    this.registerLambdaContext({ getRemainingTimeInMillis: () => options.callTimeoutSeconds * 1000 });
    const persistenceStore = new DynamoDBPersistenceLayer({
      tableName: options.tableName,
      awsSdkV3Client: options.client,
      keyAttr: REQUESTS_TABLE.partitionKey,
      expiryAttr: REQUESTS_TABLE.ttlAttribute,
      statusAttr: CALL_RECORD_ATTRIBUTES.status,
      dataAttr: CALL_RECORD_ATTRIBUTES.result,
      inProgressExpiryAttr: CALL_RECORD_ATTRIBUTES.inProgressExpiry,
    });
    this.#call = makeIdempotent(
      async (_key: CallKey, call: Call): Promise<unknown> => {
        try {
          // Saved and returned as JSON (what the record and the API keep anyway), so a replay
          // returns exactly what the first call returned, and `undefined` fields cannot fail the save.
          const result = asJson(await this.inner.execute(call.operation, call.payload, call.context));
          call.outcome = { kind: 'returned', result };
          return result;
        } catch (error) {
          call.outcome = { kind: 'threw', error };
          throw error;
        }
      },
      {
        persistenceStore,
        config: this.#config,
        keyPrefix: REQUESTS_TABLE.callKeyPrefix,
        dataIndexArgument: 0,
      },
    );
  }

  /**
   * Call once per invocation (the worker handler does): an in-progress record then expires when
   * this invocation can no longer be running. Invocations handled one after another in a container
   * share the config, so the last registered context is the current one. (The local stack runs
   * invocations side by side in one module: a call may then take another invocation's remaining
   * time, which is still at most the worker timeout, so the bound above holds.)
   */
  registerLambdaContext(context: Pick<Context, 'getRemainingTimeInMillis'>): void {
    this.#config.registerLambdaContext(context as Context);
  }

  async execute(
    operation: OperationName,
    payload: Record<string, unknown>,
    context: CallContext,
  ): Promise<unknown> {
    if (!this.#protects(operation)) return this.inner.execute(operation, payload, context);
    // The attempt number is passed to the inner executor (it reconciles retries) but not hashed.
    const call: Call = { operation, payload, context };
    try {
      return await this.#call({ token: context.token }, call);
    } catch (err) {
      return this.#settleLayerError(err, call);
    }
  }

  #settleLayerError(err: unknown, call: Call): unknown {
    const { outcome } = call;
    if (outcome?.kind === 'threw') {
      // The call failed; if deleting its record failed too, the record expires with the
      // invocation. Either way the caller must see the call's own error (its code decides the retry).
      if (err !== outcome.error) {
        this.#warn('idempotency record of a failed call not deleted', {
          token: call.context.token,
          error: describe(err),
        });
      }
      throw outcome.error;
    }
    if (outcome?.kind === 'returned') {
      // The call succeeded but its result was not saved: still the result. `complete` stores it;
      // only a crash before that leaves the call to be made again after the in-progress expiry.
      this.#warn('idempotency record of a successful call not saved', {
        token: call.context.token,
        error: describe(err),
      });
      return outcome.result;
    }
    if (err instanceof IdempotencyAlreadyInProgressError) {
      // Another invocation is calling for this token right now, or crashed less than one worker
      // timeout ago. Not a failure of the request: a retryable error whose retry comes after that
      // in-progress record has expired. (SERVICE_UNAVAILABLE: no status, so the rate gate ignores it.)
      throw new UpstreamError(
        'SERVICE_UNAVAILABLE',
        'an earlier call for this request is still in progress',
        { reason: 'call_in_progress', retryAfterSeconds: this.#retryAfterSeconds },
        { cause: err },
      );
    }
    // The layer failed before the call was made (e.g. DynamoDB throttled its in-progress write).
    throw new CallNotMadeError('the call record could not be written; nothing was called', { cause: err });
  }
}

function asJson(value: unknown): unknown {
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
