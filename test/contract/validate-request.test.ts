/**
 * The contract validator itself, on hand-made requests: the shapes the adapters should send pass,
 * and each kind of drift from Atlassian's specs is reported.
 */
import { describe, expect, it } from 'vitest';
import { matchPath, specOperations } from '../support/openapi/spec-index.js';
import { checkRequest, validateRequest, type RecordedRequest } from '../support/openapi/validate-request.js';

const adf = {
  type: 'doc',
  version: 1,
  content: [{ type: 'paragraph', content: [{ type: 'text', text: 'hello' }] }],
};
const storage = { representation: 'storage', value: '<p>hello</p>' };

function req(method: string, url: string, body?: unknown, contentType?: string): RecordedRequest {
  return { method, url, body, ...(contentType !== undefined ? { contentType } : {}) };
}

describe('spec index', () => {
  it('loads the three specs, with full wire paths', () => {
    const ops = specOperations();
    const specs = new Set(ops.map((o) => o.spec));
    expect(specs).toEqual(new Set(['jira-platform-v3', 'confluence-v2', 'confluence-v1']));
    const templates = new Set(ops.map((o) => o.pathTemplate));
    expect(templates).toContain('/rest/api/3/issue/{issueIdOrKey}');
    // Confluence v2 paths are relative to the server URL's /wiki/api/v2.
    expect(templates).toContain('/wiki/api/v2/pages/{id}');
    expect(templates).not.toContain('/pages/{id}');
    expect(templates).toContain('/wiki/rest/api/search');
  });

  it('prefers literal segments over parameters', () => {
    expect(matchPath('/rest/api/3/issue/MD-1/transitions')[0]?.pathTemplate).toBe(
      '/rest/api/3/issue/{issueIdOrKey}/transitions',
    );
    expect(matchPath('/rest/api/3/issue/createmeta')[0]?.pathTemplate).toBe('/rest/api/3/issue/createmeta');
    expect(checkRequest(req('GET', '/rest/api/3/issue/MD-1/transitions')).operation?.operationId).toBe(
      'getTransitions',
    );
  });

  it('resolves requestBody refs (Confluence v2 components/requestBodies)', () => {
    const op = specOperations().find(
      (o) => o.method === 'PUT' && o.pathTemplate === '/wiki/api/v2/pages/{id}',
    );
    expect(op?.body?.bodyRequired).toBe(true);
    expect(op?.body?.required).toEqual(expect.arrayContaining(['id', 'status', 'title', 'body', 'version']));
    expect(op?.body?.properties).toContain('version');
  });

  it('treats additionalProperties:true as open and additionalProperties:false as closed', () => {
    const create = specOperations().find(
      (o) => o.method === 'POST' && o.pathTemplate === '/rest/api/3/issue',
    );
    expect(create?.body?.properties).toBeNull();
    const search = specOperations().find(
      (o) => o.method === 'POST' && o.pathTemplate === '/rest/api/3/search/jql',
    );
    expect(search?.body?.properties).toContain('jql');
  });
});

describe('validateRequest: requests that follow the specs', () => {
  it.each<[string, RecordedRequest]>([
    ['get issue', req('GET', '/rest/api/3/issue/MD-1?fields=summary%2Cstatus,labels')],
    [
      'create issue',
      req(
        'POST',
        '/rest/api/3/issue',
        { fields: { project: { key: 'MD' }, summary: 's', issuetype: { name: 'Task' }, description: adf } },
        'application/json',
      ),
    ],
    ['edit issue', req('PUT', '/rest/api/3/issue/MD-1', { fields: { summary: 's', labels: ['a'] } })],
    ['get transitions', req('GET', '/rest/api/3/issue/MD-1/transitions')],
    ['do transition', req('POST', '/rest/api/3/issue/MD-1/transitions', { transition: { id: '31' } })],
    ['add comment', req('POST', '/rest/api/3/issue/MD-1/comment', { body: adf })],
    [
      'search jql',
      req('POST', '/rest/api/3/search/jql', {
        jql: 'project = MD',
        maxResults: 10,
        fields: ['summary'],
        reconcileIssues: [10000],
      }),
    ],
    ['search jql (GET form)', req('GET', '/rest/api/3/search/jql?jql=project%20%3D%20MD&maxResults=5')],
    ['get page', req('GET', '/wiki/api/v2/pages/123?body-format=storage')],
    ['space by key', req('GET', '/wiki/api/v2/spaces?keys=MD')],
    [
      'create page',
      req('POST', '/wiki/api/v2/pages', { spaceId: '1', status: 'current', title: 't', body: storage }),
    ],
    [
      'update page',
      req('PUT', '/wiki/api/v2/pages/123', {
        id: '123',
        status: 'current',
        title: 't',
        body: storage,
        version: { number: 2 },
      }),
    ],
    ['CQL search', req('GET', '/wiki/rest/api/search?cql=type%3Dpage%20AND%20space%3D%22MD%22&limit=25')],
  ])('%s', (_name, request) => {
    expect(validateRequest(request)).toEqual([]);
  });
});

