/**
 * What `riq submit` checks before it sends anything: the operation is one of the ten, and the
 * payload names only that operation's fields. A slip gets the nearest name (exit 2) instead of a
 * round trip to the API for a VALIDATION_ERROR. The rest of the payload's shape (types, formats,
 * required fields) is the API's to judge, so the answer stays the same whatever the CLI's version.
 */
import { payloadFields } from '../../model/operation-catalog.js';
import { isOperationName, OPERATIONS, type OperationName } from '../../model/operations.js';
import { suggest, UsageError } from './args.js';

/** `name` as an operation; else a usage error of `command` with the nearest operation. */
export function checkOperation(name: string, command = 'submit'): OperationName {
  if (isOperationName(name)) return name;
  const hint = suggest(name, OPERATIONS) || "; run 'riq operations' for the ten operations and their fields";
  throw new UsageError(`unknown operation '${name}'${hint}`, command);
}

/** Refuses the first field of an object payload that `operation` does not have. */
export function checkPayloadFields(operation: OperationName, payload: unknown): void {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return;
  const known = payloadFields(operation).map((f) => f.name);
  const unknown = Object.keys(payload).find((key) => !known.includes(key));
  if (unknown === undefined) return;
  const hint = suggest(unknown, known) || `; its fields: ${known.join(', ')}`;
  throw new UsageError(`unknown field '${unknown}' in the payload of ${operation}${hint}`, 'submit');
}
