/**
 * Jira's per-issue write limit: writes to one issue (edit, transition, comment) are allowed at most
 * `writes` times in any `seconds`, for each window (Atlassian's: 20 per 2 s and 100 per 30 s);
 * another is refused with 429 `jira-per-issue-on-write` and the `Retry-After` until the oldest write
 * in the full window leaves it. A refused write does not count. Atlassian documents this for Jira
 * issues only, so Confluence page writes (PUT a page) are limited the same way only with
 * `confluence_pages: true`, answered `confluence-per-page-on-write` (the simulator's own name).
 * Real time: these are per-second limits.
 */
import * as z from 'zod';
import { jiraError, type SimResponse } from './router.js';

export const perIssueWriteLimitSchema = z.strictObject({
  /** @default [{writes: 20, seconds: 2}, {writes: 100, seconds: 30}] */
  windows: z
    .array(
      z.strictObject({
        writes: z.number().int().min(1).max(1_000_000),
        seconds: z.number().positive().max(86_400),
      }),
    )
    .min(1)
    .max(8)
    .optional(),
  /** Limit writes to one Confluence page too. @default false */
  confluence_pages: z.boolean().optional(),
});

export type PerIssueWriteLimitInput = z.infer<typeof perIssueWriteLimitSchema>;

export interface PerIssueWriteLimitConfig {
  windows: { writes: number; seconds: number }[];
  confluence_pages: boolean;
}

export const DEFAULT_PER_ISSUE_WINDOWS = [
  { writes: 20, seconds: 2 },
  { writes: 100, seconds: 30 },
] as const;

export function perIssueWriteLimitConfig(input: PerIssueWriteLimitInput): PerIssueWriteLimitConfig {
  return {
    windows: (input.windows ?? DEFAULT_PER_ISSUE_WINDOWS).map((w) => ({ ...w })),
    confluence_pages: input.confluence_pages ?? false,
  };
}

/** What a write is to: one issue or one page, by a stable id. */
export interface WriteTarget {
  kind: 'issue' | 'page';
  id: string;
}

export class PerIssueWriteLimit {
  /** `kind:id` → times of its counted writes, oldest first. */
  private readonly writes = new Map<string, number[]>();
  private readonly longestMs: number;

  constructor(
    readonly config: PerIssueWriteLimitConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.longestMs = Math.max(...config.windows.map((w) => w.seconds * 1000));
  }

  /** Counts a write to `target`, or answers the 429 when one of the windows is full. */
  take(target: WriteTarget): SimResponse | undefined {
    if (target.kind === 'page' && !this.config.confluence_pages) return undefined;
    const now = this.now();
    const key = `${target.kind}:${target.id}`;
    const times = (this.writes.get(key) ?? []).filter((t) => t > now - this.longestMs);
    let waitMs = 0;
    for (const { writes, seconds } of this.config.windows) {
      const inWindow = times.filter((t) => t > now - seconds * 1000);
      // Full: the write that frees a slot is the `writes`-th newest one.
      const freeing = inWindow[inWindow.length - writes];
      if (freeing !== undefined) waitMs = Math.max(waitMs, freeing + seconds * 1000 - now);
    }
    if (waitMs > 0) {
      this.writes.set(key, times);
      return {
        ...jiraError(429, ['Rate limit exceeded.']),
        headers: {
          'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
          'RateLimit-Reason':
            target.kind === 'issue' ? 'jira-per-issue-on-write' : 'confluence-per-page-on-write',
        },
      };
    }
    times.push(now);
    this.writes.set(key, times);
    return undefined;
  }
}
