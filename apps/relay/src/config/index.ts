export { loadConfig, maskConfig, formatConfig, dlqMaxMessageBytes, ENV_PREFIX, RECORD_OVERHEAD_BYTES } from './load.js';
export type { LoadConfigOptions } from './load.js';
export { relayConfigSchema, parseDuration } from './schema.js';
export type { RelayConfig, RelayConfigInput, AggregationRuleConfig } from './schema.js';
