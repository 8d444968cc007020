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
  setup: string;
}
