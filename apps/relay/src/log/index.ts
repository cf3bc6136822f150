export { RateLimitedLog } from './rate-limited.js';
export type { LogLevel, RateLimitedLogOptions } from './rate-limited.js';
export { fatalFields } from './fatal.js';
