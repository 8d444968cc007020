/**
 * The command lines of `npm run bench`, `npm run chaos` and `npm run compare`: `--help`/`-h`
 * prints what a run does, its names and the environment it reads, and exits 0 before anything
 * starts; an unknown name or option exits 2 with the closest known one.
 */
import { parseArgs } from 'node:util';

export interface CliSpec {
  /** `npm run bench --`. */
  command: string;
  /** One line on what a run does. */
  summary: string;
  /** What the positional arguments name (`scenario`, `preset`); none when the command takes none. */
  positional?: {
    name: string;
    /** The names a run accepts, each with one line. */
    choices: Record<string, string>;
    /** More than one may be named. */
    multiple: boolean;
    /** What runs when none is named. */
    otherwise: string;
  };
  /** Environment variables the run reads, each with one line. */
  env: Record<string, string>;
  /** Further lines printed at the end of the help (outputs, logs). */
  notes?: string[];
}

export type CliRequest =
  { kind: 'help' } | { kind: 'run'; names: string[] } | { kind: 'error'; message: string };

export function helpText(spec: CliSpec): string {
  const p = spec.positional;
  const usage = p ? `${spec.command} [${p.name}${p.multiple ? '…' : ''}]` : spec.command;
  const table = (rows: Record<string, string>) => {
    const width = Math.max(...Object.keys(rows).map((k) => k.length));
    return Object.entries(rows).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  };
  const lines = [`usage: ${usage}`, '', spec.summary, ''];
  if (p) lines.push(`${p.name}s (${p.otherwise} when none is named):`, ...table(p.choices), '');
  lines.push('options:', ...table({ '-h, --help': 'print this help and exit' }), '');
  lines.push(
    'environment:',
    ...table({
      ...spec.env,
      CI: 'set: no status line (otherwise one line rewritten in place on a terminal, one every 10 s elsewhere)',
    }),
  );
  if (spec.notes && spec.notes.length > 0) lines.push('', ...spec.notes);
  return lines.join('\n');
}

/** Reads `argv` (without node and the script) against `spec`. */
export function parseCli(spec: CliSpec, argv: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch {
    // parseArgs names the option in a long sentence; the first one it refused is the first unknown.
    const option = argv.find((a) => a.startsWith('-') && !['--help', '-h', '--'].includes(a)) ?? '';
    const hint = suggestion(option.replace(/^-+/, ''), ['help']);
    return {
      kind: 'error',
      message: `unknown option '${option}'${hint ? `; did you mean '--${hint}'?` : ''}`,
    };
  }
  if (parsed.values.help === true) return { kind: 'help' };
  const names = parsed.positionals;
  const p = spec.positional;
  if (!p) {
    return names.length === 0
      ? { kind: 'run', names }
      : { kind: 'error', message: `unexpected argument '${names[0]}'` };
  }
  if (!p.multiple && names.length > 1) {
    return { kind: 'error', message: `one ${p.name} at most, got ${names.join(' ')}` };
  }
  const known = Object.keys(p.choices);
  for (const name of names) {
    if (!known.includes(name)) {
      const hint = suggestion(name, known);
      return {
        kind: 'error',
        message: `unknown ${p.name} '${name}'${hint ? `; did you mean '${hint}'?` : ''} (known: ${known.join(', ')})`,
      };
    }
  }
  return { kind: 'run', names };
}

/**
 * The names to run; prints the help and exits 0, or prints the error with a pointer to `--help`
 * and exits 2.
 */
export function namesOrExit(spec: CliSpec, argv: readonly string[]): string[] {
  const request = parseCli(spec, argv);
  if (request.kind === 'help') {
    console.log(helpText(spec));
    process.exit(0);
  }
  if (request.kind === 'error') {
    console.error(`${spec.command}: ${request.message}\nsee ${spec.command} --help`);
    process.exit(2);
  }
  return request.names;
}

/** The known name closest to `word`, when close enough to be a slip (2 edits, or a third of it). */
export function suggestion(word: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  if (!best || word === '') return undefined;
  return best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/**
 * Levenshtein distance. A dozen lines for a handful of short names at each start: a dependency
 * (fastest-levenshtein and the like) would add a lockfile entry for less than it replaces.
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
