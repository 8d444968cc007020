/**
 * The console server's own refusals, in RIQ's error shape (`{"error": {code, message, retryable}}`,
 * docs/api.md "Errors"), so the UI shows them like any API error.
 */
export const CONSOLE_ERRORS = {
  /** The Host header is not the console's own loopback address (DNS rebinding). */
  foreignHost: { status: 403, code: 'CONSOLE_FOREIGN_HOST' },
  /** An Origin header from another site. */
  foreignOrigin: { status: 403, code: 'CONSOLE_FOREIGN_ORIGIN' },
  /** A proxied call without `X-Riq-Console: 1` (a cross-site form post cannot set it). */
  headerRequired: { status: 403, code: 'CONSOLE_HEADER_REQUIRED' },
  /** A path under /api/queue/ that is no RIQ route. */
  unknownRoute: { status: 404, code: 'CONSOLE_UNKNOWN_ROUTE' },
  /** A RIQ route's path with a method it does not have. */
  methodNotAllowed: { status: 405, code: 'METHOD_NOT_ALLOWED' },
  /** A body over the proxy's limit. */
  bodyTooLarge: { status: 413, code: 'CONSOLE_BODY_TOO_LARGE' },
  /** The RIQ endpoint did not answer (network failure or timeout). */
  upstreamUnreachable: { status: 502, code: 'CONSOLE_UPSTREAM_UNREACHABLE' },
  /** The operator's AWS credentials could not be resolved to sign the call. */
  signingFailed: { status: 502, code: 'CONSOLE_SIGNING_FAILED' },
} as const;

export type ConsoleErrorKind = keyof typeof CONSOLE_ERRORS;

export function consoleErrorBody(
  kind: ConsoleErrorKind,
  message: string,
): { error: Record<string, unknown> } {
  const { code } = CONSOLE_ERRORS[kind];
  return { error: { code, message, retryable: kind === 'upstreamUnreachable' } };
}
