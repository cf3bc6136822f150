export { PushgatewayClient, TEXT_FORMAT_CONTENT_TYPE } from './pushgateway-client.js';
export type { Collector, PushResult } from './pushgateway-client.js';
export { encodeGroupingSegment, groupingPath } from './grouping.js';
export type { PushgatewayOptions, WarningLogger } from './options.js';
