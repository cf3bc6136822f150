// The Pushgateway's protobuf delimited format (io.prometheus.client.MetricFamily), the Go client's default: read by
// decode/metric-family.ts. A push without native histograms or exemplars goes to Kafka as text exposition (what every
// relay version reads); one with either goes as it came, under the MetricFamily content type, since text cannot carry them.
import { DecodeError, describeSeries } from '../decode/index.js';
import { METRIC_FAMILY_CONTENT_TYPE, carriesExemplars, familyValue, isMetricFamilyProtobuf, metricFamiliesText, readMetricFamilies } from '../decode/metric-family.js';
import type { MetricFamilies } from '../decode/metric-family.js';
import { IngestError } from './errors.js';
import { timestampRefusal } from './push-timestamps.js';

export { METRIC_FAMILY_CONTENT_TYPE, familyValue, isMetricFamilyProtobuf };

/** readMetricFamilies, a body that does not parse refused with IngestError BODY. */
function read(body: Buffer): MetricFamilies {
  try {
    return readMetricFamilies(body);
  } catch (err) {
    if (err instanceof DecodeError) throw new IngestError('PROM_RELAY_INGEST_BODY', err.message, { cause: err });
    throw err;
  }
}

/** Reads length-delimited MetricFamily messages and writes their classic parts as text exposition 0.0.4. */
export function metricFamiliesToText(body: Buffer): string {
  return metricFamiliesText(read(body).families);
}

/**
 * What a delimited push becomes on Kafka: its text exposition, or, when it carries native histograms or exemplars, the
 * body as it came with the MetricFamily content type (decodeRecord reads both).
 */
export function metricFamiliesMessageBody(body: Buffer): { body: Buffer; contentType?: string } {
  const parts = read(body);
  const stamped = timestamped(parts);
  if (stamped !== undefined) throw new IngestError('PROM_RELAY_INGEST_BODY', timestampRefusal(`series ${stamped}`));
  if (parts.natives.length > 0 || carriesExemplars(parts)) return { body, contentType: METRIC_FAMILY_CONTENT_TYPE };
  return { body: Buffer.from(metricFamiliesText(parts.families), 'utf8') };
}

/** The first sample carrying a timestamp (client_model `Metric.timestamp_ms`), as a series; a push has none. */
function timestamped(parts: MetricFamilies): string | undefined {
  for (const family of parts.families) {
    for (const sample of family.samples) if (sample.timestamp !== undefined) return describeSeries({ __name__: sample.name, ...sample.labels });
  }
  for (const native of parts.natives) if (native.histogram.timestamp !== 0) return describeSeries({ __name__: native.family, ...native.labels });
  return undefined;
}
