/**
 * Preloaded into `npm start` by the exit-path test (`node --import tsx --import <this>`): throws an
 * error nothing catches shortly after the stack says it is ready, as a bug in a handler's timer would.
 */
const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array) => boolean;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  if (text.includes('RIQ is running at')) {
    setTimeout(() => {
      throw new Error('an error nothing catches');
    }, 300);
  }
  return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;
