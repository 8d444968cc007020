/**
 * Argument parsing for `riq` with Node's `util.parseArgs`: one pass over the union of every option
 * (global options may come before or after the command), then each command checks its positionals
 * and refuses the options that are not its own. Every problem is a `UsageError` (exit code 2).
 */
import { parseArgs } from 'node:util';
import { LISTED_STATUSES } from '../../model/api-views.js';
import { closestName } from '../../model/suggest.js';
import type { ListedStatus, Priority } from '../types.js';

export class UsageError extends Error {
  /** The command whose usage to show under the message, when known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

export interface GlobalOptions {
  endpoint: string;
  region: string | undefined;
  caller: string | undefined;
  json: boolean;
}

/** Where the payload of a submit comes from. */
export type PayloadSource =
  { kind: 'inline'; text: string } | { kind: 'file'; path: string } | { kind: 'stdin' };

export interface WaitFlags {
  wait: boolean;
  /** Seconds; only with `wait`. */
  timeoutSeconds: number | undefined;
}

export type Command =
  | {
      name: 'submit';
      operation: string;
      payload: PayloadSource;
      priority: Priority | undefined;
      idempotencyKey: string | undefined;
      fresh: boolean;
      routing: 'adaptive' | 'queued' | undefined;
      fireAndForget: boolean;
      dependsOn: string[] | undefined;
      after: string | undefined;
      waitFlags: WaitFlags;
    }
  | { name: 'result'; token: string; waitFlags: WaitFlags }
  | { name: 'watch'; token: string; timeoutSeconds: number | undefined }
  | {
      name: 'list';
      status: ListedStatus | undefined;
      operation: string | undefined;
      service: 'jira' | 'confluence' | undefined;
      limit: number | undefined;
      cursor: string | undefined;
    }
  | { name: 'operations' }
  | { name: 'version' }
  | { name: 'health' }
  | { name: 'breakers' }
  | { name: 'metrics' }
  | { name: 'dlq list'; service: string | undefined; limit: number | undefined; cursor: string | undefined }
  | { name: 'dlq retry'; token: string }
  | { name: 'dlq purge'; token: string }
  | { name: 'dlq redrive'; service: string | undefined };

export type CommandName = Command['name'];

export type Parsed =
  | { kind: 'help'; command: string | undefined }
  | { kind: 'version' }
  | { kind: 'command'; global: GlobalOptions; command: Command };

const OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  caller: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  priority: { type: 'string' },
  'idempotency-key': { type: 'string' },
  fresh: { type: 'boolean' },
  routing: { type: 'string' },
  'fire-and-forget': { type: 'boolean' },
  'depends-on': { type: 'string' },
  after: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  service: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  status: { type: 'string' },
  operation: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

const GLOBAL_OPTIONS: readonly OptionName[] = ['endpoint', 'region', 'caller', 'json', 'help', 'version'];

/** The options each command accepts besides the global ones. */
export const COMMAND_OPTIONS: Record<CommandName, readonly OptionName[]> = {
  submit: [
    'priority',
    'idempotency-key',
    'fresh',
    'routing',
    'fire-and-forget',
    'depends-on',
    'after',
    'wait',
    'timeout',
  ],
  result: ['wait', 'timeout'],
  watch: ['timeout'],
  list: ['status', 'operation', 'service', 'limit', 'cursor'],
  operations: [],
  version: [],
  health: [],
  breakers: [],
  metrics: [],
  'dlq list': ['service', 'limit', 'cursor'],
  'dlq retry': [],
  'dlq purge': [],
  'dlq redrive': ['service'],
};

export const COMMAND_NAMES = Object.keys(COMMAND_OPTIONS) as CommandName[];

/**
 * The first words `riq` knows: each command's, `dlq` for its subcommands, `help`, and `console`
 * (run by main.ts before this parser: client/console/command.ts).
 */
const COMMAND_WORDS = [...new Set([...COMMAND_NAMES.map((n) => n.split(' ')[0]!), 'help', 'console'])];
/** Commands that take a subcommand (`dlq list`), with their subcommands. */
const SUBCOMMANDS = new Map<string, string[]>();
for (const name of COMMAND_NAMES) {
  const [word, sub] = name.split(' ');
  if (sub !== undefined) SUBCOMMANDS.set(word!, [...(SUBCOMMANDS.get(word!) ?? []), sub]);
}

export const DEFAULT_ENDPOINT = 'http://localhost:3000';

type Values = { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined>): Parsed {
  let values: Values;
  let positionals: string[];
  const { args: withoutWaitSeconds, waitSeconds } = splitWaitSeconds(argv);
  try {
    ({ values, positionals } = parseArgs({
      args: withoutWaitSeconds,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error, withoutWaitSeconds), commandGuess(argv));
  }

  const [first, ...rest] = positionals;
  if (first === 'help') return { kind: 'help', command: helpTopic(rest) };
  if (first === undefined) {
    if (values.help) return { kind: 'help', command: undefined };
    if (values.version) return { kind: 'version' };
    throw new UsageError('missing command');
  }

  let name: CommandName;
  let args: string[];
  const subcommands = SUBCOMMANDS.get(first);
  if (subcommands !== undefined) {
    const sub = rest[0];
    if (sub === undefined) {
      if (values.help) return { kind: 'help', command: first };
      throw new UsageError(`missing ${first} subcommand (${orList(subcommands)})`, first);
    }
    const full = `${first} ${sub}`;
    if (!isCommandName(full))
      throw new UsageError(`unknown ${first} subcommand '${sub}'${suggest(sub, subcommands)}`, first);
    name = full;
    args = rest.slice(1);
  } else {
    if (!isCommandName(first))
      throw new UsageError(`unknown command '${first}'${suggest(first, COMMAND_WORDS)}`);
    name = first;
    args = rest;
  }
  if (values.help) return { kind: 'help', command: name };
  if (values.version) return { kind: 'version' };

  const allowed = new Set<string>([...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[name]]);
  for (const key of Object.keys(values)) {
    if (!allowed.has(key)) throw new UsageError(`option --${key} does not apply to '${name}'`, name);
  }

  if (waitSeconds !== undefined && values.timeout !== undefined)
    throw new UsageError(
      `--wait ${waitSeconds} and --timeout ${values.timeout} both set how long to wait; give one`,
      name,
    );
  const global = globalOptions(values, env, name);
  return { kind: 'command', global, command: buildCommand(name, args, values, waitSeconds) };
}

/**
 * `--wait 20` and `--wait=20` as `--wait --timeout 20`: parseArgs has no boolean option with an
 * optional value, so a number right after `--wait` is taken out here (before any `--`). A number
 * is never an operation, a token or a JSON object payload, so nothing else is read differently.
 */
function splitWaitSeconds(argv: readonly string[]): { args: string[]; waitSeconds: string | undefined } {
  const args: string[] = [];
  let waitSeconds: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--wait=')) {
      args.push('--wait');
      waitSeconds = arg.slice('--wait='.length);
    } else if (arg === '--wait' && /^[0-9]*\.?[0-9]+$/.test(argv[i + 1] ?? '')) {
      args.push('--wait');
      waitSeconds = argv[++i];
    } else {
      args.push(arg);
    }
  }
  return { args, waitSeconds };
}

