import { describePointsBudget } from '../../support/points-budget-suite.js';
import { InMemoryPointsBudget } from '../../support/in-memory-points-budget.js';
import { resolveConfig } from '../../../model/config/riq-config.js';

// One in-memory budget stands for the shared state: every "worker" is the same instance.
describePointsBudget('InMemoryPointsBudget', async (instances, overrides, authMode) => {
  const budget = new InMemoryPointsBudget(resolveConfig(overrides), authMode);
  return Array.from({ length: instances }, () => budget);
});
