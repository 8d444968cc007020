/**
 * Runs the simulated Jira/Confluence on its own: `npx tsx local/atlassian-sim/main.ts`.
 *   SIM_PORT                          port (default 4000; 0 picks a free one)
 *   SIM_HOST                          interface (default 127.0.0.1)
 *   SIM_EMAIL / SIM_API_TOKEN         accepted credentials (else ATLASSIAN_EMAIL / ATLASSIAN_API_TOKEN,
 *                                   else riq@example.com / local-token)
 *   SIM_LATENCY_MS                    delay before each answer (default 0)
 */
import { startAtlassianSimulator } from './server.js';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got '${raw}'`);
  return n;
}

const sim = await startAtlassianSimulator({
  port: intEnv('SIM_PORT', 4000),
  host: process.env['SIM_HOST'] || '127.0.0.1',
  email: process.env['SIM_EMAIL'] || process.env['ATLASSIAN_EMAIL'] || 'riq@example.com',
  apiToken: process.env['SIM_API_TOKEN'] || process.env['ATLASSIAN_API_TOKEN'] || 'local-token',
  latencyMs: intEnv('SIM_LATENCY_MS', 0),
});
console.log(`Atlassian simulator listening on ${sim.url} (control API: ${sim.url}/__sim/)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.stop().then(() => process.exit(0));
  });
}
