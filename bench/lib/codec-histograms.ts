// Native histogram rows of the codec benchmark (bench/codec.ts): @prom-relay/codec beside protobufjs reflection over
// proto/ (RW 1.0 prometheus.WriteRequest and RW 2.0 io.prometheus.write.v2.Request), which is also the oracle: before
// anything is timed, each side decodes the other's bytes and both must give back the workload exactly.
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import snappyjs from 'snappyjs';
import {
  decodeWriteRequestSnappy,
  decodeWriteRequestV2Snappy,
  encodeWriteRequestSnappy,
  encodeWriteRequestV2Snappy,
} from '@prom-relay/codec';
import type { BucketSpan, Histogram, WriteRequest } from '@prom-relay/codec';

export const HIST_SERIES = 1000;
/** Every FLOAT_EVERY-th series carries a float histogram (counts), the others integer ones (deltas). */
const FLOAT_EVERY = 5;
const FAMILY = 'http_request_duration_seconds';
const HELP = 'Request latency.';
/** The Go client's default zero threshold (2^-128). */
const ZERO_THRESHOLD = 2 ** -128;

/**
 * Schema 3 (bucket boundaries 2^(i/8)): latencies from ~1 ms to ~10 s in 3 spans, 22 to 40 populated buckets
 * depending on the series, as a Go client's NativeHistogramBucketFactor 1.1 gives for a bimodal latency.
 */
function layout(i: number): BucketSpan[] {
  return [
    { offset: -70 + (i % 4), length: 8 + (i % 7) },
    { offset: 3 + (i % 3), length: 10 + (i % 9) },
    { offset: 5, length: 4 + (i % 5) },
  ];
}

function histogramOf(i: number): Histogram {
  const spans = layout(i);
  const buckets = spans.reduce((n, s) => n + s.length, 0);
  const counts = Array.from({ length: buckets }, (_, b) => 1 + ((i * 31 + b * 17) % 97));
  const zeroCount = i % 3;
  const count = counts.reduce((a, b) => a + b, zeroCount);
  const h: Histogram = {
    count,
    sum: count * 0.0421 + i,
    schema: 3,
    zeroThreshold: ZERO_THRESHOLD,
    zeroCount,
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: [],
    positiveSpans: spans,
    positiveDeltas: [],
    positiveCounts: [],
    resetHint: 'no',
    timestamp: 1_700_000_000_000 + i,
  };
  if (i % FLOAT_EVERY === 0) {
    h.isFloat = true;
    h.positiveCounts = counts.map((c) => c * 0.5);
    h.count = counts.reduce((a, c) => a + c * 0.5, zeroCount);
  } else {
    h.positiveDeltas = counts.map((c, b) => c - (b === 0 ? 0 : counts[b - 1]!));
  }
  return h;
}

const methods = ['GET', 'POST', 'PUT'];
export function histogramRequest(): WriteRequest {
  return {
    timeseries: Array.from({ length: HIST_SERIES }, (_, i) => ({
      labels: {
        __name__: FAMILY,
        instance: `host-${i % 50}.example.com:9100`,
        job: 'api-server',
        method: methods[i % 3]!,
        path: `/api/v1/items/${i % 20}`,
        status: String(200 + (i % 5)),
      },
      samples: [],
      histograms: [histogramOf(i)],
    })),
    metadata: [{ type: 'histogram', metricFamilyName: FAMILY, help: HELP }],
  };
}

/** protobufjs's field names (camelCase) for one histogram; the count oneofs select integer or float. */
function reflectedHistogram(h: Histogram): Record<string, unknown> {
  const out: Record<string, unknown> = {
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    positiveSpans: h.positiveSpans,
    resetHint: 2, // RESET_HINT_NO
    timestamp: h.timestamp,
  };
  if (h.isFloat) {
    out['countFloat'] = h.count;
    out['zeroCountFloat'] = h.zeroCount;
    out['positiveCounts'] = h.positiveCounts;
  } else {
    out['countInt'] = h.count;
    out['zeroCountInt'] = h.zeroCount;
    out['positiveDeltas'] = h.positiveDeltas;
  }
  return out;
}

/** The RW 1.0 message as protobufjs takes it: labels as {name, value} arrays. */
function reflectedV1(req: WriteRequest): object {
  return {
    timeseries: req.timeseries.map((t) => ({
      labels: Object.entries(t.labels).map(([name, value]) => ({ name, value })),
      histograms: t.histograms!.map(reflectedHistogram),
    })),
    metadata: req.metadata!.map((m) => ({ type: 3 /* HISTOGRAM */, metricFamilyName: m.metricFamilyName, help: m.help })),
  };
}

/** The RW 2.0 message as protobufjs takes it: the symbols table and label refs already built (outside the timed loop). */
function reflectedV2(req: WriteRequest): object {
  const symbols = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string) => {
    let at = index.get(s);
    if (at === undefined) {
      at = symbols.length;
      symbols.push(s);
      index.set(s, at);
    }
    return at;
  };
  const help = ref(HELP);
  const timeseries = req.timeseries.map((t) => ({
    labelsRefs: Object.entries(t.labels).flatMap(([n, v]) => [ref(n), ref(v)]),
    histograms: t.histograms!.map(reflectedHistogram),
    metadata: { type: 3 /* METRIC_TYPE_HISTOGRAM */, helpRef: help },
  }));
  return { symbols, timeseries };
}

const toObjectOptions = { longs: Number, enums: Number, defaults: false, oneofs: false, arrays: true } as const;

