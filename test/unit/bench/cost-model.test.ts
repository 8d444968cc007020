import { describe, expect, it } from 'vitest';
import { PRICES, costPerMillion, describeCost, type RequestUsage } from '../../../bench/cost-model.js';

const direct: RequestUsage = {
  apiCalls: 1,
  api: 'http',
  invocations: [{ name: 'submit', memoryMb: 256, seconds: 0.4 }],
  dynamoReadUnits: 2,
  dynamoWriteUnits: 4,
  sqsRequests: 0,
  logBytes: 1024,
  tracedShare: 0.01,
};

describe('costPerMillion', () => {
  it('prices each item per million requests and sums them', () => {
    const cost = costPerMillion(direct);
    const byItem = Object.fromEntries(cost.lines.map((l) => [l.item, l.dollars]));
    expect(byItem['API Gateway (HTTP API)']).toBeCloseTo(1.0, 6);
    // 0.25 GB × 0.4 s × 1e6 × $0.0000133334 + 1 × $0.20
    expect(byItem['Lambda']).toBeCloseTo(1.33334 + 0.2, 4);
    expect(byItem['DynamoDB']).toBeCloseTo(4 * 0.625 + 2 * 0.125, 6);
    // 1 KiB × 1e6 = 0.9537 GiB
    expect(byItem['CloudWatch Logs']).toBeCloseTo((1024e6 / 1024 ** 3) * 0.5, 6);
    expect(byItem['X-Ray']).toBeCloseTo(0.05, 6);
    expect(byItem['SQS']).toBeUndefined();
    expect(cost.total).toBeCloseTo(
      cost.lines.reduce((s, l) => s + l.dollars, 0),
      9,
    );
  });

  it('charges the REST API its own price, once per API call', () => {
    const rest = costPerMillion({ ...direct, api: 'rest', apiCalls: 2 });
    expect(rest.lines.find((l) => l.item === 'API Gateway (REST API)')?.dollars).toBeCloseTo(
      2 * PRICES.restApiPerMillion,
      6,
    );
  });

  it('counts one invocation price per function a request runs', () => {
    const queued = costPerMillion({
      ...direct,
      invocations: [
        { name: 'submit', memoryMb: 256, seconds: 0.1 },
        { name: 'worker', memoryMb: 512, seconds: 0.4 },
      ],
      sqsRequests: 3,
    });
    const lambda = queued.lines.find((l) => l.item === 'Lambda');
    // (0.25 × 0.1 + 0.5 × 0.4) GB-s × 1e6 × price + 2 × $0.20
    expect(lambda?.dollars).toBeCloseTo(0.225 * 1e6 * PRICES.lambdaPerGbSecond + 0.4, 6);
    expect(queued.lines.find((l) => l.item === 'SQS')?.dollars).toBeCloseTo(1.2, 6);
  });

  it('shows its working and the total as text', () => {
    const text = describeCost(costPerMillion(direct));
    expect(text[0]).toBe('API Gateway (HTTP API): 1 × $1 = $1.00');
    expect(text.at(-1)).toMatch(/^total \$\d+\.\d\d per million$/);
  });
});
