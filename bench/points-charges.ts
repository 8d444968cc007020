/**
 * Counts what RIQ's points budget answered in this process: the points it charged and its
 * refusals by reason (`no_points`). The local stack runs the workers in this process, so wrapping
 * `DynamoPointsBudget.prototype.charge` once sees every charge, as bench/aws-calls.ts sees every
 * SDK request. Benchmark-only code: nothing in the product imports it.
 */
import { DynamoPointsBudget } from '../lambdas/adapters/dynamodb/dynamo-points-budget.js';

export interface PointsCharges {
  /** Charges granted, whatever they charged (0 while the budget is off). */
  granted: number;
  /** Points the granted charges took. */
  charged: number;
  /** Refusals by their reason. */
  refused: Record<string, number>;
}

const counted: PointsCharges = { granted: 0, charged: 0, refused: {} };
let installed = false;

/** Starts counting (idempotent); answers the live counts. */
export function countPointsCharges(): Readonly<PointsCharges> {
  if (installed) return counted;
  installed = true;
  const charge = DynamoPointsBudget.prototype.charge;
  DynamoPointsBudget.prototype.charge = async function (this: DynamoPointsBudget, ...args) {
    const decision = await charge.apply(this, args);
    if (decision.granted) {
      counted.granted++;
      counted.charged += decision.charged;
    } else {
      counted.refused[decision.reason] = (counted.refused[decision.reason] ?? 0) + 1;
    }
    return decision;
  };
  return counted;
}
