// Remote Write receive: a WriteRequest split by (job, instance) into messages of the documented format.
import { CodecError, compress, decodeWriteRequest, decodeWriteRequestV2, decompress, encodeWriteRequest, encodeWriteRequestV2 } from '@prom-relay/codec';
import type { MetricMetadata, TimeSeries, WriteRequest } from '@prom-relay/codec';
import { CONTENT_TYPE, buildMessage } from '@prom-relay/emitter';
import type { Grouping, MetricsMessage } from '@prom-relay/emitter';
import { IngestError } from './errors.js';
import { groupProducerId } from './producer-id.js';

export const REMOTE_WRITE_PATHS: readonly string[] = ['/api/v1/write', '/api/v1/prom/write'];

export type RemoteWriteVersion = 1 | 2;

/** The protocol version a Content-Type names; IngestError MEDIA_TYPE (415) for anything else. */
export function remoteWriteVersion(contentType: string | undefined): RemoteWriteVersion {
  if (contentType === undefined || contentType === '') return 1;
  const [mediaType, ...params] = contentType.split(';').map((p) => p.trim());
  if (mediaType?.toLowerCase() !== 'application/x-protobuf') {
    throw new IngestError('PROM_RELAY_INGEST_MEDIA_TYPE', `Content-Type ${contentType} is not application/x-protobuf`);
  }
  const proto = params.find((p) => p.toLowerCase().startsWith('proto='))?.slice('proto='.length);
  if (proto === undefined || proto === 'prometheus.WriteRequest') return 1;
  if (proto === 'io.prometheus.write.v2.Request') return 2;
  throw new IngestError('PROM_RELAY_INGEST_MEDIA_TYPE', `Content-Type proto=${proto} is not a Remote Write message`);
}

/** Decompresses (the snappy preamble is checked against maxBytes before allocating) and decodes. */
export function decodeRemoteWrite(body: Buffer, contentEncoding: string | undefined, version: RemoteWriteVersion, maxBytes: number): WriteRequest {
  const encoding = (contentEncoding ?? 'snappy').toLowerCase();
  if (encoding !== 'snappy' && encoding !== 'identity') {
    throw new IngestError('PROM_RELAY_INGEST_MEDIA_TYPE', `Content-Encoding ${contentEncoding} is not taken: use snappy`);
  }
  let raw: Uint8Array = body;
  try {
    if (encoding === 'snappy') raw = decompress(body, { maxSize: maxBytes });
  } catch (err) {
    if (err instanceof CodecError && err.code === 'PROM_RELAY_CODEC_TOO_LARGE') {
      throw new IngestError('PROM_RELAY_INGEST_TOO_LARGE', `decompressed body exceeds the limit of ${maxBytes} bytes`, { cause: err });
    }
    throw new IngestError('PROM_RELAY_INGEST_BODY', `body is not valid snappy (block format): ${(err as Error).message}`, { cause: err });
  }
  try {
    return version === 2 ? decodeWriteRequestV2(raw) : decodeWriteRequest(raw);
  } catch (err) {
    if (err instanceof CodecError && err.code === 'PROM_RELAY_CODEC_LABELS') {
      throw new IngestError('PROM_RELAY_INGEST_LABELS', `Remote Write request refused whole, nothing written: ${err.message}`, { cause: err });
    }
    throw new IngestError('PROM_RELAY_INGEST_BODY', `body is not a Remote Write WriteRequest: ${(err as Error).message}`, { cause: err });
  }
}

const FAMILY_SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info'];

/** Metric types learned from metadata-only requests (Prometheus sends metadata apart from samples). Bounded. */
export class MetadataCache {
  private readonly byFamily = new Map<string, MetricMetadata>();
  constructor(private readonly maxFamilies = 10_000) {}

  learn(metadata: readonly MetricMetadata[] | undefined): void {
    for (const m of metadata ?? []) {
      this.byFamily.delete(m.metricFamilyName);
      this.byFamily.set(m.metricFamilyName, m);
      if (this.byFamily.size > this.maxFamilies) this.byFamily.delete(this.byFamily.keys().next().value!);
    }
  }

  /** The metadata for a series name: its own family, or the family it is a `_bucket`/`_sum`/... of. */
  lookup(seriesName: string): MetricMetadata | undefined {
    const own = this.byFamily.get(seriesName);
    if (own) return own;
    for (const suffix of FAMILY_SUFFIXES) {
      if (seriesName.endsWith(suffix)) {
        const m = this.byFamily.get(seriesName.slice(0, -suffix.length));
        if (m) return m;
      }
    }
    return undefined;
  }
}

/** The series of one (job, instance): one message, one producer. `indices` are the series' positions in the request. */
export interface SeriesGroup {
  job: string;
  grouping: Grouping;
  series: TimeSeries[];
  indices: number[];
}

/** Series split by their `job` (default `defaultJob`) and `instance` labels, in request order. */
export function groupSeries(req: WriteRequest, defaultJob: string): SeriesGroup[] {
  const groups = new Map<string, SeriesGroup>();
  for (const [i, ts] of req.timeseries.entries()) {
    const job = (Object.hasOwn(ts.labels, 'job') ? ts.labels['job'] : undefined) || defaultJob;
    const instance = Object.hasOwn(ts.labels, 'instance') ? ts.labels['instance'] : undefined;
    const grouping: Grouping = instance ? { instance } : {};
    const id = `${job}\u0000${instance ?? ''}`;
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { job, grouping, series: [], indices: [] }));
    group.series.push(ts);
    group.indices.push(i);
  }
  return [...groups.values()];
}

/** The metadata a message of these series carries: what the cache knows of their families. */
export function groupMetadata(series: readonly TimeSeries[], metadata: MetadataCache): MetricMetadata[] {
  const families = new Map<string, MetricMetadata>();
  for (const ts of series) {
    const m = metadata.lookup(Object.hasOwn(ts.labels, '__name__') ? ts.labels['__name__']! : '');
    if (m) families.set(m.metricFamilyName, m);
  }
  return [...families.values()];
}

/**
 * The message of one group, in the protocol version received: job and instance become the message's job and grouping,
 * so the header override leaves the series unchanged and one producer per scrape target keeps counters exact.
 */
export function groupMessage(
  group: Pick<SeriesGroup, 'job' | 'grouping'>,
  series: TimeSeries[],
  families: MetricMetadata[],
  opts: { producerLabels: readonly string[]; version: RemoteWriteVersion },
): MetricsMessage {
  const body: WriteRequest = families.length > 0 ? { timeseries: series, metadata: families } : { timeseries: series };
  return buildMessage(
    {
      contentType: opts.version === 2 ? CONTENT_TYPE.remoteWriteV2 : CONTENT_TYPE.remoteWriteV1,
      contentEncoding: 'snappy',
      job: group.job,
      grouping: group.grouping,
      producerId: groupProducerId('remote-write', group.job, group.grouping),
    },
    Buffer.from(compress(opts.version === 2 ? encodeWriteRequestV2(body) : encodeWriteRequest(body))),
    opts.producerLabels,
  );
}
