// The relay config turned into the options of the parts pipeline.ts wires: the Kafka connection, the aggregate, the
// decode limits, the ingest's credentials and the flush's Remote Write client. Plain translation, no state.
import { RemoteWriteClient } from '@prom-relay/push-client';
import type { Logger } from 'pino';
import type { AggregateOptions, TotalRules } from '../aggregate/index.js';
import type { RelayConfig } from '../config/index.js';
import type { DecodeOptions } from '../decode/index.js';
import type { IngestAuth } from '../ingest/index.js';
import type { KafkaConnectionOptions } from '../kafka/index.js';
import type { RelayMetrics } from '../server/index.js';

export function kafkaConnectionOptions(config: RelayConfig, logger: Logger): KafkaConnectionOptions {
  const k = config.kafka;
  return {
    brokers: k.brokers,
    clientId: k.client_id,
    connectionTimeout: k.connection_timeout,
    requestTimeout: k.request_timeout,
    logger: logger.child({ stage: 'kafka' }),
    ...(k.topic_replication_factor ? { topicReplicationFactor: k.topic_replication_factor } : {}),
    ssl: { enabled: k.ssl.enabled, caFile: k.ssl.ca_file, certFile: k.ssl.cert_file, keyFile: k.ssl.key_file, rejectUnauthorized: k.ssl.reject_unauthorized },
    ...(k.sasl ? { sasl: { mechanism: k.sasl.mechanism, username: k.sasl.username, password: k.sasl.password ?? '' } } : {}),
  };
}

export function aggregateOptions(config: RelayConfig): AggregateOptions {
  const agg = config.aggregation;
  return {
    seriesTtlMs: agg.series_ttl,
    counterTtlMs: agg.counter_ttl,
    producerTtlMs: agg.producer_ttl,
    ...(agg.producer_labels ? { producerLabels: agg.producer_labels } : {}),
    limits: {
      maxSeries: agg.max_series,
      maxSeriesPerJob: agg.max_series_per_job,
      maxLabelsPerSeries: agg.max_labels_per_series,
      maxLabelValueLength: agg.max_label_value_length,
    },
    rules: agg.rules.map((r) => ({
      match: r.match,
      ...(r.outputs ? { outputs: r.outputs } : {}),
      ...(r.input_type ? { inputType: r.input_type } : {}),
      keepInput: r.keep_input,
      ...(r.by ? { by: r.by } : {}),
      ...(r.without ? { without: r.without } : {}),
      ...(r.buckets ? { buckets: r.buckets } : {}),
    })),
  };
}

/** The aggregation rules as plain data, for the ingest's check of values a rule reads as a running total. */
export function totalRulesOf(config: RelayConfig): TotalRules {
  const agg = aggregateOptions(config);
  return { rules: agg.rules, ...(agg.producerLabels ? { producerLabels: agg.producerLabels } : {}) };
}

/** The label limits a message is decoded within (the ingest's check and the consumer's decode read the same). */
export function decodeLimits(config: RelayConfig): NonNullable<DecodeOptions['limits']> {
  return { maxLabelsPerSeries: config.aggregation.max_labels_per_series, maxLabelValueLength: config.aggregation.max_label_value_length };
}

export function ingestAuth(config: RelayConfig): IngestAuth | undefined {
  const { username, password, credentials, bearer_tokens: bearer } = config.ingest;
  const basic = credentials.flatMap((c) => (c.password === undefined ? [] : [{ username: c.username, password: c.password }]));
  if (username !== undefined && password !== undefined) basic.unshift({ username, password });
  return basic.length > 0 || bearer.length > 0 ? { basic, bearer } : undefined;
}

export function remoteWriteClient(config: RelayConfig, metrics: RelayMetrics, logger: Logger): RemoteWriteClient {
  const rw = config.remote_write;
  return new RemoteWriteClient({
    url: rw.url,
    protocol: rw.protocol === '2.0' ? 'v2' : rw.protocol === 'auto' ? 'auto' : 'v1',
    // Once per process at most: auto keeps 1.0 after this.
    onFallback: (e) => {
      metrics.remoteWriteFallbacks.inc({ reason: e.reason });
      logger.warn(
        { stage: 'flush', reason: e.reason, status: e.statusCode, samples: e.samplesResent },
        e.reason === 'unsupported_media_type'
          ? 'the remote write receiver refuses Remote Write 2.0 (415): protocol auto uses 1.0 from now on; the batch was re-sent as 1.0'
          : 'the remote write receiver does not speak Remote Write 2.0 (2xx without X-Prometheus-Remote-Write-Samples-Written: nothing written): protocol auto uses 1.0 from now on; the batch was re-sent as 1.0',
      );
    },
    headers: rw.headers,
    timeoutMs: rw.timeout,
    maxSamplesPerRequest: rw.max_samples_per_request,
    concurrency: rw.concurrency,
    ...(rw.username !== undefined && rw.password !== undefined ? { basicAuth: { username: rw.username, password: rw.password } } : {}),
    ...(rw.bearer_token !== undefined ? { bearerToken: rw.bearer_token } : {}),
  });
}
