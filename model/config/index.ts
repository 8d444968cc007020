export * from './riq-config.js';
export * from './resources.js';
export * from './runtime-env.js';
export * from './routes.js';
export * from './metrics.js';
export * from './message-budget.js';