/** `; did you mean 'x'?` for a close known name, else nothing. */
export function suggest(input: string, known: Iterable<string>): string {
  const name = closestName(input, known);
  return name === undefined ? '' : `; did you mean '${name}'?`;
}

function orList(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

function buildCommand(name: CommandName, args: string[], values: Values, waitSeconds?: string): Command {
  switch (name) {
    case 'submit': {
      const [operation, payload] = positionalsExactly(name, args, ['operation', 'payload']) as [
        string,
        string,
      ];
      return {
        name,
        operation,
        payload: payloadSource(payload),
        priority: oneOf(name, 'priority', values.priority, ['high', 'normal', 'low'] as const),
        idempotencyKey: nonEmpty(name, 'idempotency-key', values['idempotency-key']),
        fresh: values.fresh === true,
        routing: oneOf(name, 'routing', values.routing, ['adaptive', 'queued'] as const),
        fireAndForget: values['fire-and-forget'] === true,
        dependsOn: tokenList(name, values['depends-on']),
        after: nonEmpty(name, 'after', values.after),
        waitFlags: waitFlags(name, values, waitSeconds),
      };
    }
    case 'result': {
      const [token] = positionalsExactly(name, args, ['token']) as [string];
      return { name, token, waitFlags: waitFlags(name, values, waitSeconds) };
    }
    case 'watch': {
      const [token] = positionalsExactly(name, args, ['token']) as [string];
      return { name, token, timeoutSeconds: seconds(name, 'timeout', values.timeout) };
    }
    case 'list':
      positionalsExactly(name, args, []);
      return {
        name,
        status: oneOf(name, 'status', values.status, LISTED_STATUSES),
        operation: nonEmpty(name, 'operation', values.operation),
        service: oneOf(name, 'service', values.service, ['jira', 'confluence'] as const),
        limit: positiveInteger(name, 'limit', values.limit),
        cursor: nonEmpty(name, 'cursor', values.cursor),
      };
    case 'operations':
    case 'version':
    case 'health':
    case 'breakers':
    case 'metrics':
      positionalsExactly(name, args, []);
      return { name };
    case 'dlq list':
      positionalsExactly(name, args, []);
      return {
        name,
        service: oneOf(name, 'service', values.service, ['jira', 'confluence'] as const),
        limit: positiveInteger(name, 'limit', values.limit),
        cursor: nonEmpty(name, 'cursor', values.cursor),
      };
    case 'dlq retry':
    case 'dlq purge': {
      const [token] = positionalsExactly(name, args, ['token']) as [string];
      return { name, token };
    }
    case 'dlq redrive':
      positionalsExactly(name, args, []);
      return { name, service: oneOf(name, 'service', values.service, ['jira', 'confluence'] as const) };
  }
}

function globalOptions(values: Values, env: Record<string, string | undefined>, name: string): GlobalOptions {
  const endpoint = values.endpoint ?? (env['RIQ_ENDPOINT'] || DEFAULT_ENDPOINT);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`--endpoint '${endpoint}' is not a URL`, name);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--endpoint '${endpoint}' must be an http or https URL`, name);
  const region =
    nonEmpty(name, 'region', values.region) ??
    (isAwsEndpoint(url) ? env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || undefined : undefined);
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    region,
    caller: nonEmpty(name, 'caller', values.caller) ?? (env['RIQ_CALLER'] || undefined),
    json: values.json === true,
  };
}

export function isAwsEndpoint(url: URL): boolean {
  return url.hostname.endsWith('.amazonaws.com');
}

function waitFlags(name: string, values: Values, waitSeconds: string | undefined): WaitFlags {
  const wait = values.wait === true;
  if (values.timeout !== undefined && !wait) throw new UsageError('--timeout needs --wait', name);
  const timeoutSeconds =
    waitSeconds !== undefined ? seconds(name, 'wait', waitSeconds) : seconds(name, 'timeout', values.timeout);
  return { wait, timeoutSeconds };
}

function seconds(name: string, option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${option} must be a positive number of seconds, not '${value}'`, name);
  return n;
}

