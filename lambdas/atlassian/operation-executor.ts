/**
 * The worker's OperationExecutor for Atlassian: validates the stored payload again (it is typed from
 * here on) and dispatches to the Jira or Confluence adapter. Operations not built yet answer
 * NOT_IMPLEMENTED.
 */
import { RiqError } from '../core/errors.js';
import { parsePayload, type OperationName, type OperationPayload } from '../core/operations.js';
import type { OperationExecutor } from '../core/ports.js';
import { basicAuthProvider, type ApiTokenCredentials } from './credentials.js';
import { AtlassianHttpClient, type AuthHeaderProvider } from './http-client.js';
import { JiraAdapter } from './jira-adapter.js';

export interface AtlassianExecutorOptions {
  /** Jira site URL, e.g. `https://example.atlassian.net`. */
  readonly jiraBaseUrl: string;
  /** Confluence base including `/wiki`. @default `${jiraBaseUrl}/wiki` */
  readonly confluenceBaseUrl?: string;
  /** API-token credentials, or a provider of the Authorization header (e.g. from Secrets Manager). */
  readonly auth: ApiTokenCredentials | AuthHeaderProvider;
  /** Per-call timeout in milliseconds. */
  readonly timeoutMs: number;
  /** @default 'Task' */
  readonly defaultIssueType?: string;
}

type Handlers = { [O in OperationName]?: (payload: OperationPayload<O>) => Promise<unknown> };

export class AtlassianExecutor implements OperationExecutor {
  readonly jira: JiraAdapter;
  /** For the Confluence adapter (built next); constructed now so a bad URL fails at cold start. */
  readonly confluenceClient: AtlassianHttpClient;
  private readonly handlers: Handlers;

  constructor(options: AtlassianExecutorOptions) {
    const auth = typeof options.auth === 'function' ? options.auth : basicAuthProvider(options.auth);
    const jiraClient = new AtlassianHttpClient({
      baseUrl: options.jiraBaseUrl,
      auth,
      timeoutMs: options.timeoutMs,
      service: 'jira',
    });
    this.confluenceClient = new AtlassianHttpClient({
      baseUrl: options.confluenceBaseUrl ?? `${options.jiraBaseUrl.replace(/\/+$/, '')}/wiki`,
      auth,
      timeoutMs: options.timeoutMs,
      service: 'confluence',
    });
    this.jira = new JiraAdapter(jiraClient, {
      ...(options.defaultIssueType !== undefined ? { defaultIssueType: options.defaultIssueType } : {}),
    });
    this.handlers = {
      'jira.get_task': (p) => this.jira.getTask(p),
      'jira.create_task': (p) => this.jira.createTask(p),
    };
  }

  supports(operation: OperationName): boolean {
    return this.handlers[operation] !== undefined;
  }

  async execute(
    operation: OperationName,
    payload: Record<string, unknown>,
    _context: { token: string },
  ): Promise<unknown> {
    const handler = this.handlers[operation] as ((p: unknown) => Promise<unknown>) | undefined;
    if (!handler) {
      throw new RiqError('NOT_IMPLEMENTED', `${operation} is not supported by this version of RIQ yet`, {
        operation,
      });
    }
    return handler(parsePayload(operation, payload));
  }
}
