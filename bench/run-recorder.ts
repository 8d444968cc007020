/**
 * What a benchmark run records for its chart and its runner's status line: the messages in the
 * queues once a second, the simulator's calls (read once more as the stack stops), and, when the
 * runner shows a status line, the counts so far once a second.
 */
import type { SimCall, SimulatorControl } from '../local/atlassian-sim/control.js';
import type { DepthSample } from './chart-svg.js';
import type { ProgressCounts } from './progress.js';
import { PROGRESS_ENV, writeProgress } from './result-line.js';

export interface Recording {
  /** Epoch ms the stack was ready. */
  startedAt: number;
  /** Epoch ms the scenario's clock started (the first `callsSince`), when it has one. */
  measuredFrom?: number;
  /** Epoch ms the stack was stopped. */
  endedAt: number;
  calls: SimCall[];
  depth: DepthSample[];
  /** Jira's configured calls per second. */
  limitPerSecond: number;
}

export interface RecorderTarget {
  sim: SimulatorControl;
  sqsEndpoint: string;
  queueUrls: readonly string[];
  limitPerSecond: number;
  /** The requests submitted and ended so far (the harness counts them). */
  tally: () => { submitted: number; ended: number };
}

const SAMPLE_MS = 1000;

export class RunRecorder {
  private readonly startedAt = Date.now();
  private measuredFrom: number | undefined;
  private readonly depth: DepthSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private busy = false;
  private finished: Recording | undefined;

  constructor(
    private readonly target: RecorderTarget,
    private readonly label: string,
    private readonly reportProgress = process.env[PROGRESS_ENV] === '1',
  ) {
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** The scenario's clock: the chart starts here. The first call counts. */
  markMeasured(at: number): void {
    this.measuredFrom ??= at;
  }

  /** Reads the simulator's calls one last time (before the stack stops) and stops sampling. */
  async finish(): Promise<Recording> {
    clearInterval(this.timer);
    if (this.finished) return this.finished;
    const calls = await this.target.sim
      .stats()
      .then((s) => s.calls.filter((c) => !c.path.startsWith('/__sim')))
      .catch(() => []);
    this.finished = {
      startedAt: this.startedAt,
      ...(this.measuredFrom !== undefined ? { measuredFrom: this.measuredFrom } : {}),
      endedAt: Date.now(),
      calls,
      depth: this.depth,
      limitPerSecond: this.target.limitPerSecond,
    };
    return this.finished;
  }

  private async sample(): Promise<void> {
    if (this.busy || this.finished) return;
    this.busy = true;
    try {
      const at = Date.now();
      const messages = await queuedMessages(this.target.sqsEndpoint, this.target.queueUrls);
      this.depth.push({ at, messages });
      if (this.reportProgress) {
        const stats = await this.target.sim.stats();
        const calls = stats.calls.filter((c) => !c.path.startsWith('/__sim'));
        const { submitted, ended } = this.target.tally();
        const counts: ProgressCounts = {
          label: this.label,
          done: ended,
          total: submitted,
          queued: messages,
          calls: calls.length,
          http429: calls.filter((c) => c.status === 429).length,
        };
        writeProgress(counts);
      }
    } catch {
      // The stack is stopping, or a read was refused: the next sample tries again.
    } finally {
      this.busy = false;
    }
  }
}

/**
 * The messages (visible, in flight, delayed) in all `queueUrls`, asked of the SQS emulator over its
 * JSON protocol with `fetch`: the SDK's requests in this process are counted as the run's AWS calls
 * (bench/aws-calls.ts), and the chart's sampling must not add to them.
 */
export async function queuedMessages(endpoint: string, queueUrls: readonly string[]): Promise<number> {
  const depths = await Promise.all(
    queueUrls.map(async (QueueUrl) => {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'AmazonSQS.GetQueueAttributes',
        },
        body: JSON.stringify({
          QueueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      });
      if (!res.ok) throw new Error(`GetQueueAttributes answered ${res.status}`);
      const a = ((await res.json()) as { Attributes?: Record<string, string> }).Attributes ?? {};
      return (
        Number(a['ApproximateNumberOfMessages'] ?? 0) +
        Number(a['ApproximateNumberOfMessagesNotVisible'] ?? 0) +
        Number(a['ApproximateNumberOfMessagesDelayed'] ?? 0)
      );
    }),
  );
  return depths.reduce((a, b) => a + b, 0);
}

let current: RunRecorder | undefined;

/** The recorder of this process's bench (one stack per process). */
export function startRecorder(target: RecorderTarget, label: string): RunRecorder {
  current = new RunRecorder(target, label);
  return current;
}

export function currentRecorder(): RunRecorder | undefined {
  return current;
}
