/** `npm start`'s log lines: readable by default, JSON on request, EMF metric lines only when asked. */
import { describe, expect, it } from 'vitest';
import { formatLogLine, logOptionsFromEnv, stackLine } from '../../../local/log-lines.js';
import { readyMessage, startFailure } from '../../../local/start-output.js';
import { PortInUseError } from '../../../local/api-server.js';

const text = { format: 'text', metrics: false } as const;
const json = { format: 'json', metrics: false } as const;

const powertools = JSON.stringify({
  level: 'INFO',
  message: 'request submitted',
  timestamp: '2026-12-06T13:26:10.524Z',
  service: 'riq',
  cold_start: true,
  function_request_id: 'f3a17c16',
  correlation_id: 'req_1',
  token: 'req_1',
  operation: 'jira.create_task',
  status: 'queued',
  error: { name: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
  note: 'two words',
});
const emf = JSON.stringify({ _aws: { Timestamp: 1, CloudWatchMetrics: [] }, RequestsSubmitted: 1 });

describe('formatLogLine', () => {
  it('turns a Powertools line into time, level, message and its own keys', () => {
    expect(formatLogLine(powertools, text)).toBe(
      '13:26:10.524 INFO  request submitted token=req_1 operation=jira.create_task status=queued error=Error: boom note="two words"',
    );
  });

  it('keeps a correlation id that is not the token', () => {
    const line = JSON.stringify({
      level: 'WARN',
      message: 'm',
      timestamp: '2026-12-06T00:00:00.000Z',
      correlation_id: 'c',
    });
    expect(formatLogLine(line, text)).toBe('00:00:00.000 WARN  m correlation_id=c');
  });

  it('passes JSON lines unchanged with RIQ_LOG_FORMAT=json', () => {
    expect(formatLogLine(powertools, json)).toBe(powertools);
  });

  it('drops EMF metric lines unless RIQ_LOG_METRICS=1', () => {
    expect(formatLogLine(emf, text)).toBeNull();
    expect(formatLogLine(emf, json)).toBeNull();
    expect(formatLogLine(emf, { format: 'text', metrics: true })).toBe(emf);
  });

  it('passes lines that are not JSON objects unchanged', () => {
    for (const line of ['plain words', '{not json', '  curl -s …', '[1,2]']) {
      expect(formatLogLine(line, text)).toBe(line);
    }
  });
});

describe('the stack’s own lines', () => {
  const at = new Date('2026-12-06T13:00:00.000Z');
  it('are text or JSON as chosen', () => {
    expect(stackLine(text, 'INFO', 'sweeper every 60000 ms', {}, at)).toBe(
      '13:00:00.000 INFO  sweeper every 60000 ms',
    );
    expect(JSON.parse(stackLine(json, 'ERROR', 'x', {}, at))).toEqual({
      level: 'ERROR',
      message: 'x',
      timestamp: '2026-12-06T13:00:00.000Z',
      service: 'riq-local',
    });
  });
});

describe('logOptionsFromEnv', () => {
  it('defaults to text without metrics', () => {
    expect(logOptionsFromEnv({})).toEqual({ format: 'text', metrics: false });
    expect(logOptionsFromEnv({ RIQ_LOG_FORMAT: 'json', RIQ_LOG_METRICS: '1' })).toEqual({
      format: 'json',
      metrics: true,
    });
  });

  it('names a bad value', () => {
    expect(() => logOptionsFromEnv({ RIQ_LOG_FORMAT: 'xml' })).toThrow(
      'RIQ_LOG_FORMAT=xml must be text or json',
    );
    expect(() => logOptionsFromEnv({ RIQ_LOG_METRICS: 'yes' })).toThrow('RIQ_LOG_METRICS=yes must be 0 or 1');
  });
});

describe('start output', () => {
  it('the ready message is the URL, one curl and the console, under 400 characters', () => {
    const message = readyMessage('http://localhost:3000');
    expect(message).toContain('RIQ is running at http://localhost:3000 ');
    expect(message).toContain(
      "curl -s -X POST http://localhost:3000/api/queue/submit -H 'content-type: application/json'",
    );
    expect(message.split('\n').at(-1)).toBe('Console: http://localhost:3000/');
    expect(message.length).toBeLessThan(400);
  });

  it('a busy port is one line naming the port and RIQ_PORT', () => {
    const line = startFailure(new PortInUseError(3000), 3000);
    expect(line).toBe(
      'port 3000 is in use (another npm start?): stop it, or set RIQ_PORT to another port (RIQ_PORT=0 picks a free one)',
    );
    expect(startFailure(new Error('RIQ_SIM_AUTH must be api_token or oauth'), 3000)).toBe(
      'failed to start: RIQ_SIM_AUTH must be api_token or oauth',
    );
  });
});
