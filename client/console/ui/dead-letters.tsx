/**
 * Dead letters: dead requests by service, a page at a time; retry one (back to its queue with a full
 * set of attempts), purge one (after a confirm), or redrive the dead-letter queues.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, type DeadLetterEntry } from './api.js';
import { ErrorBanner } from './error-banner.js';
import { errorText, time } from './format.js';
import { Pager, pageSize, usePaging } from './pager.js';
import { href, navigate } from './router.js';
import { usePoll } from './use-poll.js';

const PAGE_SIZE = 20;
const SERVICES = ['', 'jira', 'confluence'];

type Notice = { kind: 'ok' | 'error'; text: string };

export function DeadLettersView({ params }: { params: URLSearchParams }) {
  const service = params.get('service') ?? '';
  const limit = pageSize(params, PAGE_SIZE);
  const paging = usePaging();
  const [notice, setNotice] = useState<Notice | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();
  const list = usePoll(
    () =>
      api.deadLetters({
        limit,
        ...(service ? { service } : {}),
        ...(paging.cursor ? { cursor: paging.cursor } : {}),
      }),
    0,
    [service, limit, paging.cursor],
  );

  async function act(label: string, action: () => Promise<string>) {
    setNotice(undefined);
    try {
      setNotice({ kind: 'ok', text: await action() });
    } catch (err) {
      const e = err instanceof ApiError ? err : undefined;
      setNotice({ kind: 'error', text: `${label} failed: ${e ? `${e.code}: ${e.message}` : String(err)}` });
    }
    setConfirming(undefined);
    await list.refresh();
  }

  const retry = (d: DeadLetterEntry) =>
    act(`retry ${d.token}`, async () => {
      const a = await api.retry(d.token);
      return `${a.token} is ${a.status} again in ${a.queue}${a.enqueued ? '' : ' (the sweeper will enqueue it)'}`;
    });
  const purge = (d: DeadLetterEntry) =>
    act(`purge ${d.token}`, async () => {
      await api.purge(d.token);
      return `${d.token} purged`;
    });
  const redrive = () =>
    act('redrive', async () => {
      const a = await api.redrive(service || undefined);
      return `redrive started: ${a.redrives.map((r) => `${r.queue} ${r.mode}${r.moved !== undefined ? ` (${r.moved} moved)` : ''}`).join(', ')}`;
    });

  const page = list.data;
  return (
    <section>
      <h1>Dead letters</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          service{' '}
          <select
            name="service"
            value={service}
            onChange={(e) => {
              paging.reset();
              navigate('/dead-letters', {
                service: (e.target as HTMLSelectElement).value,
                limit: params.get('limit') ?? undefined,
              });
            }}
          >
            {SERVICES.map((s) => (
              <option value={s}>{s || 'all'}</option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void list.refresh()}>
          Refresh
        </button>
        <button
          type="button"
          onClick={() => void redrive()}
          title="Move the dead-letter queues' messages back to their queues"
        >
          Redrive {service || 'all'} dead-letter queues
        </button>
      </form>
      {notice && (
        <p class={notice.kind === 'ok' ? 'notice' : 'error'} role="status" data-testid="dead-letters-notice">
          {notice.text}
        </p>
      )}
      <ErrorBanner error={list.error} />
      {!page ? (
        <p class="loading">Loading…</p>
      ) : page.dead_letters.length === 0 ? (
        <p class="muted" data-testid="dead-letters-empty">
          No dead requests{service ? ` for ${service}` : ''}.
        </p>
      ) : (
        <table data-testid="dead-letters" data-page={paging.page}>
          <thead>
            <tr>
              <th>token</th>
              <th>operation</th>
              <th>priority</th>
              <th>attempts</th>
              <th>error</th>
              <th>dead since</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {page.dead_letters.map((d) => (
              <tr data-token={d.token}>
                <td>
                  <a href={href(`/requests/${encodeURIComponent(d.token)}`)}>{d.token}</a>
                </td>
                <td>{d.operation}</td>
                <td>{d.priority}</td>
                <td>{d.attempts}</td>
                <td>{errorText(d.error)}</td>
                <td>{time(d.updated_at)}</td>
                <td class="actions">
                  {confirming === d.token ? (
                    <>
                      <span>Purge for good?</span>{' '}
                      <button type="button" class="danger" onClick={() => void purge(d)}>
                        Yes, purge
                      </button>{' '}
                      <button type="button" onClick={() => setConfirming(undefined)}>
                        Cancel
                      </button>
                    </>
                  ) : (
                    <>
                      <button type="button" onClick={() => void retry(d)}>
                        Retry
                      </button>{' '}
                      <button type="button" class="danger" onClick={() => setConfirming(d.token)}>
                        Purge
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && <Pager paging={paging} nextCursor={page.next_cursor} />}
    </section>
  );
}
