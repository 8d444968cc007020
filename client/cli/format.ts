/**
 * Human output of `riq`: aligned tables and key/value blocks, no dependency. `--json` bypasses all of
 * this and prints the API's JSON as it came.
 */
import type { OperationInfo } from '../../model/operation-catalog.js';
import type {
  DeadLetterPage,
  OperatorRequestView,
  RequestSummary,
  RequestView,
  SubmitAnswer,
  TimelineEntry,
} from '../types.js';

type Row = Record<string, unknown>;

/** A cell's text: strings as they are, null/undefined as '-', the rest as compact JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Columns left-aligned (numbers right-aligned), two spaces apart, headers upper-cased. */
export function table(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => columns.map((_, i) => cell(row[i])));
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const headers = columns.map((c) => c.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** `key:  value` lines, keys padded to one width; undefined values left out. */
export function keyValues(entries: readonly (readonly [string, unknown])[]): string {
  const shown = entries.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${cell(v)}`).join('\n') + '\n';
}

function indentedJson(label: string, value: unknown): string {
  const body = JSON.stringify(value, null, 2) ?? 'null';
  return `${label}:\n${body
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
}

function errorLine(error: unknown): string | undefined {
  if (!isRecord(error)) return undefined;
  return `${cell(error['code'])}: ${cell(error['message'])}`;
}

export function formatSubmit(answer: SubmitAnswer): string {
  if (answer.status === 'cached') {
    return (
      keyValues([
        ['status', answer.status],
        ['routing_path', answer.routing_path],
        ['cached_at', answer.cached_at],
      ]) + indentedJson('result', answer.result)
    );
  }
  let out = keyValues([
    ['token', answer.token],
    ['status', answer.status],
    ['routing_path', answer.routing_path],
    ['accepted', answer.accepted],
    ['consistency_token', answer.consistency_token],
    ['poll_url', answer.poll_url],
    ['error', errorLine(answer.error)],
  ]);
  if (answer.result !== undefined) out += indentedJson('result', answer.result);
  return out;
}

export function formatResult(view: RequestView): string {
  let out = keyValues([
    ['token', view.token],
    ['status', view.status],
    ['operation', view.operation],
    ['priority', view.priority],
    ['routing_path', view.routing_path],
    ['attempts', view.attempts],
    ['created_at', view.created_at],
    ['updated_at', view.updated_at],
    ['completed_at', view.completed_at],
    ['waiting_on', view.waiting_on?.join(', ')],
    ['error', errorLine(view.error)],
  ]);
  if (view.error?.details !== undefined) out += indentedJson('error details', view.error.details);
  if (view.result !== undefined) out += indentedJson('result', view.result);
  return out;
}

export function formatHealth(health: Row): string {
  const reasons = Array.isArray(health['reasons']) ? (health['reasons'] as unknown[]) : [];
  let out = keyValues([
    ['status', health['status']],
    ['timestamp', health['timestamp']],
    ['dead_letters', health['dead_letters']],
    ['reasons', reasons.length > 0 ? reasons.map(cell).join('; ') : undefined],
  ]);
  const services = health['services'];
  if (isRecord(services)) {
    const rows: unknown[][] = [];
    for (const [service, view] of Object.entries(services)) {
      if (!isRecord(view)) continue;
      const queues = isRecord(view['queues']) ? view['queues'] : {};
      for (const [priority, q] of Object.entries(queues)) {
        const queue = isRecord(q) ? q : {};
        rows.push([
          service,
          priority,
          view['circuit_breaker'],
          queue['visible'],
          queue['in_flight'],
          queue['delayed'],
          queue['dead_letter_queue'],
        ]);
      }
    }
    out += '\n' + table(['service', 'priority', 'breaker', 'visible', 'in_flight', 'delayed', 'dlq'], rows);
  }
  const budgets = health['budgets'];
  if (isRecord(budgets)) out += formatBudgets(budgets);
  return out;
}

/**
 * The budgets of each service: the token bucket (tokens, effective vs configured rate per second,
 * how far ahead each line's next free slot is, pauses in force) and the hourly points budget.
 */
function formatBudgets(budgets: Row): string {
  const rateRows: unknown[][] = [];
  const pointsRows: unknown[][] = [];
  for (const [service, b] of Object.entries(budgets)) {
    const budget = isRecord(b) ? b : {};
    const rate = isRecord(budget['rate']) ? budget['rate'] : {};
    const lines = isRecord(rate['lines']) ? rate['lines'] : {};
    const ahead = (priority: string) => {
      const line = isRecord(lines[priority]) ? lines[priority] : {};
      return typeof line['ahead_ms'] === 'number' ? `${round(line['ahead_ms'] / 1000, 1)}s` : undefined;
    };
    const pauses = Array.isArray(rate['pauses']) ? rate['pauses'] : [];
    rateRows.push([
      service,
      round(rate['tokens'], 1),
      rate['burst'],
      `${cell(round(rate['effective_rate_per_second'], 2))}/${cell(round(rate['configured_rate_per_second'], 2))}`,
      ahead('normal'),
      ahead('low'),
      pauses.length > 0 ? pauses.map(pauseText).join('; ') : undefined,
      rate['slow_until'],
    ]);
    const points = isRecord(budget['points']) ? budget['points'] : {};
    pointsRows.push([
      service,
      points['enabled'] === true ? 'on' : 'off',
      round(points['points'], 0),
      round(points['capacity'], 0),
      round(points['pace_per_second'], 2),
      `${cell(points['quota'])}/${cell(points['window_seconds'])}s`,
      points['quota_source'],
      points['slow_until'],
      points['exhausted_until'],
    ]);
  }
  return (
    '\nrate limit (tokens per second):\n' +
    table(
      ['service', 'tokens', 'burst', 'rate/configured', 'normal_line', 'low_line', 'pauses', 'slow_until'],
      rateRows,
    ) +
    '\npoints budget (per hour):\n' +
    table(
      [
        'service',
        'budget',
        'points',
        'capacity',
        'pace/s',
        'quota',
        'source',
        'near_limit_until',
        'exhausted_until',
      ],
      pointsRows,
    )
  );
}

/** `endpoint jira:search until 2026-…`, `service until 2026-…`. */
function pauseText(pause: unknown): string {
  const p = isRecord(pause) ? pause : {};
  return [p['scope'], p['target'], 'until', p['until']]
    .filter((x) => x !== null && x !== undefined)
    .map(cell)
    .join(' ');
}

function round(value: unknown, digits: number): unknown {
  if (typeof value !== 'number') return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function formatBreakers(report: Row): string {
  const breakers = report['circuit_breakers'];
  if (!isRecord(breakers)) return formatGeneric(report);
  const rows = Object.entries(breakers).map(([name, b]) => {
    const v = isRecord(b) ? b : {};
    return [
      v['name'] ?? name,
      v['state'],
      v['failure_count'],
      v['failure_threshold'],
      v['opened_at'],
      v['next_attempt_at'],
      v['last_failure_at'],
    ];
  });
  return table(
    ['name', 'state', 'failures', 'threshold', 'opened_at', 'next_attempt_at', 'last_failure_at'],
    rows,
  );
}

export function formatMetrics(report: Row): string {
  let out = keyValues([
    ['timestamp', report['timestamp']],
    ['dead_requests', report['dead_requests']],
  ]);
  const sections: [string, unknown][] = Object.entries(report).filter(([, v]) => Array.isArray(v));
  for (const [name, rows] of sections) out += `\n${name}:\n${arrayTable(rows as unknown[])}`;
  return out;
}

export function formatDeadLetters(page: DeadLetterPage): string {
  if (page.dead_letters.length === 0) return 'No dead letters.\n';
  let out = table(
    ['token', 'operation', 'service', 'priority', 'owner', 'attempts', 'error', 'updated_at'],
    page.dead_letters.map((d) => [
      d.token,
      d.operation,
      d.service,
      d.priority,
      d.owner,
      d.attempts,
      d.error ? d.error.code : null,
      d.updated_at,
    ]),
  );
  out += `\n${page.count} dead letter${page.count === 1 ? '' : 's'}`;
  out += page.next_cursor ? `; next page: --cursor ${page.next_cursor}\n` : '\n';
  return out;
}

/** `riq list`: one row per request, then the count and the next page's cursor. */
export function formatRequestList(page: {
  requests: readonly RequestSummary[];
  next_cursor?: string | null;
}): string {
  if (page.requests.length === 0) return 'No requests.\n';
  let out = table(
    ['token', 'status', 'operation', 'priority', 'attempts', 'created_at', 'updated_at', 'last_error'],
    page.requests.map((r) => [
      r.token,
      r.status,
      r.operation,
      r.priority,
      r.attempts,
      r.created_at,
      r.updated_at,
      errorLine(r.last_error) ?? r.last_error,
    ]),
  );
  const n = page.requests.length;
  out += `\n${n} request${n === 1 ? '' : 's'}`;
  out += page.next_cursor ? `; next page: --cursor ${page.next_cursor}\n` : '\n';
  return out;
}

/** `riq watch`'s first lines: what the request is and where it stands. */
export function formatWatchHeader(view: OperatorRequestView): string {
  return `${view.token}  ${view.operation}  ${view.priority}  ${view.status}\n`;
}

/** One timeline entry on one line: when, what, then what is known of it. */
export function formatTimelineEntry(entry: TimelineEntry): string {
  const details = [
    entry.attempt !== undefined ? `attempt ${entry.attempt}` : undefined,
    entry.status_code !== undefined ? `HTTP ${entry.status_code}` : undefined,
    entry.reason !== undefined ? `reason ${entry.reason}` : undefined,
    entry.delay_seconds !== undefined ? `delay ${entry.delay_seconds} s` : undefined,
    entry.error !== undefined ? `error ${entry.error}` : undefined,
  ].filter((d) => d !== undefined);
  return `${entry.at}  ${entry.event.padEnd(16)}  ${details.join(', ')}`.trimEnd() + '\n';
}

/**
 * One row per operation: its service, read or write, and its payload fields, optional ones marked
 * `?` (types with --json).
 */
export function formatOperations(operations: readonly OperationInfo[]): string {
  return (
    table(
      ['operation', 'kind', 'payload fields'],
      operations.map((o) => [
        o.name,
        o.kind,
        o.fields.map((f) => `${f.name}${f.required ? '' : '?'}`).join(', '),
      ]),
    ) + '\nfield? = optional. Fields and their types as JSON: riq operations --json\n'
  );
}

/** Any object: scalars as key/value lines, arrays of objects as tables, nested objects as JSON. */
export function formatGeneric(value: Row): string {
  let out = keyValues(Object.entries(value).filter(([, v]) => !Array.isArray(v) || v.length === 0));
  for (const [key, v] of Object.entries(value)) {
    if (Array.isArray(v) && v.length > 0) out += `\n${key}:\n${arrayTable(v)}`;
  }
  return out;
}

function arrayTable(rows: unknown[]): string {
  if (rows.length === 0) return '(none)\n';
  if (!rows.every(isRecord)) return rows.map((r) => `  ${cell(r)}`).join('\n') + '\n';
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return table(
    columns,
    rows.map((r) => columns.map((c) => r[c])),
  );
}

function isRecord(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
