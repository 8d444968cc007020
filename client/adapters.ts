/**
 * Jira and Confluence through RIQ (seed stories 2.1 and 2.2): the methods of a direct adapter, each
 * one a queued request.
 *
 * - Reads: a `cached` answer, or one completed on the DIRECT path, is returned at once; otherwise the
 *   adapter waits for the result (reads always wait).
 * - Writes: answer `{token, status, consistencyToken?, result?}` at once, or, with the adapter's
 *   `wait` option, once the write has completed.
 * - A request ending `failed` or `dead` throws `RiqRequestFailedError` carrying the request's error.
 * - `createThenGet` is read-after-write: the read names the write's consistency
 *   token when the answer has one, else reads with `fresh: true`; it never assumes a token exists.
 */
import { RiqRequestFailedError } from './errors.js';
import type {
  OperationName,
  OperationPayload,
  Priority,
  QueueClientApi,
  RequestStatus,
  RequestView,
  SubmitAnswer,
  SubmitOptions,
  SubmittedRequest,
  WaitOptions,
} from './types.js';
import type {
  CreatedJiraComment,
  CreatedJiraTask,
  JiraSearchResult,
  JiraTask,
  TransitionedJiraTask,
  UpdatedJiraTask,
} from '../model/results.js';
import type {
  ConfluencePage,
  ConfluenceSearchResult,
  CreatedConfluencePage,
  UpdatedConfluencePage,
} from '../model/results.js';

export type {
  ConfluencePage,
  ConfluenceSearchResult,
  CreatedConfluencePage,
  CreatedJiraComment,
  CreatedJiraTask,
  JiraSearchResult,
  JiraTask,
  TransitionedJiraTask,
  UpdatedConfluencePage,
  UpdatedJiraTask,
};

export interface QueuedAdapterOptions {
  /** Writes: wait for the result (`true`: with the default timeout). @default false */
  wait?: boolean | WaitOptions;
  /** Priority of every request. @default the server's (`normal`) */
  priority?: Priority;
  /** How long a read waits for its result, ms. @default 60_000 */
  readTimeoutMs?: number;
}

export interface ReadOptions {
  /** Skip the read cache. */
  fresh?: boolean;
  /** Run after that write (`cst_…`) finished, reading fresh. */
  afterConsistencyToken?: string;
}

export interface WriteOptions {
  /** Given: a retried call with the same key is one request. @default a new UUID */
  idempotencyKey?: string;
  /** Run after that write (`cst_…`) finished. */
  afterConsistencyToken?: string;
  /** Overrides the adapter's `wait` for this call. */
  wait?: boolean | WaitOptions;
}

/** What a write answers: its token at once, its result when it has completed (DIRECT, or waited for). */
export interface WriteOutcome<R> {
  token: string;
  status: RequestStatus;
  /** The write's consistency token, when the answer carried one. */
  consistencyToken?: string;
  result?: R;
}

/** Create-then-read: the completed write and the object read after it. */
export interface CreateThenGetOutcome<C, R> {
  created: WriteOutcome<C> & { result: C };
  read: R;
  /** How the read was kept from answering stale data. */
  readWith: 'consistency_token' | 'fresh';
}

function waitOptionsOf(wait: boolean | WaitOptions | undefined): WaitOptions | undefined {
  if (!wait) return undefined;
  return wait === true ? {} : wait;
}

function failed(view: RequestView | SubmittedRequest): never {
  throw new RiqRequestFailedError(view.token, view.status as 'failed' | 'dead', view.error, view);
}

/** The request machinery the two adapters share. */
class QueuedAdapterBase {
  constructor(
    protected readonly client: QueueClientApi,
    protected readonly options: QueuedAdapterOptions = {},
  ) {}

  protected async read<O extends OperationName, R>(
    operation: O,
    payload: OperationPayload<O>,
    opts: ReadOptions = {},
  ): Promise<R> {
    const answer = await this.client.submit(operation, payload, {
      ...this.common(),
      ...(opts.fresh !== undefined ? { fresh: opts.fresh } : {}),
      ...(opts.afterConsistencyToken !== undefined
        ? { afterConsistencyToken: opts.afterConsistencyToken }
        : {}),
    });
    if (answer.status === 'cached') return answer.result as R;
    if (answer.status === 'completed') return answer.result as R;
    if (answer.status === 'failed' || answer.status === 'dead') failed(answer);
    const view = await this.client.waitForResult(answer.token, {
      timeoutMs: this.options.readTimeoutMs ?? 60_000,
    });
    if (view.status !== 'completed') failed(view);
    return view.result as R;
  }

