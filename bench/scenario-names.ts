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
  'cli',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** One line on each scenario, for `npm run bench -- --help`. */
export const SCENARIO_SUMMARIES: Record<ScenarioName, string> = {
  drain: '500 queued reads drained at the configured limit (10/s, burst 20); about 1 min',
  'drain-live': '300 reads submitted while the workers run, adaptive routing, limit 5/s; about 1 min',
  'unknown-limit': 'the simulator enforces half the configured rate, with X-RateLimit-NearLimit; about 2 min',
  'unknown-limit-silent': 'as unknown-limit, without X-RateLimit-NearLimit; about 2 min',
  priority: '20 high reads while 500 low drain: their latency against the service time',
  outage: '4 requests/s for 100 s with a 60 s outage: calls to the dead service, recovery time',
  burst: "500 reads at once with the seed's bucket (100/min, burst 50): DIRECT against QUEUED",
  cost: 'AWS requests and log bytes per RIQ request, priced (docs/runbook.md)',
  quota: "a compressed hour against Atlassian's points quota (2,000 points per 60 s)",
  'api-token': "the quota backlog on an API-token connection: the rate limit's pace, no points",
  coldstart: 'cold start of the bundled functions (init duration, bundle size)',
  cli: 'start-up of the compiled riq command (riq --help), against tsx and a bare node',
};

export interface ScenarioResult {
  scenario: ScenarioName;
  figures: Record<string, number | string>;
  target: string;
  met: boolean;
  /** One verdict per goal, when the scenario has several: printed instead of `target` and `met`. */
  verdicts?: Array<{ target: string; met: boolean }>;
  setup: string;
  /** The run's chart (calls per second, queue depth, 429s), relative to the repository. */
  chart?: string;
}
