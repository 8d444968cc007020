/**
 * One request (`GET /api/queue/requests/{token}`): its state and its timeline as a table, refreshed
 * every 2 s; a dead one can be retried from here.
 */
import { useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { ErrorBanner } from './error-banner.js';
import { errorText, time } from './format.js';
import { href } from './router.js';
import { usePoll } from './use-poll.js';

const REFRESH_MS = 2_000;

export function RequestView({ token }: { token: string }) {
  const detail = usePoll(() => api.request(token), REFRESH_MS, [token]);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();
  const r = detail.data;

  async function retry() {
    setNotice(undefined);
    try {
      const a = await api.retry(token);
      setNotice({ kind: 'ok', text: `${a.status} again in ${a.queue}` });
    } catch (err) {
      setNotice({
        kind: 'error',
        text: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err),
      });
    }
    await detail.refresh();
  }

  return (
    <section>
      <p>
        <a href={href('/requests', r ? { status: r.status } : {})}>← Requests</a>
      </p>
      <h1>
        Request <code>{token}</code>{' '}
        {r && (
          <span class={`badge status-${r.status}`} data-testid="request-status">
            {r.status}
          </span>
        )}
      </h1>
      <ErrorBanner error={detail.error} />
      {notice && (
        <p class={notice.kind === 'ok' ? 'notice' : 'error'} role="status" data-testid="request-notice">
          {notice.text}
        </p>
      )}
      {!r ? (
        !detail.error && <p class="loading">Loading…</p>
      ) : (
        <>
          <dl class="facts">
            <dt>operation</dt>
            <dd>{r.operation}</dd>
            <dt>service</dt>
            <dd>{r.service}</dd>
            <dt>priority</dt>
            <dd>{r.priority}</dd>
            <dt>attempts</dt>
            <dd data-testid="request-attempts">{r.attempts}</dd>
            {r.routing_path && (
              <>
                <dt>routing</dt>
                <dd>{r.routing_path}</dd>
              </>
            )}
            <dt>created</dt>
            <dd>{time(r.created_at)}</dd>
            <dt>updated</dt>
            <dd>{time(r.updated_at)}</dd>
            {r.completed_at && (
              <>
                <dt>completed</dt>
                <dd>{time(r.completed_at)}</dd>
              </>
            )}
            <dt>owner</dt>
            <dd>{r.owner}</dd>
            {r.depends_on && r.depends_on.length > 0 && (
              <>
                <dt>depends on</dt>
                <dd>
                  {r.depends_on.map((t) => (
                    <>
                      <a href={href(`/requests/${encodeURIComponent(t)}`)}>{t}</a>
                      {r.waiting_on?.includes(t) ? ' (not finished)' : ''}{' '}
                    </>
                  ))}
                </dd>
              </>
            )}
            {r.deferred_reason && (
              <>
                <dt>deferred</dt>
                <dd>
                  {r.deferred_reason}
                  {r.deferred_until ? ` until ${time(r.deferred_until)}` : ''}
                </dd>
              </>
            )}
            {r.last_error && (
              <>
                <dt>last error</dt>
                <dd class="warn">{errorText(r.last_error)}</dd>
              </>
            )}
          </dl>
          {r.status === 'dead' && (
            <p>
              <button type="button" onClick={() => void retry()}>
                Retry this request
              </button>{' '}
              <span class="muted">back to its queue with a full set of attempts</span>
            </p>
          )}
          <p class="muted">refreshed every {REFRESH_MS / 1000} s</p>
          <h2>Timeline</h2>
          <table data-testid="timeline">
            <thead>
              <tr>
                <th>at</th>
                <th>event</th>
                <th>attempt</th>
                <th>HTTP</th>
                <th>error / reason</th>
                <th>delay</th>
              </tr>
            </thead>
            <tbody>
              {r.timeline.map((e) => (
                <tr data-event={e.event}>
                  <td>{time(e.at)}</td>
                  <td>{e.event}</td>
                  <td>{e.attempt ?? ''}</td>
                  <td>{e.status_code ?? ''}</td>
                  <td>{[errorText(e.error), e.reason].filter(Boolean).join(' · ')}</td>
                  <td>{e.delay_seconds !== undefined ? `${e.delay_seconds} s` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
