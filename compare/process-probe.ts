/**
 * What RIQ's process went through during its run, in intervals: event-loop delay and utilisation
 * (`perf_hooks`), and every AWS SDK call the local stack made (DynamoDB Local, the SQS emulator, the
 * S3 emulator): how many per second and how long they took. It wraps the `send` of the SDK's shared
 * client base class, so it sees the calls of every client the stack builds, unchanged otherwise.
 * Started by the RIQ system only; its lines are printed with the run's notes.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { itemKeyOf } from '../bench/aws-calls.js';
import { percentile } from '../bench/harness.js';

interface Interval {
  calls: Map<string, number[]>;
  loopMaxMs: number;
  loopP99Ms: number;
  utilisation: number;
}

type Send = (this: object, command: object, ...rest: unknown[]) => Promise<unknown>;

/** The SDK client family of a client (`DynamoDB`, `SQS`, `S3`) from its class name. */
function familyOf(client: object): string {
  const name = client.constructor.name;
  return name.replace(/DocumentClient$|Client$/, '');
}

/** The kind of item a DynamoDB command addresses, from its key's prefix: ` RATE#`, ` request`… */
function itemKind(command: object): string {
  const pk = itemKeyOf((command as { input?: unknown }).input);
  if (pk === undefined) return '';
  const hash = pk.indexOf('#');
  return hash > 0 ? ` ${pk.slice(0, hash + 1)}` : ' request';
}

export interface ProcessProbe {
  /** Stops sampling and restores the SDK; the report, one line per interval plus a summary. */
  stop(): string[];
}

export function startProcessProbe(intervalMs = 5_000): ProcessProbe {
  const base = Object.getPrototypeOf(DynamoDBClient.prototype) as { send: Send };
  const original = base.send;
  let current: Map<string, number[]> = new Map();
  const commands = new Map<string, number>();
  const conditionFailed = new Map<string, number>();
  base.send = async function (this: object, command: object, ...rest: unknown[]) {
    const family = familyOf(this);
    const name = `${family} ${command.constructor.name.replace(/Command$/, '')}${itemKind(command)}`;
    commands.set(name, (commands.get(name) ?? 0) + 1);
    const started = performance.now();
    try {
      return await original.call(this, command, ...rest);
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
        conditionFailed.set(name, (conditionFailed.get(name) ?? 0) + 1);
      }
      throw err;
    } finally {
      const list = current.get(family) ?? [];
      list.push(performance.now() - started);
      current.set(family, list);
    }
  };
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  const intervals: Interval[] = [];
  const sample = () => {
    const now = performance.eventLoopUtilization();
    intervals.push({
      calls: current,
      loopMaxMs: delay.max / 1e6,
      loopP99Ms: delay.percentile(99) / 1e6,
      utilisation: performance.eventLoopUtilization(now, elu).utilization,
    });
    elu = now;
    current = new Map();
    delay.reset();
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      delay.disable();
      base.send = original;
      const seconds = intervalMs / 1000;
      const families = [...new Set(intervals.flatMap((i) => [...i.calls.keys()]))].sort();
      const lines = intervals.map((i, n) => {
        const parts = families.map((f) => {
          const ms = i.calls.get(f) ?? [];
          if (ms.length === 0) return `${f} 0/s`;
          return `${f} ${(ms.length / seconds).toFixed(0)}/s p50 ${percentile(ms, 0.5).toFixed(0)} p95 ${percentile(ms, 0.95).toFixed(0)} max ${percentile(ms, 1).toFixed(0)} ms`;
        });
        return `  ${String(n * seconds).padStart(4)} s: event loop busy ${(i.utilisation * 100).toFixed(0)} %, delay p99 ${i.loopP99Ms.toFixed(0)} max ${i.loopMaxMs.toFixed(0)} ms; ${parts.join('; ')}`;
      });
      const counts = [...commands.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(
          ([name, n]) =>
            `${name} ${n}${conditionFailed.has(name) ? ` (${conditionFailed.get(name)} condition failed)` : ''}`,
        )
        .join(', ');
      return [
        `process probe, every ${seconds} s from the stack's start (SDK call latency as the caller saw it):`,
        ...lines,
        `  SDK calls in all: ${counts}`,
      ];
    },
  };
}
