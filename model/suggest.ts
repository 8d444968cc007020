/**
 * "Did you mean …?": the known name closest to a mistyped one by edit distance, when it is close
 * enough to be a typo. Used by the API's validation errors and by the CLI.
 */
import { distance } from 'fastest-levenshtein';

/**
 * The candidate nearest to `input` (case-insensitive Levenshtein distance), or undefined when none is
 * within a third of the longer name's length, rounded up (at most 3 edits): `titel` → `title`,
 * `prio` → `priority` is too far for distance, so a candidate that starts with the input counts too.
 */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  const typed = input.toLowerCase();
  let best: { name: string; edits: number } | undefined;
  for (const name of candidates) {
    const known = name.toLowerCase();
    if (known === typed) return name;
    const edits = known.startsWith(typed) && typed.length >= 3 ? 1 : distance(typed, known);
    const allowed = Math.min(3, Math.ceil(Math.max(typed.length, known.length) / 3));
    if (edits <= allowed && (best === undefined || edits < best.edits)) best = { name, edits };
  }
  return best?.name;
}

/** `; did you mean x?` for a close candidate, else nothing. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const name = closestName(input, candidates);
  return name === undefined ? '' : `; did you mean ${name}?`;
}
