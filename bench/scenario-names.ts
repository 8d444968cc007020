/** The scenarios and the shape of their results, without loading the local stack. */
export const SCENARIO_NAMES = [
  'drain',
  'drain-live',
  'unknown-limit',
  'unknown-limit-silent',
  'priority',
  'outage',
  'burst',
  'cost',
  'quota',
  'api-token',
  'coldstart',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioResult {
  scenario: ScenarioName;
  figures: Record<string, number | string>;
  target: string;
  met: boolean;
  /** One verdict per goal, when the scenario has several: printed instead of `target` and `met`. */
  verdicts?: Array<{ target: string; met: boolean }>;
  setup: string;
}