  protected async write<O extends OperationName, R>(
    operation: O,
    payload: OperationPayload<O>,
    opts: WriteOptions = {},
  ): Promise<WriteOutcome<R>> {
    const answer: SubmitAnswer = await this.client.submit(operation, payload, {
      ...this.common(),
      ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}),
      ...(opts.afterConsistencyToken !== undefined
        ? { afterConsistencyToken: opts.afterConsistencyToken }
        : {}),
    });
    if (answer.status === 'cached') {
      // Writes are never cached; kept total for a future server.
      return { token: '', status: 'completed', result: answer.result as R };
    }
    if (answer.status === 'failed' || answer.status === 'dead') failed(answer);
    const outcome: WriteOutcome<R> = {
      token: answer.token,
      status: answer.status,
      ...(answer.consistency_token ? { consistencyToken: answer.consistency_token } : {}),
      ...(answer.status === 'completed' ? { result: answer.result as R } : {}),
    };
    const wait = waitOptionsOf(opts.wait ?? this.options.wait);
    if (!wait || answer.status === 'completed') return outcome;
    const view = await this.client.waitForResult(answer.token, wait);
    if (view.status !== 'completed') failed(view);
    return { ...outcome, status: 'completed', result: view.result as R };
  }

  /** Create (waiting), then read with the write's consistency token when present, else `fresh`. */
  protected async createThenRead<C, R>(
    create: () => Promise<WriteOutcome<C>>,
    readBack: (created: C, opts: ReadOptions) => Promise<R>,
  ): Promise<CreateThenGetOutcome<C, R>> {
    const created = await create();
    const result = created.result as C;
    const readWith = created.consistencyToken ? 'consistency_token' : 'fresh';
    const read = await readBack(
      result,
      created.consistencyToken ? { afterConsistencyToken: created.consistencyToken } : { fresh: true },
    );
    return { created: { ...created, result }, read, readWith };
  }

  private common(): SubmitOptions {
    return this.options.priority !== undefined ? { priority: this.options.priority } : {};
  }
}

export class QueuedJiraAdapter extends QueuedAdapterBase {
  constructor(client: QueueClientApi, options: QueuedAdapterOptions = {}) {
    super(client, options);
  }

  getTask(taskId: string, opts?: ReadOptions): Promise<JiraTask> {
    return this.read('jira.get_task', { task_id: taskId }, opts);
  }

  searchTasks(jql: string, opts: ReadOptions & { maxResults?: number } = {}): Promise<JiraSearchResult> {
    const { maxResults, ...read } = opts;
    return this.read(
      'jira.search_tasks',
      { jql, ...(maxResults !== undefined ? { max_results: maxResults } : {}) },
      read,
    );
  }

  createTask(
    payload: OperationPayload<'jira.create_task'>,
    opts?: WriteOptions,
  ): Promise<WriteOutcome<CreatedJiraTask>> {
    return this.write('jira.create_task', payload, opts);
  }

  updateTask(
    payload: OperationPayload<'jira.update_task'>,
    opts?: WriteOptions,
  ): Promise<WriteOutcome<UpdatedJiraTask>> {
    return this.write('jira.update_task', payload, opts);
  }

  transitionTask(
    taskId: string,
    targetStatus: string,
    opts?: WriteOptions,
  ): Promise<WriteOutcome<TransitionedJiraTask>> {
    return this.write('jira.transition_task', { task_id: taskId, target_status: targetStatus }, opts);
  }

  addComment(
    taskId: string,
    comment: string,
    opts?: WriteOptions,
  ): Promise<WriteOutcome<CreatedJiraComment>> {
    return this.write('jira.add_comment', { task_id: taskId, comment }, opts);
  }

  /** Create (waiting), then read the new issue without a stale cache. */
  createThenGet(
    payload: OperationPayload<'jira.create_task'>,
    opts: Omit<WriteOptions, 'wait'> & { timeoutMs?: number } = {},
  ): Promise<CreateThenGetOutcome<CreatedJiraTask, JiraTask>> {
    const { timeoutMs, ...write } = opts;
    return this.createThenRead(
      () => this.createTask(payload, { ...write, wait: timeoutMs !== undefined ? { timeoutMs } : true }),
      (created, read) => this.getTask(created.key, read),
    );
  }
}

export class QueuedConfluenceAdapter extends QueuedAdapterBase {
  constructor(client: QueueClientApi, options: QueuedAdapterOptions = {}) {
    super(client, options);
  }

  getPage(pageId: string, opts?: ReadOptions): Promise<ConfluencePage> {
    return this.read('confluence.get_page', { page_id: pageId }, opts);
  }

  searchPages(
    query: string,
    opts: ReadOptions & { spaceId?: string; maxResults?: number } = {},
  ): Promise<ConfluenceSearchResult> {
    const { spaceId, maxResults, ...read } = opts;
    return this.read(
      'confluence.search_pages',
      {
        query,
        ...(spaceId !== undefined ? { space_id: spaceId } : {}),
        ...(maxResults !== undefined ? { max_results: maxResults } : {}),
      },
      read,
    );
  }

  createPage(
    payload: OperationPayload<'confluence.create_page'>,
    opts?: WriteOptions,
  ): Promise<WriteOutcome<CreatedConfluencePage>> {
    return this.write('confluence.create_page', payload, opts);
  }

  /** Pass the create's `consistencyToken` as `afterConsistencyToken` for "create page then update page". */
  updatePage(
    payload: OperationPayload<'confluence.update_page'>,
    opts?: WriteOptions,
  ): Promise<WriteOutcome<UpdatedConfluencePage>> {
    return this.write('confluence.update_page', payload, opts);
  }

  /** Create (waiting), then read the new page fresh. */
  createThenGet(
    payload: OperationPayload<'confluence.create_page'>,
    opts: Omit<WriteOptions, 'wait'> & { timeoutMs?: number } = {},
  ): Promise<CreateThenGetOutcome<CreatedConfluencePage, ConfluencePage>> {
    const { timeoutMs, ...write } = opts;
    return this.createThenRead(
      () => this.createPage(payload, { ...write, wait: timeoutMs !== undefined ? { timeoutMs } : true }),
      (created, read) => this.getPage(created.id, read),
    );
  }
}
