/**
 * The status line of a long run (bench, chaos, compare): what is done, queued, how many 429s the
 * simulator answered and the time so far. On a terminal one line rewritten in place a few times a
 * second and cleared before the figures are printed; into a file or a pipe a plain line at most
 * every 10 s; under CI (`CI` set) nothing, as CI logs keep every line.
 */

/** What a run has counted so far; absent counts are left out of the line. */
export interface ProgressCounts {
  /** What runs: a scenario, a chaos preset, a compared system. */
  label: string;
  /** Requests ended (completed, failed or dead). */
  done?: number;
  /** Requests the run will wait for. */
  total?: number;
  /** Messages in the queues (visible, in flight, delayed). */
  queued?: number;
  /** Calls the simulated Atlassian received. */
  calls?: number;
  /** Of those, answered 429. */
  http429?: number;
  /** What the run is doing: `seeding`, `draining`, … */
  phase?: string;
}

/** The part of a `tty.WriteStream` the line needs (a fake in tests). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressMode = 'tty' | 'plain' | 'off';

/** `tty` on a terminal, `off` under CI, `plain` otherwise. */
export function progressMode(stream: ProgressStream, env: NodeJS.ProcessEnv = process.env): ProgressMode {
  if (env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== 'false') return 'off';
  return stream.isTTY === true ? 'tty' : 'plain';
}

/** `drain  done 120/500  queued 380  calls 140  429s 0  12.3 s`. */
export function formatProgress(counts: ProgressCounts, elapsedMs: number): string {
  const parts = [counts.label];
  if (counts.phase !== undefined) parts.push(counts.phase);
  if (counts.done !== undefined) {
    parts.push(`done ${counts.done}${counts.total !== undefined ? `/${counts.total}` : ''}`);
  }
  if (counts.queued !== undefined) parts.push(`queued ${counts.queued}`);
  if (counts.calls !== undefined) parts.push(`calls ${counts.calls}`);
  if (counts.http429 !== undefined) parts.push(`429s ${counts.http429}`);
  parts.push(`${(elapsedMs / 1000).toFixed(1)} s`);
  return parts.join('  ');
}

export interface ProgressLineOptions {
  stream: ProgressStream;
  /** @default progressMode(stream) */
  mode?: ProgressMode;
  /** Epoch ms; the run's start is the first reading. @default Date.now */
  now?: () => number;
  /** Least time between two renderings on a terminal. @default 200 */
  ttyIntervalMs?: number;
  /** Least time between two plain lines. @default 10_000 */
  plainIntervalMs?: number;
}

const CLEAR_LINE = '\r\x1b[K';

/** One status line; `update` as often as counts change, it renders at its own pace. */
export class ProgressLine {
  private readonly stream: ProgressStream;
  readonly mode: ProgressMode;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly startedAt: number;
  private lastWrite = -Infinity;
  private shown = false;
  private latest: ProgressCounts | undefined;

  constructor(options: ProgressLineOptions) {
    this.stream = options.stream;
    this.mode = options.mode ?? progressMode(options.stream);
    this.now = options.now ?? Date.now;
    this.intervalMs =
      this.mode === 'tty' ? (options.ttyIntervalMs ?? 200) : (options.plainIntervalMs ?? 10_000);
    this.startedAt = this.now();
  }

  /** Takes the latest counts; writes them when the last write is old enough. */
  update(counts: ProgressCounts): void {
    this.latest = counts;
    if (this.mode === 'off') return;
    const at = this.now();
    if (at - this.lastWrite < this.intervalMs) return;
    this.lastWrite = at;
    this.render(counts, at);
  }

  /** Renders the latest counts again (the elapsed time moves on when the counts do not). */
  tick(): void {
    if (this.latest) this.update(this.latest);
  }

  /** Removes the line from a terminal, so the figures print on a clean line; idempotent. */
  clear(): void {
    if (this.mode === 'tty' && this.shown) this.stream.write(CLEAR_LINE);
    this.shown = false;
  }

  private render(counts: ProgressCounts, at: number): void {
    const text = formatProgress(counts, at - this.startedAt);
    if (this.mode === 'plain') {
      this.stream.write(`${text}\n`);
      return;
    }
    // Longer than the terminal would wrap, and `\r` would then rewrite only the last row.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    this.stream.write(`${CLEAR_LINE}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.shown = true;
  }
}

/**
 * Renders `read()` every `everyMs` until the answered stop is called (which clears the line). A
 * failed read is skipped: the status line never ends a run.
 */
export function trackProgress(
  line: ProgressLine,
  read: () => ProgressCounts | Promise<ProgressCounts>,
  everyMs = 250,
): () => void {
  let stopped = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    void Promise.resolve()
      .then(read)
      .then(
        (counts) => {
          if (!stopped) line.update(counts);
        },
        () => undefined,
      )
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
    line.clear();
  };
}
