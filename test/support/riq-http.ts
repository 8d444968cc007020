/** Small HTTP helpers for the e2e tests: the same calls a caller makes with curl. */
export interface HttpAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export class RiqHttp {
  constructor(
    readonly baseUrl: string,
    readonly caller?: string,
  ) {}

  as(caller: string): RiqHttp {
    return new RiqHttp(this.baseUrl, caller);
  }

  async raw(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.caller ? { 'x-riq-caller': this.caller } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed };
  }

  submit(body: unknown): Promise<HttpAnswer> {
    return this.raw('POST', '/api/queue/submit', JSON.stringify(body));
  }

  result(token: string, wait?: number): Promise<HttpAnswer> {
    return this.raw('GET', `/api/queue/result/${token}${wait !== undefined ? `?wait=${wait}` : ''}`);
  }

  /** Long-polls until the request is terminal or `timeoutMs` passes. */
  async waitFor(token: string, timeoutMs = 30_000): Promise<HttpAnswer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      const answer = await this.result(token, Math.max(0, Math.min(25, left)));
      const status = answer.body['status'];
      if (['completed', 'failed', 'dead', 'cached'].includes(String(status)) || Date.now() >= deadline)
        return answer;
    }
  }
}
