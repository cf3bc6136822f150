export { SeriesCombiner } from './combiner.js';
export type { CombineOptions, CombineResult, CombineState } from './combiner.js';
export { PartialsPublisher } from './publisher.js';
export type { PublishResult, SourceSnapshot } from './publisher.js';
export { PARTIALS_CONTENT_TYPE, PARTIALS_HEADERS, decodePartials, encodePartials, homePartition, labelsFromKey, ownerPartition, toPartial } from './partials.js';
export type { PartialBatch, PartialSeries } from './partials.js';
export { RepartitionMetrics } from './metrics.js';
export { FORWARDED_HEADER, ProducerHomes } from './homes.js';