/** A protobufjs-decoded histogram back in the codec's shape (proto3 defaults filled in). */
function fromReflected(o: Record<string, unknown>): Histogram {
  const isFloat = o['countFloat'] !== undefined;
  const spans = (o['positiveSpans'] as Array<{ offset?: number; length?: number }>).map((s) => ({ offset: s.offset ?? 0, length: s.length ?? 0 }));
  const h: Histogram = {
    count: (isFloat ? o['countFloat'] : o['countInt']) as number,
    sum: (o['sum'] as number | undefined) ?? 0,
    schema: (o['schema'] as number | undefined) ?? 0,
    zeroThreshold: (o['zeroThreshold'] as number | undefined) ?? 0,
    zeroCount: ((isFloat ? o['zeroCountFloat'] : o['zeroCountInt']) as number | undefined) ?? 0,
    negativeSpans: [],
    negativeDeltas: (o['negativeDeltas'] as number[] | undefined) ?? [],
    negativeCounts: (o['negativeCounts'] as number[] | undefined) ?? [],
    positiveSpans: spans,
    positiveDeltas: (o['positiveDeltas'] as number[] | undefined) ?? [],
    positiveCounts: (o['positiveCounts'] as number[] | undefined) ?? [],
    resetHint: (['unknown', 'yes', 'no', 'gauge'] as const)[(o['resetHint'] as number | undefined) ?? 0]!,
    timestamp: (o['timestamp'] as number | undefined) ?? 0,
  };
  if (isFloat) h.isFloat = true;
  return h;
}

function histogramsOf(req: WriteRequest): Histogram[] {
  return req.timeseries.flatMap((t) => t.histograms ?? []);
}

function sameHistograms(what: string, got: Histogram[], want: Histogram[]): void {
  if (!isDeepStrictEqual(got, want)) {
    const at = got.findIndex((h, i) => !isDeepStrictEqual(h, want[i]));
    throw new Error(`${what}: histogram ${at} differs: ${JSON.stringify(got[at])} vs ${JSON.stringify(want[at])}`);
  }
}

export interface HistogramOps {
  request: WriteRequest;
  bytes: { ours1: number; ours2: number; reflect1: number; reflect2: number; ours1Raw: number; ours2Raw: number; reflect1Raw: number; reflect2Raw: number };
  encOurs1(): unknown;
  encReflect1(): unknown;
  encOurs2(): unknown;
  encReflect2(): unknown;
  decOurs1(): unknown;
  decReflect1(): unknown;
  decOurs2(): unknown;
  decReflect2(): unknown;
}

/** Builds the workload and the operations, after checking both implementations decode each other's bytes to it. */
export function histogramOps(): HistogramOps {
  const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => path.resolve(protoDir, target);
  root.loadSync(['remote.proto', 'io/prometheus/write/v2/types.proto']);
  const V1 = root.lookupType('prometheus.WriteRequest');
  const V2 = root.lookupType('io.prometheus.write.v2.Request');

  const request = histogramRequest();
  const want = histogramsOf(request);
  const native1 = reflectedV1(request);
  const native2 = reflectedV2(request);
  const ours1 = encodeWriteRequestSnappy(request);
  const ours2 = encodeWriteRequestV2Snappy(request);
  const reflect1Raw = V1.encode(native1).finish();
  const reflect2Raw = V2.encode(native2).finish();
  const reflect1 = snappyjs.compress(reflect1Raw);
  const reflect2 = snappyjs.compress(reflect2Raw);

  // The oracle, both ways, for both protocol versions.
  const reflectedHistograms = (type: protobuf.Type, body: Uint8Array) => {
    const o = type.toObject(type.decode(snappyjs.uncompress(body)), toObjectOptions) as { timeseries: Array<{ histograms: Array<Record<string, unknown>> }> };
    return o.timeseries.flatMap((t) => t.histograms.map(fromReflected));
  };
  sameHistograms('RW 1.0: protobufjs decoding @prom-relay/codec bytes', reflectedHistograms(V1, ours1), want);
  sameHistograms('RW 2.0: protobufjs decoding @prom-relay/codec bytes', reflectedHistograms(V2, ours2), want);
  const decoded1 = decodeWriteRequestSnappy(reflect1);
  const decoded2 = decodeWriteRequestV2Snappy(reflect2);
  sameHistograms('RW 1.0: @prom-relay/codec decoding protobufjs bytes', histogramsOf(decoded1), want);
  sameHistograms('RW 2.0: @prom-relay/codec decoding protobufjs bytes', histogramsOf(decoded2), want);
  for (const [what, got] of [['RW 1.0', decoded1], ['RW 2.0', decoded2]] as const) {
    if (!isDeepStrictEqual(got.timeseries.map((t) => t.labels), request.timeseries.map((t) => t.labels))) throw new Error(`${what}: labels differ`);
    if (got.metadata?.[0]?.type !== 'histogram' || got.metadata[0].help !== HELP) throw new Error(`${what}: metadata differs: ${JSON.stringify(got.metadata)}`);
  }

  const raw = (body: Uint8Array) => snappyjs.uncompress(body).length;
  return {
    request,
    bytes: { ours1: ours1.length, ours2: ours2.length, reflect1: reflect1.length, reflect2: reflect2.length, ours1Raw: raw(ours1), ours2Raw: raw(ours2), reflect1Raw: reflect1Raw.length, reflect2Raw: reflect2Raw.length },
    encOurs1: () => encodeWriteRequestSnappy(request),
    encReflect1: () => snappyjs.compress(V1.encode(native1).finish()),
    encOurs2: () => encodeWriteRequestV2Snappy(request),
    encReflect2: () => snappyjs.compress(V2.encode(native2).finish()),
    decOurs1: () => decodeWriteRequestSnappy(ours1),
    decReflect1: () => V1.decode(snappyjs.uncompress(reflect1)),
    decOurs2: () => decodeWriteRequestV2Snappy(ours2),
    decReflect2: () => V2.decode(snappyjs.uncompress(reflect2)),
  };
}