describe('validateRequest: requests that must fail', () => {
  function problems(request: RecordedRequest): string {
    const found = validateRequest(request);
    expect(found.length).toBeGreaterThan(0);
    return found.join('\n');
  }

  it('a wrong method on a known path', () => {
    expect(problems(req('PATCH', '/rest/api/3/issue/MD-1', { fields: {} }))).toMatch(
      /no spec operation for method PATCH.*PUT \/rest\/api\/3\/issue\/\{issueIdOrKey\}/,
    );
    expect(problems(req('POST', '/wiki/api/v2/pages/123', { title: 'x' }))).toMatch(
      /no spec operation for method POST/,
    );
  });

  it('an unknown path', () => {
    expect(problems(req('GET', '/rest/api/3/issues/MD-1'))).toMatch(/no spec operation has this path/);
    // Confluence v2 paths exist only under /wiki/api/v2, not at the site root.
    expect(problems(req('GET', '/pages/123'))).toMatch(/no spec operation has this path/);
    // v1 page CRUD is gone from Confluence Cloud (and from the v1 spec): only v2 has pages.
    expect(problems(req('POST', '/wiki/rest/api/content', { type: 'page', title: 't' }))).toMatch(
      /no spec operation has this path/,
    );
    expect(problems(req('GET', '/wiki/rest/api/content/123'))).toMatch(/no spec operation has this path/);
  });

  it('the removed /rest/api/3/search (still in the spec, marked deprecated)', () => {
    const op = specOperations().find((o) => o.method === 'GET' && o.pathTemplate === '/rest/api/3/search');
    expect(op?.deprecated).toBe(true);
    expect(problems(req('GET', '/rest/api/3/search?jql=project%3DMD'))).toMatch(
      /GET \/rest\/api\/3\/search: operation searchForIssuesUsingJql is deprecated/,
    );
    expect(problems(req('POST', '/rest/api/3/search', { jql: 'project = MD' }))).toMatch(/is deprecated/);
  });

  it('a missing required body field', () => {
    expect(
      problems(
        req('PUT', '/wiki/api/v2/pages/123', { id: '123', status: 'current', title: 't', body: storage }),
      ),
    ).toContain('PUT /wiki/api/v2/pages/{id}: body: missing required field "version"');
    expect(problems(req('POST', '/wiki/api/v2/pages', { title: 't', body: storage }))).toContain(
      'body: missing required field "spaceId"',
    );
  });

  it('a missing body where the spec requires one', () => {
    expect(problems(req('POST', '/rest/api/3/issue'))).toMatch(/request body is required/);
  });

  it('a body sent to an operation that takes none', () => {
    expect(problems(req('GET', '/rest/api/3/issue/MD-1', { fields: ['summary'] }))).toMatch(
      /sends a body but getIssue takes none/,
    );
  });

  it('an undeclared top-level field in a closed schema', () => {
    expect(problems(req('POST', '/rest/api/3/search/jql', { jql: 'project = MD', startAt: 0 }))).toContain(
      'body: field "startAt" is not declared by the schema',
    );
    expect(
      problems(
        req('POST', '/wiki/api/v2/pages', { spaceId: '1', title: 't', body: storage, spaceKey: 'MD' }),
      ),
    ).toContain('body: field "spaceKey" is not declared by the schema');
  });

  it('an undeclared field one level down', () => {
    expect(
      problems(
        req('PUT', '/wiki/api/v2/pages/123', {
          id: '123',
          status: 'current',
          title: 't',
          body: storage,
          version: { number: 2, minorEdit: true },
        }),
      ),
    ).toContain('body.version: field "minorEdit" is not declared by the schema');
  });

  it('a read-only field', () => {
    expect(
      problems(req('POST', '/rest/api/3/issue/MD-1/transitions', { transition: { id: '31', name: 'Done' } })),
    ).toContain('body.transition.name is read-only and must not be sent');
  });

  it('wrong types, enum values and oneOf bodies', () => {
    const text = problems(
      req('PUT', '/wiki/api/v2/pages/123', {
        id: '123',
        status: 'published',
        title: 't',
        body: { representation: 'html', value: '<p/>' },
        version: { number: '2' },
      }),
    );
    expect(text).toContain('body.status must be one of "current", "draft", got "published"');
    expect(text).toContain('body.version.number must be an integer, got string');
    expect(text).toMatch(/body\.body matches none of the 2 oneOf\/anyOf alternatives/);
    expect(problems(req('POST', '/rest/api/3/search/jql', { jql: 'x', maxResults: 'ten' }))).toContain(
      'body.maxResults must be an integer, got string',
    );
  });

  it('query parameters: required, undeclared, typed, enum', () => {
    expect(problems(req('GET', '/wiki/rest/api/search?limit=10'))).toContain(
      'GET /wiki/rest/api/search: missing required query parameter "cql"',
    );
    expect(problems(req('GET', '/rest/api/3/issue/MD-1?field=summary'))).toContain(
      'query parameter "field" is not declared by getIssue',
    );
    expect(problems(req('GET', '/wiki/rest/api/search?cql=type%3Dpage&limit=many'))).toContain(
      'query parameter "limit" must be an integer, got "many"',
    );
    expect(problems(req('GET', '/wiki/api/v2/pages/123?body-format=html'))).toMatch(
      /query parameter "body-format" must be one of "storage".*got "html"/,
    );
  });

  it('path parameters of the wrong type', () => {
    expect(problems(req('GET', '/wiki/api/v2/pages/MD-1'))).toContain(
      'GET /wiki/api/v2/pages/{id}: path parameter "id" must be an integer, got "MD-1"',
    );
  });

  it('a Content-Type the operation does not accept', () => {
    expect(
      problems(
        req('POST', '/rest/api/3/issue/MD-1/comment', { body: adf }, 'application/x-www-form-urlencoded'),
      ),
    ).toMatch(/Content-Type application\/x-www-form-urlencoded is not one of application\/json/);
  });
});