function payloadSource(arg: string): PayloadSource {
  if (arg === '-') return { kind: 'stdin' };
  if (arg.startsWith('@')) {
    const path = arg.slice(1);
    if (!path) throw new UsageError("payload '@' needs a file name, e.g. @payload.json", 'submit');
    return { kind: 'file', path };
  }
  return { kind: 'inline', text: arg };
}

function positionalsExactly(name: string, args: string[], names: string[]): string[] {
  if (args.length < names.length)
    throw new UsageError(
      `missing ${names
        .slice(args.length)
        .map((n) => `<${n}>`)
        .join(' ')}`,
      name,
    );
  if (args.length > names.length) throw new UsageError(`unexpected argument '${args[names.length]}'`, name);
  for (const [i, arg] of args.entries()) {
    if (arg.trim() === '') throw new UsageError(`<${names[i]}> must not be empty`, name);
  }
  return args;
}

function oneOf<T extends string>(
  name: string,
  option: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(
      `--${option} must be one of ${choices.join(', ')}, not '${value}'${suggest(value, choices)}`,
      name,
    );
  return value as T;
}

function nonEmpty(name: string, option: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`--${option} must not be empty`, name);
  return value;
}

function positiveInteger(name: string, option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value.trim()))
    throw new UsageError(`--${option} must be a positive integer, not '${value}'`, name);
  return Number(value.trim());
}

function tokenList(name: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const tokens = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (tokens.length === 0) throw new UsageError('--depends-on needs at least one token', name);
  return tokens;
}

function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as string[]).includes(name);
}

function helpTopic(rest: string[]): string | undefined {
  const topic = rest.join(' ').trim();
  return topic === '' ? undefined : topic;
}

/** The command named in argv, for the usage shown under a parse error. */
function commandGuess(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  const [first, second] = words;
  if (first === undefined) return undefined;
  if (SUBCOMMANDS.has(first))
    return second && isCommandName(`${first} ${second}`) ? `${first} ${second}` : first;
  return isCommandName(first) ? first : undefined;
}

/** parseArgs's message, with the nearest known option for an unknown one. */
function parseErrorMessage(error: unknown, args: readonly string[]): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const unknown = args.find(
      (a) => a.startsWith('-') && a !== '--' && !isKnownOption(a.replace(/^-+/, '').split('=')[0]!),
    );
    if (unknown !== undefined) {
      const option = unknown.split('=')[0]!;
      const near = closestName(option.replace(/^-+/, ''), Object.keys(OPTIONS));
      return `unknown option '${option}'${near === undefined ? '' : `; did you mean '--${near}'?`}`;
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs explains how to pass a positional that starts with '-': not useful here.
  return message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '').trim();
}

function isKnownOption(name: string): boolean {
  return Object.hasOwn(OPTIONS, name) || Object.values(OPTIONS).some((o) => 'short' in o && o.short === name);
}
