/** Cursor paging: the cursors of the pages before this one, so Previous can go back. */
import { useState } from 'preact/hooks';

export interface Paging {
  cursor: string | undefined;
  page: number;
  next: (cursor: string) => void;
  previous: () => void;
  reset: () => void;
}

export function usePaging(): Paging {
  const [stack, setStack] = useState<Array<string | undefined>>([undefined]);
  return {
    cursor: stack[stack.length - 1],
    page: stack.length,
    next: (cursor) => setStack((s) => [...s, cursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

export function Pager({ paging, nextCursor }: { paging: Paging; nextCursor: string | null | undefined }) {
  return (
    <p class="pager">
      <button type="button" disabled={paging.page === 1} onClick={paging.previous}>
        ← Previous
      </button>
      <span>page {paging.page}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && paging.next(nextCursor)}>
        Next →
      </button>
    </p>
  );
}

/** The page size: `limit` from the link (1-100), else `fallback`. */
export function pageSize(params: URLSearchParams, fallback: number): number {
  const n = Number(params.get('limit'));
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : fallback;
}
