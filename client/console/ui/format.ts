/** Small display helpers shared by the views. */

/** `2026-12-06T19:53:27.448Z` → `19:53:27` today, else `2026-12-06 19:53:27` (the browser's zone). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? clock : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock}`;
}

export function num(n: number, digits = 1): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** An error as the API gives it (`{code, message}`) or as a timeline writes it (a string). */
export function errorText(e: unknown): string {
  if (e === undefined || e === null) return '';
  if (typeof e === 'string') return e;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return [code, message].filter((x) => typeof x === 'string' && x !== '').join(': ');
}
