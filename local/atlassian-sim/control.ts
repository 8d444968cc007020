/**
 * A typed client for the simulator's control API, for tests and scripts:
 * `new SimulatorControl(sim.url).addFault({path: '^/rest/api/3/issue', status: 503, count: 1})`.
 */
import type { FaultRule } from './faults.js';
import type { SimStats } from './state.js';

export type { FaultRule } from './faults.js';
export type { SimCall, SimStats } from './state.js';

export class SimulatorControl {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Adds a fault rule; answers its id. */
  async addFault(rule: FaultRule): Promise<string> {
    const { id } = await this.call<{ id: string }>('POST', '/__sim/faults', rule);
    return id;
  }

  async removeFault(id: string): Promise<void> {
    await this.call('DELETE', `/__sim/faults/${encodeURIComponent(id)}`);
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/__sim/faults');
  }

  async stats(): Promise<SimStats> {
    return this.call<SimStats>('GET', '/__sim/stats');
  }

  /** Clears issues and statistics and re-seeds the projects (faults and latency stay). */
  async reset(): Promise<void> {
    await this.call('POST', '/__sim/reset');
  }

  async setLatency(ms: number): Promise<void> {
    await this.call('POST', '/__sim/config', { latency_ms: ms });
  }

  private async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }
        : {}),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`simulator control ${method} ${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
