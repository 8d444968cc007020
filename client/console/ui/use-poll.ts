/** Loads with `load` now and every `intervalMs` (none when 0); a slow answer never overlaps the next. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** When the last answer (or error) came. */
  at: Date | undefined;
  refresh: () => Promise<void>;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: readonly unknown[]): Polled<T> {
  const [state, setState] = useState<Omit<Polled<T>, 'refresh'>>({
    data: undefined,
    error: undefined,
    at: undefined,
  });
  const busy = useRef(false);
  const alive = useRef(true);
  const refresh = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      const data = await load();
      if (alive.current) setState({ data, error: undefined, at: new Date() });
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(0, 'CONSOLE_ERROR', String(err));
      if (alive.current) setState((s) => ({ data: s.data, error, at: new Date() }));
    } finally {
      busy.current = false;
    }
  }, deps);
  useEffect(() => {
    alive.current = true;
    setState({ data: undefined, error: undefined, at: undefined });
    void refresh();
    const timer = intervalMs > 0 ? setInterval(() => void refresh(), intervalMs) : undefined;
    return () => {
      alive.current = false;
      if (timer) clearInterval(timer);
    };
  }, [refresh, intervalMs]);
  return { ...state, refresh };
}
