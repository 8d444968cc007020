/**
 * Overview: health and its reasons, each service's circuit breaker, queue depths and rate/points
 * budgets, refreshed every 3 s, and a chart of the queue depths since the page opened.
 */
import { useRef } from 'preact/hooks';
import { api, type Breaker, type PointsBudget, type QueueDepth, type RateBudget } from './api.js';
import { DepthChart, type DepthSample } from './depth-chart.js';
import { ErrorBanner } from './error-banner.js';
import { num, time } from './format.js';
import { href } from './router.js';
import { usePoll } from './use-poll.js';

export const OVERVIEW_REFRESH_MS = 3_000;
/** An hour of samples at the refresh rate. */
const MAX_SAMPLES = 1_200;
const PRIORITIES = ['high', 'normal', 'low'];

export function OverviewView() {
  const samples = useRef<DepthSample[]>([]);
  const polled = usePoll(
    async () => {
      const [health, breakers] = await Promise.all([api.health(), api.breakers()]);
      const depths: Record<string, number> = {};
      for (const [service, s] of Object.entries(health.services))
        depths[service] = Object.values(s.queues).reduce(
          (n, q) => n + q.visible + q.in_flight + q.delayed,
          0,
        );
      samples.current = [...samples.current, { t: Date.parse(health.timestamp) / 1000, depths }].slice(
        -MAX_SAMPLES,
      );
      return { health, breakers };
    },
    OVERVIEW_REFRESH_MS,
    [],
  );
  const { data, error, at } = polled;
  if (!data)
    return <section>{error ? <ErrorBanner error={error} /> : <p class="loading">Loading…</p>}</section>;
  const { health, breakers } = data;
  const services = Object.keys(health.services).sort();
  return (
    <section>
      <ErrorBanner error={error} />
      <div class="health">
        <h1>
          Health{' '}
          <span class={`badge ${health.status}`} data-testid="health-status">
            {health.status}
          </span>
        </h1>
        <p class="muted">
          as of {time(health.timestamp)}, refreshed every {OVERVIEW_REFRESH_MS / 1000} s
          {at ? ` (last ${time(at.toISOString())})` : ''} ·{' '}
          <a href={href('/dead-letters')}>{health.dead_letters} dead request(s)</a>
        </p>
        {health.reasons.length > 0 && (
          <ul class="reasons" data-testid="health-reasons">
            {health.reasons.map((r) => (
              <li>{r}</li>
            ))}
          </ul>
        )}
      </div>
      <h2>Queue depth since this page opened</h2>
      <DepthChart services={services} samples={samples.current} />
      <div class="services">
        {services.map((name) => (
          <ServicePanel
            name={name}
            queues={health.services[name]!.queues}
            breaker={breakers.circuit_breakers[name]}
            budget={health.budgets[name]}
          />
        ))}
      </div>
    </section>
  );
}

function ServicePanel(props: {
  name: string;
  queues: Record<string, QueueDepth>;
  breaker: Breaker | undefined;
  budget: { rate: RateBudget; points: PointsBudget } | undefined;
}) {
  const { name, queues, breaker, budget } = props;
  const priorities = [
    ...PRIORITIES.filter((p) => p in queues),
    ...Object.keys(queues).filter((p) => !PRIORITIES.includes(p)),
  ];
  return (
    <article class="service" data-testid={`service-${name}`}>
      <h2>{name}</h2>
      <h3>Circuit breaker</h3>
      {breaker ? (
        <p>
          <span class={`badge breaker-${breaker.state}`} data-testid={`breaker-${name}`}>
            {breaker.state.replace('_', '-')}
          </span>{' '}
          {breaker.failure_count}/{breaker.failure_threshold} failures in {breaker.window_seconds} s
          {breaker.opened_at ? ` · opened ${time(breaker.opened_at)}` : ''}
          {breaker.next_attempt_at ? ` · next probe ${time(breaker.next_attempt_at)}` : ''}
          {breaker.last_failure_at ? ` · last failure ${time(breaker.last_failure_at)}` : ''}
        </p>
      ) : (
        <p class="muted">no breaker reported</p>
      )}
      <h3>Queues</h3>
      <table data-testid={`queues-${name}`}>
        <thead>
          <tr>
            <th>priority</th>
            <th>visible</th>
            <th>in flight</th>
            <th>delayed</th>
            <th>dead-letter queue</th>
          </tr>
        </thead>
        <tbody>
          {priorities.map((p) => {
            const q = queues[p]!;
            return (
              <tr data-priority={p}>
                <td>{p}</td>
                <td>{q.visible}</td>
                <td>{q.in_flight}</td>
                <td>{q.delayed}</td>
                <td class={q.dead_letter_queue > 0 ? 'warn' : ''}>{q.dead_letter_queue}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {budget && (
        <>
          <h3>Budgets</h3>
          <dl class="budget" data-testid={`budget-${name}`}>
            <dt>rate tokens</dt>
            <dd>
              {num(budget.rate.tokens)} / {budget.rate.burst}
            </dd>
            <dt>rate</dt>
            <dd>
              {num(budget.rate.effective_rate_per_second, 2)}/s of{' '}
              {num(budget.rate.configured_rate_per_second, 2)}/s
            </dd>
            {budget.rate.pauses.length > 0 && (
              <>
                <dt>429 pauses</dt>
                <dd>
                  {budget.rate.pauses
                    .map((p) => `${p.scope}${p.target ? ` ${p.target}` : ''} until ${time(p.until)}`)
                    .join('; ')}
                </dd>
              </>
            )}
            {budget.rate.slow_until && (
              <>
                <dt>near limit until</dt>
                <dd>{time(budget.rate.slow_until)}</dd>
              </>
            )}
            <dt>points</dt>
            <dd>
              {budget.points.enabled
                ? `${num(budget.points.points, 0)} / ${num(budget.points.capacity, 0)}, ${num(budget.points.pace_per_second, 2)}/s`
                : 'not in use'}{' '}
              (quota {budget.points.quota} per {budget.points.window_seconds} s)
            </dd>
            {budget.points.exhausted_until && (
              <>
                <dt>quota spent until</dt>
                <dd class="warn">{time(budget.points.exhausted_until)}</dd>
              </>
            )}
          </dl>
        </>
      )}
    </article>
  );
}
