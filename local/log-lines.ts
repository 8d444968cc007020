/**
 * What `npm start` prints: one readable line per event by default (time, level, message, the
 * event's own keys), or JSON lines with `RIQ_LOG_FORMAT=json`. The handlers log through Powertools
 * as on Lambda (JSON lines on stdout/stderr); this reformats those lines on their way out, so the
 * functions' code is the deployed code. CloudWatch embedded-metric (EMF) lines are dropped unless
 * `RIQ_LOG_METRICS=1`: locally nothing collects them.
 */

export type LogFormat = 'text' | 'json';

export interface LocalLogOptions {
  format: LogFormat;
  /** Keep the EMF metric lines. */
  metrics: boolean;
}

export function logOptionsFromEnv(env: NodeJS.ProcessEnv): LocalLogOptions {
  const format = env['RIQ_LOG_FORMAT'] || 'text';
  if (format !== 'text' && format !== 'json') {
    throw new Error(`RIQ_LOG_FORMAT=${format} must be text or json`);
  }
  const metrics = env['RIQ_LOG_METRICS'] || '0';
  if (metrics !== '0' && metrics !== '1') throw new Error(`RIQ_LOG_METRICS=${metrics} must be 0 or 1`);
  return { format, metrics: metrics === '1' };
}

/** Keys every Powertools line carries (lambdas/shared/logger.ts): said by the line's shape, or noise locally. */
const ENVELOPE_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_request_id',
  'xray_trace_id',
  'sampling_rate',
]);
const MAX_VALUE_CHARS = 160;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `key=value`; an error by its message, an object as compact JSON, a long value cut short. */
function keyValue(key: string, value: unknown): string {
  let text: string;
  if (isObject(value) && typeof value['message'] === 'string' && 'name' in value) {
    text = `${String(value['name'])}: ${value['message']}`;
  } else if (typeof value === 'string') {
    text = /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  } else {
    text = JSON.stringify(value) ?? String(value);
  }
  if (text.length > MAX_VALUE_CHARS) text = `${text.slice(0, MAX_VALUE_CHARS - 1)}…`;
  return `${key}=${text}`;
}

/** `13:20:07.123 INFO  message key=value …` (UTC time of day). */
export function textLine(
  level: string,
  message: string,
  time: Date,
  keys: Record<string, unknown> = {},
): string {
  const pairs = Object.entries(keys)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => keyValue(k, v));
  return [time.toISOString().slice(11, 23), level.toUpperCase().padEnd(5), message, ...pairs].join(' ');
}

/**
 * The line to print for one line a handler or the stack wrote, or null to drop it. Lines that are
 * not JSON objects pass unchanged.
 */
export function formatLogLine(line: string, options: LocalLogOptions): string | null {
  if (!line.startsWith('{')) return line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  if (!isObject(parsed)) return line;
  if (isObject(parsed['_aws'])) return options.metrics ? line : null;
  if (options.format === 'json') return line;
  if (typeof parsed['level'] !== 'string' || typeof parsed['message'] !== 'string') return line;
  const time = typeof parsed['timestamp'] === 'string' ? new Date(parsed['timestamp']) : new Date();
  const keys = Object.fromEntries(
    Object.entries(parsed).filter(
      // A request's correlation id is its token: said once.
      ([k, v]) => !ENVELOPE_KEYS.has(k) && !(k === 'correlation_id' && v === parsed['token']),
    ),
  );
  return textLine(parsed['level'], parsed['message'], Number.isNaN(time.getTime()) ? new Date() : time, keys);
}

/** What the stack itself says (`[riq-local]` lines), in the chosen format. */
export function stackLine(
  options: LocalLogOptions,
  level: 'INFO' | 'WARN' | 'ERROR',
  message: string,
  keys: Record<string, unknown> = {},
  time = new Date(),
): string {
  if (options.format === 'json') {
    return JSON.stringify({ level, message, timestamp: time.toISOString(), service: 'riq-local', ...keys });
  }
  return textLine(level, message, time, keys);
}

/**
 * Passes everything written to `stream` through formatLogLine, line by line. Powertools writes
 * each line whole, so a write is taken as whole lines (a write without a final newline is its
 * last line).
 */
export function reformatStream(stream: NodeJS.WriteStream, options: LocalLogOptions): void {
  const write = stream.write.bind(stream) as (chunk: string, cb?: (err?: Error | null) => void) => boolean;
  stream.write = ((chunk: string | Uint8Array, encodingOrCb?: unknown, cb?: unknown): boolean => {
    const callback = (typeof encodingOrCb === 'function' ? encodingOrCb : cb) as
      ((err?: Error | null) => void) | undefined;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const endsLine = text.endsWith('\n');
    const lines = (endsLine ? text.slice(0, -1) : text).split('\n');
    const kept = lines.flatMap((l) => {
      const out = formatLogLine(l, options);
      return out === null ? [] : [out];
    });
    const out = kept.length === 0 ? '' : kept.join('\n') + (endsLine ? '\n' : '');
    return write(out, callback);
  }) as typeof stream.write;
}
