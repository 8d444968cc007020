import { describe, expect, it } from 'vitest';
import { MAX_DEPENDS_ON } from '../../../model/submit-envelope.js';
import {
  checkTemplates,
  dependencyFailedError,
  dependencyVerdict,
  findPlaceholders,
  resolveTemplates,
  templateTokens,
  validateDependsOn,
} from '../../../lambdas/core/domain/dependencies.js';
import { RiqError } from '../../../model/errors.js';
import { newRequestToken } from '../../../lambdas/core/domain/tokens.js';

function errorOf(fn: () => unknown): RiqError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RiqError) return err;
    throw err;
  }
  throw new Error('expected a RiqError');
}

const A = newRequestToken();
const B = newRequestToken();

describe('validateDependsOn', () => {
  it('accepts absent, empty and well-formed lists', () => {
    expect(validateDependsOn(undefined)).toEqual([]);
    expect(validateDependsOn([])).toEqual([]);
    expect(validateDependsOn([A, B])).toEqual([A, B]);
  });

  it(`accepts ${MAX_DEPENDS_ON} tokens and refuses one more`, () => {
    const tokens = Array.from({ length: MAX_DEPENDS_ON + 1 }, () => newRequestToken());
    expect(validateDependsOn(tokens.slice(0, MAX_DEPENDS_ON))).toHaveLength(MAX_DEPENDS_ON);
    const err = errorOf(() => validateDependsOn(tokens));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details?.['field']).toBe('depends_on');
    expect(err.message).toContain(`at most ${MAX_DEPENDS_ON}`);
  });

  it.each([
    ['not an array', A, 'depends_on', 'must be an array'],
    ['a non-string entry', [A, 7], 'depends_on.1', 'must be a request token'],
    ['a malformed token', ['req_abc'], 'depends_on.0', 'must be a request token'],
    ['an upper-case token', [A.toUpperCase()], 'depends_on.0', 'must be a request token'],
    ['a duplicate', [A, B, A], 'depends_on.2', 'duplicates depends_on.0'],
  ])('refuses %s, naming the field', (_name, value, field, message) => {
    const err = errorOf(() => validateDependsOn(value));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.retryable).toBe(false);
    expect(err.details?.['field']).toBe(field);
    expect(err.message).toContain(message);
  });

  it('refuses the request itself', () => {
    const err = errorOf(() => validateDependsOn([B, A], A));
    expect(err.details?.['field']).toBe('depends_on.1');
    expect(err.message).toContain('cannot depend on itself');
  });
});

