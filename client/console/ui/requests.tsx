/** Requests by status and operation, a page at a time (`GET /api/queue/requests`). */
import { useState } from 'preact/hooks';
import { api, LISTED_STATUSES } from './api.js';
import { ErrorBanner } from './error-banner.js';
import { errorText, time } from './format.js';
import { Pager, pageSize, usePaging } from './pager.js';
import { href, navigate } from './router.js';
import { usePoll } from './use-poll.js';

const PAGE_SIZE = 25;

export function RequestsView({ params }: { params: URLSearchParams }) {
  const status = params.get('status') ?? 'queued';
  const operation = params.get('operation') ?? '';
  const [operationInput, setOperationInput] = useState(operation);
  const limit = pageSize(params, PAGE_SIZE);
  const paging = usePaging();
  const list = usePoll(
    () =>
      api.requests({
        status,
        limit,
        ...(operation ? { operation } : {}),
        ...(paging.cursor ? { cursor: paging.cursor } : {}),
      }),
    0,
    [status, operation, limit, paging.cursor],
  );
  const show = (next: { status?: string; operation?: string }) => {
    paging.reset();
    navigate('/requests', {
      status: next.status ?? status,
      operation: next.operation ?? operation,
      limit: params.get('limit') ?? undefined,
    });
  };
  const page = list.data;
  return (
    <section>
      <h1>Requests</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          show({ operation: operationInput.trim() });
        }}
      >
        <span class="tabs" role="tablist">
          {LISTED_STATUSES.map((s) => (
            <button
              type="button"
              role="tab"
              aria-selected={s === status}
              class={s === status ? 'active' : ''}
              onClick={() => show({ status: s })}
            >
              {s}
            </button>
          ))}
        </span>
        <label>
          operation{' '}
          <input
            name="operation"
            placeholder="jira.create_task"
            value={operationInput}
            onInput={(e) => setOperationInput((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Filter</button>
        <button type="button" onClick={() => void list.refresh()}>
          Refresh
        </button>
      </form>
      <ErrorBanner error={list.error} />
      {!page ? (
        <p class="loading">Loading…</p>
      ) : page.requests.length === 0 ? (
        <p class="muted" data-testid="requests-empty" data-page={paging.page}>
          No {status} requests{operation ? ` of ${operation}` : ''}.
        </p>
      ) : (
        <table data-testid="requests" data-page={paging.page}>
          <thead>
            <tr>
              <th>token</th>
              <th>status</th>
              <th>operation</th>
              <th>priority</th>
              <th>attempts</th>
              <th>created</th>
              <th>updated</th>
              <th>last error</th>
            </tr>
          </thead>
          <tbody>
            {page.requests.map((r) => (
              <tr data-token={r.token}>
                <td>
                  <a href={href(`/requests/${encodeURIComponent(r.token)}`)}>{r.token}</a>
                </td>
                <td>
                  <span class={`badge status-${r.status}`}>{r.status}</span>
                </td>
                <td>{r.operation}</td>
                <td>{r.priority}</td>
                <td>{r.attempts}</td>
                <td>{time(r.created_at)}</td>
                <td>{time(r.updated_at)}</td>
                <td>{errorText(r.last_error)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && <Pager paging={paging} nextCursor={page.next_cursor} />}
    </section>
  );
}
