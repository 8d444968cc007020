/**
 * `npm run fuzz`: starts a local stack of its own (workers off, sweeper idle, so nothing moves
 * unless a request moves it), sends FUZZ_RUNS (default 500) generated hostile requests and the
 * fixed corpus, and checks each answer: never a 5xx, every 4xx RIQ's error body with a known code,
 * and nothing written for a rejected request. Prints the seed (FUZZ_SEED to replay), the counts by
 * status and code, and each violation with its request; exits 1 on any violation. Requests are
 * sampled (no shrinking): replay a failure with its seed and read the request printed with it.
 */
import { resolveConfig } from '../../model/config/riq-config.js';
import { startLocalStack } from '../../local/stack.js';
import { describeRequest, runHostile, StackWatcher, tally, type RunReport } from './check.js';
import { CORPUS, expectationProblem } from './corpus.js';
import { sampleHostile } from './generators.js';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${raw} is not an integer`);
  return n;
}

/** The default seed is fixed, so `npm run fuzz` is repeatable; FUZZ_SEED explores others. */
const DEFAULT_SEED = 20_260_808;
const seed = intFromEnv('FUZZ_SEED', DEFAULT_SEED);
const runs = intFromEnv('FUZZ_RUNS', 500);
console.log(
  `fuzz: seed ${seed} (replay with FUZZ_SEED=${seed}), ${runs} generated requests + ${CORPUS.length} corpus`,
);

// The handlers log every rejection as JSON on stdout; keep the summary readable.
const quiet = process.env['FUZZ_VERBOSE'] !== '1';
function dropJsonLines(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (c: string | Uint8Array, ...r: unknown[]) => boolean;
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return text.startsWith('{') ? true : write(chunk, ...rest);
  }) as typeof stream.write;
}
if (quiet) {
  dropJsonLines(process.stdout);
  dropJsonLines(process.stderr);
}

const config = resolveConfig({ stage: 'local', namePrefix: 'riqfuzz' });
const started = Date.now();
const stack = await startLocalStack({
  config,
  apiPort: 0,
  startWorkers: false,
  sweepIntervalMs: 24 * 3_600_000,
  log: (line) => console.error(line),
});
const watcher = new StackWatcher(stack);
let exitCode = 0;
try {
  const generated = sampleHostile(seed, runs);
  const report: RunReport = await runHostile(stack.url, watcher, generated, {
    onProgress: (done) => {
      if (done % 100 === 0 || done === generated.length) console.error(`fuzz: ${done}/${generated.length}`);
    },
  });
  const corpus = await runHostile(stack.url, watcher, CORPUS);
  const corpusMisses = corpus.outcomes
    .map((o, i) => ({ o, problem: expectationProblem(CORPUS[i]!, o) }))
    .filter((m) => m.problem !== undefined);

  console.log(
    `\nfuzz: ${report.outcomes.length} generated requests in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed})`,
  );
  for (const [key, count] of tally(report.outcomes)) console.log(`  ${key.padEnd(30)} ${count}`);
  console.log(
    `  write checks: ${report.checkedBatches} batches checked, ${report.uncheckedBatches} skipped (held an accepted write)`,
  );
  console.log(`corpus: ${corpus.outcomes.length} requests, ${corpusMisses.length} not as expected`);
  for (const [key, count] of tally(corpus.outcomes)) console.log(`  ${key.padEnd(30)} ${count}`);

  for (const note of [...report.notes, ...corpus.notes]) console.log(`note: ${note}`);
  const violations = [...report.violations, ...corpus.violations];
  for (const v of violations) {
    console.log(
      `VIOLATION ${v.status} ${v.problem}\n  request: ${describeRequest(v.request)}\n  answer: ${v.answer}`,
    );
  }
  for (const m of corpusMisses) {
    console.log(
      `CORPUS MISMATCH ${m.problem}\n  request: ${describeRequest(m.o.request)}\n  answer: ${m.o.answer.text.slice(0, 300)}`,
    );
  }
  console.log(`violations: ${violations.length}; corpus mismatches: ${corpusMisses.length}`);
  if (violations.length > 0 || corpusMisses.length > 0) exitCode = 1;
} finally {
  watcher.destroy();
  await stack.stop();
}
process.exit(exitCode);
