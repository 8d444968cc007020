/** The `--help` texts of `riq` and each of its commands. */
import { DEFAULT_ENDPOINT } from './args.js';

const GLOBAL = `Global options:
  --endpoint URL   RIQ API base URL (default: $RIQ_ENDPOINT or ${DEFAULT_ENDPOINT})
  --region R       sign requests with SigV4 for region R (default: $AWS_REGION, only for an
                   *.amazonaws.com endpoint)
  --caller ARN     local stack only: the caller identity (X-Riq-Caller; default: $RIQ_CALLER)
  --json           machine output: exactly the API's JSON on stdout
  -h, --help       show help
  --version        print riq's version`;

const EXIT_CODES = `Exit codes:
  0  success (request completed, or command done)
  1  the request ended failed or dead
  2  usage error (bad arguments, unknown command, operation or payload field)
  3  the API refused the input (4xx): the RIQ error code and message go to stderr
  4  --wait timed out
  5  cannot reach the endpoint (refused, unknown host), network failure or 5xx after retries`;

const MAIN = `riq: the command line of RIQ, the queue in front of Jira and Confluence

Usage: riq <command> [arguments] [options]

Commands:
  submit <operation> <payload>   submit a request (payload: JSON, @file or - for stdin)
  result <token>                 show a request's state and result
  watch <token>                  follow a request's timeline until it ends (operator)
  list                           list queued, processing, waiting and dead requests (operator)
  operations                     the ten operations, read or write, and their payload fields
  health                         queue depths, breakers, budgets and dead letters at a glance
  breakers                       each service's circuit breaker
  metrics                        the current gauges
  dlq list                       list dead requests (operator)
  dlq retry <token>              queue a dead request again (operator)
  dlq purge <token>              delete a dead request (operator)
  dlq redrive                    move dead-letter-queue messages back to their queues (operator)
  console                        web console on 127.0.0.1 (riq console --help)
  version                        print riq's version (also: riq --version)

Run 'riq <command> --help' for a command's options.

${GLOBAL}

${EXIT_CODES}
`;

const COMMANDS: Record<string, string> = {
  submit: `Usage: riq submit <operation> <payload-json|@file|-> [options]

Submits one request, e.g.
  riq submit jira.create_task '{"title":"Fix login","project_id":"MD"}' --wait

The operation and the payload's field names are checked before anything is sent: a slip is a
usage error naming the nearest one ('riq operations' lists them).

Options:
  --priority high|normal|low     queue priority (default: normal)
  --idempotency-key K            dedupe key (default: a new UUID per submit)
  --fresh                        reads: bypass the cache
  --routing adaptive|queued      queued: never answered DIRECT (default: adaptive)
  --fire-and-forget              answered 202 at once, always queued
  --depends-on T1,T2             start only after these requests complete
  --after CST                    start only after the write of this consistency token
  --wait [S]                     wait until the request is completed, failed or dead, at most
                                 S seconds (default: 60); --wait S = --wait --timeout S
  --timeout S                    with --wait: give up after S seconds

Exit code 0 when submitted (or completed with --wait), 1 when the request failed or is dead.`,
  result: `Usage: riq result <token> [--wait [S]]

Shows a request's state, and its result or error once terminal.

Options:
  --wait [S]    long-poll until the request is completed, failed or dead, at most S seconds
                (default: 60); --wait S = --wait --timeout S
  --timeout S   with --wait: give up after S seconds

Exit code 1 when the request failed or is dead.`,
  watch: `Usage: riq watch <token> [--timeout S]   (operator route)

Prints the request's timeline (submitted, attempts, failures, deferrals, ...), then each new entry
as it arrives, looking once a second, until the request is completed, failed or dead. With --json:
one JSON line per entry, then the request's last view.

Options:
  --timeout S   stop watching after S seconds (exit 4; default: never)

Exit code 0 when the request completed, 1 when it failed or is dead (as 'riq result --wait').`,
  list: `Usage: riq list [--status S] [--operation OP] [--service jira|confluence] [--limit N] [--cursor C]
                 (operator route)

Requests that are not finished, and dead ones: token, status, operation, priority, attempts,
times and last error. Without --status: processing, queued, waiting, then dead, each oldest first.

Options:
  --status S      processing, queued, waiting or dead
  --operation OP  only this operation (e.g. jira.create_task)
  --service S     only this service's (jira or confluence)
  --limit N       page size, 1-100 (default: 25)
  --cursor C      the next page, as printed after a listing (next_cursor)`,
  operations: `Usage: riq operations [--json]

The ten operations: each one's service, whether it reads (served from the read cache) or writes,
and its payload fields, optional ones marked '?'. With --json: each field's JSON type and whether
it is required.`,
  version: `Usage: riq version   (or riq --version)

Prints riq's version (package.json's).`,
  health: `Usage: riq health

Overall status (healthy/degraded) and why, each queue's depth and each breaker's state, and each
service's budgets: the token bucket (tokens, effective/configured rate, how far ahead each line's
next free slot is, pauses in force) and the hourly points budget (on/off, points, pace, quota and
its source, near-limit and exhausted until).`,
  breakers: `Usage: riq breakers

Each service's circuit breaker: state, failures, opened and next attempt times.`,
  metrics: `Usage: riq metrics

The current gauges: queue depths, dead requests, breakers, rate limits.`,
  dlq: `Usage: riq dlq <list|retry|purge|redrive> [options]   (operator routes)

  dlq list [--service jira|confluence] [--limit N] [--cursor C]
  dlq retry <token>
  dlq purge <token>
  dlq redrive [--service jira|confluence]`,
  'dlq list': `Usage: riq dlq list [--service jira|confluence] [--limit N] [--cursor C]

Dead requests, oldest first.

Options:
  --service S   only this service's (jira or confluence)
  --limit N     page size, 1-100 (default: 25)
  --cursor C    the next page, as printed after a listing (next_cursor)`,
  'dlq retry': `Usage: riq dlq retry <token>

Moves a dead request back to queued (attempts reset) and re-enqueues it.`,
  'dlq purge': `Usage: riq dlq purge <token>

Deletes a dead request.`,
  'dlq redrive': `Usage: riq dlq redrive [--service jira|confluence]

Moves every (or one service's) dead-letter-queue message back to its queue.`,
};

/** The help for a command (or the main help), with the global options and exit codes. */
export function helpText(command: string | undefined): string | undefined {
  if (command === undefined) return MAIN;
  const text = COMMANDS[command];
  return text === undefined ? undefined : `${text}\n\n${GLOBAL}\n\n${EXIT_CODES}\n`;
}

/** The first line of a command's help, shown under a usage error. */
export function usageLine(command: string | undefined): string {
  const text = command === undefined ? undefined : COMMANDS[command];
  return (text ?? 'Usage: riq <command> [arguments] [options]').split('\n')[0]!;
}
