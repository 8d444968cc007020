/**
 * The worker's OperationExecutor for Atlassian: validates the stored payload again (it is typed from
 * here on) and dispatches to the Jira or Confluence adapter.
 */
import { parsePayload, type OperationName, type OperationPayload } from '../../../model/operations.js';
import type { CallContext, OperationExecutor } from '../../core/ports/index.js';
import { ConfluenceAdapter } from './confluence-adapter.js';
import { basicAuthProvider, type ApiTokenCredentials } from './credentials.js';
import {
  AtlassianHttpClient,
  observeUpstream,
  withDeadline,
  type AuthHeaderProvider,
} from './http-client.js';
import { JiraAdapter } from './jira-adapter.js';

export interface AtlassianExecutorOptions {
  /**
   * Jira REST base: the site (`https://example.atlassian.net`) or, with OAuth, the gateway route
   * `https://api.atlassian.com/ex/jira/{cloudId}` (lambdas/adapters/atlassian/connection.ts picks it).
   */
  readonly jiraBaseUrl: string;
  /** Confluence base including `/wiki`. @default `${jiraBaseUrl}/wiki` */
  readonly confluenceBaseUrl?: string;
  /** Base of Jira browser links. @default jiraBaseUrl */
  readonly siteUrl?: string;
  /** Base of Confluence browser links (including `/wiki`). @default confluenceBaseUrl */
  readonly wikiUrl?: string;
  /**
   * API-token credentials, or a provider of the Authorization header: Basic from Secrets Manager
   * (credentials.ts) or OAuth Bearer tokens (token-manager.ts).
   */
  readonly auth: ApiTokenCredentials | AuthHeaderProvider;
  /** Per-call timeout in milliseconds. */
  readonly timeoutMs: number;
  /** @default 'Task' */
  readonly defaultIssueType?: string;
  /**
   * Seconds a create whose outcome is unknown waits before it is retried (and reconciled): config
   * `upstream.reconcileWindowSeconds`. @default DEFAULT_CONFIG.upstream.reconcileWindowSeconds
   */
  readonly reconcileWindowSeconds?: number;
}

/** One handler per operation: the type makes a missing operation a compile error. */
type Handlers = {
  [O in OperationName]: (payload: OperationPayload<O>, context: CallContext) => Promise<unknown>;
};

export class AtlassianExecutor implements OperationExecutor {
  readonly jira: JiraAdapter;
  readonly confluenceClient: AtlassianHttpClient;
  readonly confluence: ConfluenceAdapter;
  private readonly handlers: Handlers;

  constructor(options: AtlassianExecutorOptions) {
    const auth = 'header' in options.auth ? options.auth : basicAuthProvider(options.auth);
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
    const reconcile =
      options.reconcileWindowSeconds !== undefined
        ? { reconcileWindowSeconds: options.reconcileWindowSeconds }
        : {};
    this.confluence = new ConfluenceAdapter(this.confluenceClient, {
      ...(options.wikiUrl !== undefined ? { wikiUrl: options.wikiUrl } : {}),
      ...reconcile,
    });
    this.jira = new JiraAdapter(jiraClient, {
      ...reconcile,
      ...(options.defaultIssueType !== undefined ? { defaultIssueType: options.defaultIssueType } : {}),
      ...(options.siteUrl !== undefined ? { siteUrl: options.siteUrl } : {}),
    });
    this.handlers = {
      'jira.get_task': (p) => this.jira.getTask(p),
      'jira.create_task': (p, c) => this.jira.createTask(p, c),
      'jira.update_task': (p) => this.jira.updateTask(p),
      'jira.transition_task': (p) => this.jira.transitionTask(p),
      'jira.add_comment': (p, c) => this.jira.addComment(p, c),
      'jira.search_tasks': (p, c) =>
        this.jira.searchTasks(p, c.reconcileIssues ? { reconcileIssues: c.reconcileIssues } : {}),
      'confluence.get_page': (p) => this.confluence.getPage(p),
      'confluence.create_page': (p, c) => this.confluence.createPage(p, c),
      'confluence.update_page': (p) => this.confluence.updatePage(p),
      'confluence.search_pages': (p) => this.confluence.searchPages(p),
    };
  }

  async execute(
    operation: OperationName,
    payload: Record<string, unknown>,
    context: CallContext,
  ): Promise<unknown> {
    const handler = this.handlers[operation] as (p: unknown, c: CallContext) => Promise<unknown>;
    const parsed = parsePayload(operation, payload);
    // Every answer of every call the operation makes reports its rate-limit signals to the caller,
    // and all its calls together must answer by the context's deadline (the DIRECT path's).
    return withDeadline(context.deadline, () =>
      observeUpstream(context.onUpstreamSignal, () => handler(parsed, context)),
    );
  }
}
