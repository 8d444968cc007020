import { describe, expect, it } from 'vitest';
import type { RiqError } from '../../../model/errors.js';
import { onlyQueryParameters } from '../../../model/query-parameters.js';
import { thrown } from '../../support/thrown.js';

describe('onlyQueryParameters', () => {
  const query = (q: Record<string, string> | undefined) => q;

  it('lets the route’s own parameters and an empty query through', () => {
    expect(() => onlyQueryParameters(query({ wait: '10' }), ['wait'])).not.toThrow();
    expect(() => onlyQueryParameters(query(undefined), [])).not.toThrow();
    expect(() => onlyQueryParameters(query({}), [])).not.toThrow();
  });

  it('refuses any other with a 400 naming it, and the nearest known one', () => {
    const misspelt = thrown(() => onlyQueryParameters(query({ wiat: '10' }), ['wait'])) as RiqError;
    expect(misspelt.code).toBe('VALIDATION_ERROR');
    expect(misspelt.details?.['field']).toBe('wiat');
    expect(misspelt.message).toContain('did you mean wait?');
    const none = thrown(() => onlyQueryParameters(query({ routing: 'queued' }), [])) as RiqError;
    expect(none.details?.['field']).toBe('routing');
    expect(none.message).toContain('this route takes none');
  });
});
