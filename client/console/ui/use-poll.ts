/**
 * Loads with `load` now, every `intervalMs` (none when 0) and on `refresh()`. Loads never overlap:
 * a refresh asked for while one runs runs right after it. An answer is shown only for the `deps` it
 * was loaded for, so a view never shows the previous filter's or page's rows under the new one.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** When the last answer (or error) came. */
  at: Date | undefined;
  refresh: () => Promise<void>;
}

interface Loaded<T> {
  key: string;
  data: T | undefined;
  error: ApiError | undefined;
  at: Date | undefined;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: readonly unknown[]): Polled<T> {
  const key = JSON.stringify(deps);
  const [state, setState] = useState<Loaded<T>>({ key, data: undefined, error: undefined, at: undefined });
  const running = useRef<Promise<void> | undefined>(undefined);
  const again = useRef(false);

  const loadOnce = useCallback(async () => {
    try {
      const data = await load();
      setState({ key, data, error: undefined, at: new Date() });
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(0, 'CONSOLE_ERROR', String(err));
      setState((s) => ({ key, data: s.key === key ? s.data : undefined, error, at: new Date() }));
    }
  }, [key]);
  // The loop below may outlive a change of deps: it always runs the latest load.
  const latest = useRef(loadOnce);
  latest.current = loadOnce;

  const refresh = useCallback(async () => {
    if (running.current) {
      again.current = true;
      return running.current;
    }
    running.current = (async () => {
      do {
        again.current = false;
        await latest.current();
      } while (again.current);
    })().finally(() => (running.current = undefined));
    return running.current;
  }, [loadOnce]);

  useEffect(() => {
    void refresh();
    const timer = intervalMs > 0 ? setInterval(() => void refresh(), intervalMs) : undefined;
    return () => {
      if (timer) clearInterval(timer);
    };
  }, [refresh, intervalMs]);

  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    at: current ? state.at : undefined,
    refresh,
  };
}
