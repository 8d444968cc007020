/**
 * The set-up the stack tests share: RIQ's local stack in this process with the simulated Atlassian,
 * the API on a free port, configured by `overrides` on the defaults; with the HTTP helper the tests
 * call it through and the simulator's control API. One per test file (the stack configures itself
 * through `process.env`).
 */
import { SimulatorControl } from '../../local/atlassian-sim/control.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.js';
import { resolveConfig, type RiqConfigOverrides } from '../../model/config/riq-config.js';
import { RiqHttp } from './riq-http.js';

export interface TestStack {
  stack: LocalStack;
  api: RiqHttp;
  control: SimulatorControl;
}

export async function startTestStack(
  namePrefix: string,
  overrides: RiqConfigOverrides = {},
  options: Omit<Partial<LocalStackOptions>, 'config' | 'apiPort'> = {},
): Promise<TestStack> {
  const stack = await startLocalStack({
    config: resolveConfig({ ...overrides, stage: 'local', namePrefix }),
    apiPort: 0,
    ...options,
  });
  return { stack, api: new RiqHttp(stack.url), control: new SimulatorControl(stack.simulatorUrl!) };
}
