/**
 * The simulated Atlassian (local/atlassian-sim/) of one test file: `useAtlassianSimulator()` at the
 * top of the file starts it before the file's tests, stops it after them, and before each test
 * clears its faults, turns every behaviour off, renews its credentials and resets its data and
 * counters. What it returns reaches the running simulator and builds clients against it.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { basicAuthProvider } from '../../lambdas/adapters/atlassian/credentials.js';
import { AtlassianHttpClient } from '../../lambdas/adapters/atlassian/http-client.js';
import {
  AtlassianExecutor,
  type AtlassianExecutorOptions,
} from '../../lambdas/adapters/atlassian/operation-executor.js';
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import type { ConfluenceState } from '../../local/atlassian-sim/confluence-state.js';
import { startAtlassianSimulator, type AtlassianSimulator } from '../../local/atlassian-sim/server.js';

/** The API-token credentials the simulator accepts. */
export const SIM_CREDENTIALS = { email: 'riq@example.com', apiToken: 'sim-token-7f3a' } as const;

/** An answer of the simulator to a raw request. */
export interface SimAnswer {
  /** 0 when the connection was dropped without an answer. */
  status: number;
  headers: Headers;
  /** The JSON body; `{}` when there is none. */
  body: Record<string, unknown>;
}

/** The body of Jira's 400 to a create in a project that does not exist. */
export const UNKNOWN_PROJECT = { errorMessages: [], errors: { project: 'valid project is required' } };

/** What `GET /__sim/stats` counts right after `control.reset()`: nothing. */
export const STATS_AFTER_RESET = {
  calls: [],
  created: { issues: 0, comments: 0, pages: 0 },
  rate_limited: 0,
  endpoints: {},
  errors_injected: 0,
  timeouts_injected: 0,
  dropped_after_commit: 0,
  answered_after_commit: 0,
  outage_rejected: 0,
  rate_limited_by_reason: {},
  points_quota: null,
} as const;

export interface SimClientOptions {
  /** @default 2_000 */
  timeoutMs?: number;
  /** Another API token, with the simulator's email. */
  apiToken?: string;
  /** Another base URL than the simulator's (`/wiki` for Confluence). */
  baseUrl?: string;
}

export interface AtlassianSimFixture {
  /** The running simulator, for tests that look inside. */
  readonly simulator: AtlassianSimulator;
  /** The Jira base URL; Confluence is under `${url}/wiki`. */
  readonly url: string;
  readonly confluence: ConfluenceState;
  readonly control: SimulatorControl;
  readonly credentials: typeof SIM_CREDENTIALS;
  /** `Basic base64(email:apiToken)`, computed here, not by the code under test. */
  readonly authHeader: string;
  /** An HTTP client for Jira or Confluence with the simulator's Basic credentials. */
  client(service: 'jira' | 'confluence', options?: SimClientOptions): AtlassianHttpClient;
  /** An executor over both services with the simulator's credentials (timeout 2 s unless given). */
  executor(options?: Partial<AtlassianExecutorOptions>): AtlassianExecutor;
  /**
   * A raw request, with the simulator's Basic credentials unless `headers` are given; a string body
   * is sent as it is. Gives up after 2 s.
   */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<SimAnswer>;
}

export interface AtlassianSimFixtureOptions {
  /** Seed of the simulator's PRNG. @default random */
  randomSeed?: number;
}

export function useAtlassianSimulator(options: AtlassianSimFixtureOptions = {}): AtlassianSimFixture {
  let running: { simulator: AtlassianSimulator; control: SimulatorControl } | undefined;
  const started = () => {
    if (!running) throw new Error('the simulator runs from beforeAll to afterAll of the file');
    return running;
  };

  beforeAll(async () => {
    const simulator = await startAtlassianSimulator({ port: 0, ...SIM_CREDENTIALS, ...options });
    running = { simulator, control: new SimulatorControl(simulator.url) };
  });

  afterAll(async () => {
    await running?.simulator.stop();
    running = undefined;
  });

  beforeEach(async () => {
    const { control } = started();
    await control.clearFaults();
    await control.quiet();
    await control.renewAuth();
    await control.reset();
  });

  const authHeader = `Basic ${Buffer.from(`${SIM_CREDENTIALS.email}:${SIM_CREDENTIALS.apiToken}`).toString('base64')}`;

  return {
    get simulator() {
      return started().simulator;
    },
    get url() {
      return started().simulator.url;
    },
    get confluence() {
      return started().simulator.confluence;
    },
    get control() {
      return started().control;
    },
    credentials: SIM_CREDENTIALS,
    authHeader,

    client(service, { timeoutMs = 2_000, apiToken, baseUrl } = {}) {
      const url = started().simulator.url;
      return new AtlassianHttpClient({
        baseUrl: baseUrl ?? (service === 'jira' ? url : `${url}/wiki`),
        auth: basicAuthProvider({
          email: SIM_CREDENTIALS.email,
          apiToken: apiToken ?? SIM_CREDENTIALS.apiToken,
        }),
        timeoutMs,
        service,
      });
    },

    executor(overrides = {}) {
      return new AtlassianExecutor({
        jiraBaseUrl: started().simulator.url,
        auth: SIM_CREDENTIALS,
        timeoutMs: 2_000,
        ...overrides,
      });
    },

    async call(method, path, body, headers = { Authorization: authHeader }) {
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${started().simulator.url}${path}`, {
          method,
          headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(2_000),
        });
        text = await res.text();
      } catch (err) {
        if (err instanceof Error && err.name === 'TimeoutError') throw err;
        return { status: 0, headers: new Headers(), body: {} };
      }
      return {
        status: res.status,
        headers: res.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    },
  };
}
