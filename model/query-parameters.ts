/**
 * The one check of a route's query parameters against the names it takes: any other is a 400
 * naming it, with the nearest known name when one is close (a `routing` put in the submit's query
 * instead of its body, or a misspelt `wait`, would otherwise be ignored without a word).
 */
import { ValidationError } from './errors.js';
import { didYouMean } from './suggest.js';

export function onlyQueryParameters(
  params: Readonly<Record<string, string | undefined>> | null | undefined,
  allowed: readonly string[],
): void {
  for (const name of Object.keys(params ?? {})) {
    if (allowed.includes(name)) continue;
    const use = allowed.length === 0 ? 'this route takes none' : `use ${allowed.join(', ')}`;
    throw ValidationError.forField(name, `unknown query parameter; ${use}${didYouMean(name, allowed)}`);
  }
}
