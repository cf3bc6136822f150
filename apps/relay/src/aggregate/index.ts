export { PartitionAggregate } from './partition-aggregate.js';
export type { ApplyResult, AggregateState, LimitKind, OutputMode } from './partition-aggregate.js';
export { AGGREGATION_OUTPUTS, DEFAULT_HISTOGRAM_BUCKETS, DEFAULT_PRODUCER_LABELS } from './options.js';
export type { AggregateLimits, AggregateOptions, AggregationOutput, AggregationRule } from './options.js';
export { AggregateError, AGGREGATE_ERROR_CODES } from './errors.js';
export type { AggregateErrorCode } from './errors.js';
export { SeriesSelector, parseSelector } from './selector.js';
export type { LabelMatcher, MatchOp } from './selector.js';
export { labelsKey } from './labels.js';
