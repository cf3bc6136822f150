/**
 * What a Remote Write request carries besides its series: the headers of protocol 1.0 or 2.0, the caller's
 * headers with its credentials, and the body encoded and snappy-compressed with the write's metadata
 * (1.0: only the families present in the request; 2.0: all of it, attached to the series of each family).
 */
import { encodeWriteRequestSnappy, encodeWriteRequestV2Snappy } from '@prom-relay/codec';
import type { MetricMetadata, TimeSeries, WriteRequest } from '@prom-relay/codec';
import type { ResolvedRemoteWriteOptions } from './options.js';

export type Protocol = 'v1' | 'v2';

/** Metric metadata of one write, as given and by metric family. */
export interface WriteMetadata {
  all: MetricMetadata[];
  byFamily: Map<string, MetricMetadata>;
}

export const PROTOCOL_HEADERS: Record<Protocol, Record<string, string>> = {
  v1: {
    'Content-Encoding': 'snappy',
    'Content-Type': 'application/x-protobuf',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
  },
  v2: {
    'Content-Encoding': 'snappy',
    'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
    'X-Prometheus-Remote-Write-Version': '2.0.0',
  },
};

/** The caller's extra headers plus Authorization from `basicAuth` or `bearerToken`. */
export function callerHeaders(options: ResolvedRemoteWriteOptions): Record<string, string> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.basicAuth) {
    const { username, password } = options.basicAuth;
    headers['Authorization'] = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  } else if (options.bearerToken) {
    headers['Authorization'] = `Bearer ${options.bearerToken}`;
  }
  return headers;
}

/** Encodes and compresses in one pass (no copy of the raw protobuf); its size is in the snappy preamble. Throws what the codec throws. */
export function encodeBatch(protocol: Protocol, batch: TimeSeries[], metadata: WriteMetadata | undefined): Uint8Array {
  return protocol === 'v1'
    ? encodeWriteRequestSnappy(withMetadataV1(batch, metadata?.byFamily))
    : encodeWriteRequestV2Snappy(metadata ? { timeseries: batch, metadata: metadata.all } : { timeseries: batch });
}

const FAMILY_SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info'];

/** A v1 request carrying only the metadata of the families present in the batch (v1 metadata is per request). */
function withMetadataV1(batch: TimeSeries[], byFamily: Map<string, MetricMetadata> | undefined): WriteRequest {
  if (!byFamily) return { timeseries: batch };
  const found = new Set<MetricMetadata>();
  for (const s of batch) {
    const name = s.labels['__name__']!;
    let m = byFamily.get(name);
    for (let i = 0; !m && i < FAMILY_SUFFIXES.length; i++) {
      if (name.endsWith(FAMILY_SUFFIXES[i]!)) m = byFamily.get(name.slice(0, -FAMILY_SUFFIXES[i]!.length));
    }
    if (m) found.add(m);
  }
  return found.size > 0 ? { timeseries: batch, metadata: [...found] } : { timeseries: batch };
}
