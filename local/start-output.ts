/** What `npm start` says when it is ready, and when it cannot start. */
import { PortInUseError } from './api-server.js';

/** The ready output: the URL, one request to try and the console (the endpoints go to RIQ_INFO_FILE). */
export function readyMessage(url: string): string {
  return [
    `RIQ is running at ${url}  (Ctrl-C stops everything). Try:`,
    `  curl -s -X POST ${url}/api/queue/submit -H 'content-type: application/json' \\`,
    `    -d '{"operation":"jira.create_task","payload":{"title":"Hello from RIQ","project_id":"MD"}}'`,
    `Console: ${url}/`,
  ].join('\n');
}

/** Why the start failed, in one line: what to do about a busy port, else the error's message. */
export function startFailure(err: unknown, apiPort: number): string {
  if (err instanceof PortInUseError) {
    return `port ${apiPort} is in use (another npm start?): stop it, or set RIQ_PORT to another port (RIQ_PORT=0 picks a free one)`;
  }
  return `failed to start: ${err instanceof Error ? err.message : String(err)}`;
}
