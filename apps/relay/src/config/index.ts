export { loadConfig, maskConfig, formatConfig, ENV_PREFIX } from './load.js';
export type { LoadConfigOptions } from './load.js';
export { relayConfigSchema, parseDuration } from './schema.js';
export type { RelayConfig, RelayConfigInput, AggregationRuleConfig } from './schema.js';
