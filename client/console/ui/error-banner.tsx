import type { ApiError } from './api.js';

/** An API error as the operator should read it: its code, its message. */
export function ErrorBanner({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-code={error.code}>
      <strong>{error.code}</strong> {error.status > 0 ? `(HTTP ${error.status})` : ''}: {error.message}
    </p>
  );
}
