/** How a scenario process hands its figures to bench/main.ts: one line `BENCH_RESULT {json}`. */
export const RESULT_PREFIX = 'BENCH_RESULT ';
