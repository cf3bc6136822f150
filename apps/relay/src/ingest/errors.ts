import { PromRelayError } from '@prom-relay/codec';

export const INGEST_ERROR_CODES = [
  /** createIngest options are not of the documented shape; the message names the field. */
  'PROM_RELAY_INGEST_OPTIONS',
  /** A Pushgateway path that does not parse (missing job, odd label segments, bad label name, bad base64). */
  'PROM_RELAY_INGEST_PATH',
  /** A body that does not decode: text exposition (line and column), protobuf, snappy, gzip. */
  'PROM_RELAY_INGEST_BODY',
  /** A series whose labels the consumer would refuse (bad or missing name, empty label set, duplicate label names,
   *  a job or instance with a control character). */
  'PROM_RELAY_INGEST_LABELS',
  /** A counter-like value (counter, histogram part, summary `_sum`/`_count`) that is NaN, infinite, negative or above 1e300. */
  'PROM_RELAY_INGEST_VALUE',
  /** One series twice in a pushed body, as Pushgateway refuses it. */
  'PROM_RELAY_INGEST_DUPLICATE',
  /** Valid input the relay does not aggregate: gauge histograms and custom-bucket native histograms. */
  'PROM_RELAY_INGEST_UNSUPPORTED',
  /** A series past the label limits (labels per series, label value length) the consumer enforces. */
  'PROM_RELAY_INGEST_LIMIT',
  /** The client closed the connection (or it broke) before the request body ended: nothing produced, an answer nobody reads. */
  'PROM_RELAY_INGEST_ABORTED',
  /** A body past maxBodyBytes, before or after decompression; a push whose Kafka message is past the ingest topic's max.message.bytes. */
  'PROM_RELAY_INGEST_TOO_LARGE',
  /** A request header of ours (`prom-relay-producer`) with a value it cannot take. */
  'PROM_RELAY_INGEST_HEADER',
  /** A Content-Type or Content-Encoding the endpoint does not take. */
  'PROM_RELAY_INGEST_MEDIA_TYPE',
  /** Missing or wrong credentials. */
  'PROM_RELAY_INGEST_UNAUTHORIZED',
  /** A method the route does not take. */
  'PROM_RELAY_INGEST_METHOD',
  /** A path under `/token/<token>/` that is no ingest route. */
  'PROM_RELAY_INGEST_ROUTE',
  /** Kafka did not acknowledge the messages. */
  'PROM_RELAY_INGEST_UNAVAILABLE',
  /** A bug: anything else that went wrong while answering. */
  'PROM_RELAY_INGEST_INTERNAL',
] as const;

export type IngestErrorCode = (typeof INGEST_ERROR_CODES)[number];

const STATUS: Record<IngestErrorCode, number> = {
  PROM_RELAY_INGEST_OPTIONS: 500,
  PROM_RELAY_INGEST_PATH: 400,
  PROM_RELAY_INGEST_BODY: 400,
  PROM_RELAY_INGEST_HEADER: 400,
  PROM_RELAY_INGEST_LABELS: 400,
  PROM_RELAY_INGEST_VALUE: 400,
  PROM_RELAY_INGEST_DUPLICATE: 400,
  PROM_RELAY_INGEST_UNSUPPORTED: 400,
  PROM_RELAY_INGEST_LIMIT: 400,
  // nginx's "client closed request": counted and logged with it; the client is gone, so nothing reads it.
  PROM_RELAY_INGEST_ABORTED: 499,
  PROM_RELAY_INGEST_TOO_LARGE: 413,
  PROM_RELAY_INGEST_MEDIA_TYPE: 415,
  PROM_RELAY_INGEST_UNAUTHORIZED: 401,
  PROM_RELAY_INGEST_METHOD: 405,
  PROM_RELAY_INGEST_ROUTE: 404,
  PROM_RELAY_INGEST_UNAVAILABLE: 503,
  PROM_RELAY_INGEST_INTERNAL: 500,
};

/** An ingest failure; `status` is the HTTP answer. */
export class IngestError extends PromRelayError<IngestErrorCode> {
  get status(): number {
    return STATUS[this.code];
  }
}
