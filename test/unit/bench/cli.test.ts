import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { editDistance, helpText, parseCli, suggestion, type CliSpec } from '../../../bench/cli.js';

const SPEC: CliSpec = {
  command: 'npm run thing --',
  summary: 'Does the thing.',
  positional: {
    name: 'scenario',
    choices: { drain: 'drains', 'drain-live': 'drains live', burst: 'bursts' },
    multiple: true,
    otherwise: 'all of them',
  },
  env: { THING_LEVEL: 'how much' },
};

describe('parseCli', () => {
  it('answers help for --help and -h, wherever they stand', () => {
    expect(parseCli(SPEC, ['--help'])).toEqual({ kind: 'help' });
    expect(parseCli(SPEC, ['drain', '-h'])).toEqual({ kind: 'help' });
  });

  it('answers the named scenarios, or none', () => {
    expect(parseCli(SPEC, ['drain', 'burst'])).toEqual({ kind: 'run', names: ['drain', 'burst'] });
    expect(parseCli(SPEC, [])).toEqual({ kind: 'run', names: [] });
  });

  it('refuses an unknown name with the closest known one', () => {
    const answer = parseCli(SPEC, ['drian']);
    expect(answer.kind).toBe('error');
    expect(answer.kind === 'error' && answer.message).toContain("did you mean 'drain'?");
    const far = parseCli(SPEC, ['quota']);
    expect(far.kind === 'error' && far.message).not.toContain('did you mean');
  });

  it('refuses an unknown option, suggesting --help for a slip of it', () => {
    expect(parseCli(SPEC, ['--hepl'])).toEqual({
      kind: 'error',
      message: "unknown option '--hepl'; did you mean '--help'?",
    });
    expect(parseCli(SPEC, ['--verbose'])).toEqual({ kind: 'error', message: "unknown option '--verbose'" });
  });

  it('refuses a second name where one is taken, and any name where none is', () => {
    const single = { ...SPEC, positional: { ...SPEC.positional!, multiple: false } };
    expect(parseCli(single, ['drain', 'burst']).kind).toBe('error');
    const { positional: _none, ...bare } = SPEC;
    expect(parseCli(bare, ['drain'])).toEqual({ kind: 'error', message: "unexpected argument 'drain'" });
  });
});

describe('suggestion', () => {
  it('is the closest name within two edits or a third of it', () => {
    expect(editDistance('drian', 'drain')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(suggestion('unknown-limt', ['unknown-limit', 'unknown-limit-silent'])).toBe('unknown-limit');
    expect(suggestion('xyz', ['drain'])).toBeUndefined();
  });
});

describe('helpText', () => {
  it('lists the usage, every name and every variable', () => {
    const text = helpText(SPEC);
    expect(text).toMatch(/^usage: npm run thing -- \[scenario…\]/);
    for (const word of ['drain-live', 'drains live', 'THING_LEVEL', 'how much', '--help', 'CI']) {
      expect(text).toContain(word);
    }
  });
});

/** Runs an entry point as npm does (tsx), with the status line and CI out of the way. */
function run(entry: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env['CI'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the entry points', () => {
  it.each([
    [
      'bench/main.ts',
      ['drain-live', 'coldstart', 'BENCH_ADAPTIVE', 'BENCH_DUMP', 'bench/out/<scenario>.svg'],
    ],
    ['chaos/main.ts', ['full', 'reduced', 'POWERTOOLS_LOG_LEVEL']],
    ['compare/main.ts', ['COMPARE_SYSTEMS', 'COMPARE_ERROR_RATE', 'COMPARE_DROP_RATE']],
  ])(
    '%s --help prints its usage and exits 0 without starting anything',
    (entry, words) => {
      const started = Date.now();
      const r = run(entry, ['--help']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^usage: npm run \w+ --/);
      for (const word of words) expect(r.stdout).toContain(word);
      // A run prints its machine line (RIQ benchmarks…, chaos '…': running, RIQ side by side…).
      expect(r.stdout).not.toMatch(/RIQ benchmarks,|running|RIQ side by side/);
      expect(Date.now() - started).toBeLessThan(20_000);
    },
    30_000,
  );

  it.each([
    ['bench/main.ts', ['drian'], "did you mean 'drain'?"],
    ['chaos/main.ts', ['reduce'], "did you mean 'reduced'?"],
    ['compare/main.ts', ['--hepl'], "did you mean '--help'?"],
  ])(
    '%s %s exits 2 with a suggestion',
    (entry, args, hint) => {
      const r = run(entry, args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(hint);
    },
    30_000,
  );
});