describe('payload templates', () => {
  describe('templateTokens and findPlaceholders', () => {
    it('finds placeholders anywhere in nested objects and arrays, each token once', () => {
      const payload = {
        task_id: `{{${A}.key}}`,
        body: { text: `see {{${A}.key}} and {{${B}.issues.0.key}}` },
        labels: ['x', `{{${B}.id}}`],
      };
      expect(templateTokens(payload)).toEqual([A, B]);
      expect(findPlaceholders(payload).map((p) => [p.field, p.token, p.path.join('.')])).toEqual([
        ['payload.task_id', A, 'key'],
        ['payload.body.text', A, 'key'],
        ['payload.body.text', B, 'issues.0.key'],
        ['payload.labels.1', B, 'id'],
      ]);
    });

    it('leaves other brace text alone: no path, spaces, short tokens, keys', () => {
      const payload = {
        a: `{{${A}}}`,
        b: `{{ ${A}.key }}`,
        c: '{{req_abc.key}}',
        d: '{{name}}',
        [`{{${A}.key}}`]: 'keys are not templated',
      };
      expect(templateTokens(payload)).toEqual([]);
      expect(resolveTemplates(payload, {})).toEqual({ ok: true, payload });
    });
  });

  describe('checkTemplates', () => {
    it('passes when every placeholder names a dependency', () => {
      expect(() => checkTemplates({ t: `{{${A}.key}}` }, [A])).not.toThrow();
    });

    it('refuses a placeholder whose token is not in depends_on, naming field and placeholder', () => {
      const err = errorOf(() => checkTemplates({ body: { text: `x {{${B}.key}}` } }, [A]));
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.details).toMatchObject({
        field: 'payload.body.text',
        placeholder: `{{${B}.key}}`,
        dependency: B,
      });
      expect(err.message).toContain('not in depends_on');
    });

    it.each(['__proto__', 'constructor', 'prototype'])('refuses the path segment %s', (segment) => {
      const err = errorOf(() => checkTemplates({ t: `{{${A}.fields.${segment}}}` }, [A]));
      expect(err.message).toContain(`forbidden path segment '${segment}'`);
    });
  });

  describe('resolveTemplates', () => {
    const results = {
      [A]: { key: 'MD-7', id: 10007, done: false, nothing: null, fields: { labels: ['a', 'b'] } },
      [B]: { issues: [{ key: 'MD-1' }, { key: 'MD-2' }], total: 2 },
    };

    it('keeps the type of a whole-string placeholder', () => {
      const out = resolveTemplates(
        {
          task_id: `{{${A}.key}}`,
          n: `{{${A}.id}}`,
          b: `{{${A}.done}}`,
          z: `{{${A}.nothing}}`,
          labels: `{{${A}.fields.labels}}`,
          nested: [{ k: `{{${B}.issues.1.key}}` }],
        },
        results,
      );
      expect(out).toEqual({
        ok: true,
        payload: {
          task_id: 'MD-7',
          n: 10007,
          b: false,
          z: null,
          labels: ['a', 'b'],
          nested: [{ k: 'MD-2' }],
        },
      });
    });

    it('stringifies placeholders embedded in a longer string', () => {
      const out = resolveTemplates(
        {
          comment: `created {{${A}.key}} (#{{${A}.id}}, done={{${A}.done}}) of {{${B}.total}}: {{${A}.fields}}`,
        },
        new Map(Object.entries(results)),
      );
      expect(out).toEqual({
        ok: true,
        payload: { comment: 'created MD-7 (#10007, done=false) of 2: {"labels":["a","b"]}' },
      });
    });

    it('does not change its input', () => {
      const payload = { task_id: `{{${A}.key}}`, list: [`{{${A}.key}}`] };
      const copy = structuredClone(payload);
      resolveTemplates(payload, results);
      expect(payload).toEqual(copy);
    });

    it.each([
      ['a missing key', `{{${A}.summary}}`, `${A}.summary does not exist`],
      ['a path through a string', `{{${A}.key.length}}`, `${A}.key.length does not exist`],
      ['an index past the end', `{{${B}.issues.2.key}}`, `${B}.issues.2 is not an index`],
      ['a non-numeric index', `{{${B}.issues.first}}`, `${B}.issues.first is not an index`],
      ['a padded index', `{{${B}.issues.01.key}}`, `${B}.issues.01 is not an index`],
      ['an inherited property', `{{${A}.key.toString}}`, 'does not exist'],
      ['a prototype key', `{{${A}.__proto__}}`, "forbidden path segment '__proto__'"],
      ['a constructor key', `see {{${A}.constructor}}`, "forbidden path segment 'constructor'"],
    ])('fails with VALIDATION_ERROR naming the placeholder on %s', (_name, text, message) => {
      const out = resolveTemplates({ deep: { value: text } }, results);
      expect(out.ok).toBe(false);
      if (out.ok) return;
      expect(out.error.code).toBe('VALIDATION_ERROR');
      expect(out.error.retryable).toBe(false);
      expect(out.error.message).toContain(message);
      expect(out.error.details).toMatchObject({
        field: 'payload.deep.value',
        dependency: text.match(/req_[0-9a-f]+/)?.[0],
      });
      expect(String(out.error.details?.['placeholder'])).toMatch(/^\{\{req_[0-9a-f]{32}\..+\}\}$/);
    });

    it('fails when a referenced dependency has no result', () => {
      const out = resolveTemplates({ t: `{{${B}.total}}` }, { [A]: {} });
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.error.message).toContain(`no result of ${B}`);
    });

    it('keeps an own __proto__ key of the payload as a plain key, never a prototype', () => {
      const payload = JSON.parse(`{"__proto__": {"polluted": "{{${A}.key}}"}, "x": 1}`) as Record<
        string,
        unknown
      >;
      const out = resolveTemplates(payload, results);
      expect(out.ok).toBe(true);
      if (!out.ok) return;
      expect(Object.getPrototypeOf(out.payload)).toBe(Object.prototype);
      expect(Object.hasOwn(out.payload, '__proto__')).toBe(true);
      expect(JSON.stringify(out.payload)).toBe('{"__proto__":{"polluted":"MD-7"},"x":1}');
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('resolves a result field named like a prototype key only when it is the result’s own key', () => {
      const own = JSON.parse('{"toString": "mine"}') as unknown;
      expect(resolveTemplates({ t: `{{${A}.toString}}` }, { [A]: own })).toEqual({
        ok: true,
        payload: { t: 'mine' },
      });
      expect(resolveTemplates({ t: `{{${A}.toString}}` }, { [A]: {} }).ok).toBe(false);
    });
  });
});

describe('dependencyVerdict', () => {
  const C = newRequestToken();

  it('is ready when every parent completed (a cached read counts as completed) or there are none', () => {
    expect(dependencyVerdict([])).toEqual({ kind: 'ready' });
    expect(
      dependencyVerdict([
        { token: A, state: 'completed' },
        { token: B, state: 'cached' },
      ]),
    ).toEqual({ kind: 'ready' });
  });

  it('waits on the parents that have not finished', () => {
    expect(
      dependencyVerdict([
        { token: A, state: 'completed' },
        { token: B, state: 'processing' },
        { token: C, state: 'waiting' },
      ]),
    ).toEqual({ kind: 'waiting', pending: [B, C] });
    expect(dependencyVerdict([{ token: A, state: 'queued' }])).toEqual({ kind: 'waiting', pending: [A] });
  });

  it.each(['failed', 'dead', 'missing'] as const)('fails on a %s parent even while others run', (state) => {
    expect(
      dependencyVerdict([
        { token: A, state: 'queued' },
        { token: B, state },
        { token: C, state: 'failed' },
      ]),
    ).toEqual({ kind: 'failed', dependency: B, state });
  });

  it('names the failed dependency in a DEPENDENCY_FAILED error that is not retryable', () => {
    const err = dependencyFailedError(A, 'dead');
    expect(err.toBody()).toEqual({
      code: 'DEPENDENCY_FAILED',
      message: `dependency ${A} ended dead`,
      retryable: false,
      details: { dependency: A, dependency_status: 'dead' },
    });
    expect(dependencyFailedError(A, 'missing').message).toBe(`dependency ${A} no longer exists`);
  });
});
