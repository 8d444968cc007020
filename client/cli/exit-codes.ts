/** The `riq` CLI's exit codes (documented in client/cli/README.md). */
export const EXIT = {
  /** The request completed, or the command was done. */
  OK: 0,
  /** The request ended `failed` or `dead`. */
  REQUEST_FAILED: 1,
  /** Bad arguments or an unknown command. */
  USAGE: 2,
  /** The API refused the input (4xx): the RIQ error code and message are printed. */
  REFUSED: 3,
  /** `--wait` timed out before the request reached a terminal state. */
  WAIT_TIMEOUT: 4,
  /** Network failure or 5xx after the client's retries (or an unexpected client error). */
  UNAVAILABLE: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
