import { CodecError, decodeWriteRequest, decodeWriteRequestV2, float64Words, validateLabels } from '@prom-relay/codec';
import type { Histogram, Labels, MetricMetadata, MetricType, TimeSeries, WriteRequest } from '@prom-relay/codec';
import { histogramProblem } from '../aggregate/native-histogram.js';
import { labelsKey } from '../aggregate/labels.js';
import { isNewerExemplar, latestExemplar } from '../exemplars.js';
import type { InputMetricType, InputPoint } from '../model.js';
import { DecodeError } from './errors.js';
import { checkCounterValues } from './validate.js';

function inputType(t: MetricType | undefined): InputMetricType {
  switch (t) {
    case 'counter':
    case 'gauge':
    case 'histogram':
    case 'summary':
      return t;
    default:
      return 'untyped'; // gaugehistogram, info, stateset, unknown: no merge semantics, last value
  }
}

/** A Remote Write 1.0 or 2.0 body (already decompressed) as a WriteRequest; DecodeError PROTOBUF or LABELS. */
export function parseRemoteWrite(body: Uint8Array, version: 1 | 2): WriteRequest {
  try {
    return version === 1 ? decodeWriteRequest(body) : decodeWriteRequestV2(body);
  } catch (cause) {
    if (cause instanceof CodecError && cause.code === 'PROM_RELAY_CODEC_LABELS') {
      throw new DecodeError('PROM_RELAY_DECODE_LABELS', `remote write labels: ${cause.message}`, { cause });
    }
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new DecodeError('PROM_RELAY_DECODE_PROTOBUF', `remote write ${version === 1 ? '1.0' : '2.0'} body: ${message}`, { cause });
  }
}

/** The family and type of a series name, from the request's metadata (a histogram's `_bucket`/`_sum`/`_count` too). */
export type FamilyResolver = (name: string) => [family: string, type: InputMetricType];

export function familyResolver(metadata: readonly MetricMetadata[] | undefined): FamilyResolver {
  const meta = new Map<string, InputMetricType>();
  for (const m of metadata ?? []) meta.set(m.metricFamilyName, inputType(m.type));
  return (name) => {
    const own = meta.get(name);
    if (own !== undefined && own !== 'histogram') return [name, own];
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      const t = meta.get(base);
      if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return [base, t];
    }
    return [name, own ?? 'untyped'];
  };
}

/**
 * The points of series `i` (one per sample, in order; a staleness marker a point of its own, `staleMarker`, except on
 * a counter, where it is skipped), appended to `out`. Throws
 * DecodeError naming the series: UNSUPPORTED (gauge histograms, custom buckets), LABELS, VALUE (a counter-like value
 * a total cannot take, a malformed native histogram). The consumer and the HTTP ingest (which refuses exactly the
 * series this refuses) both call it. Native histogram samples become points of their own (`histogram` set). The
 * series' latest exemplar within the limits rides on its last point (`exemplar`); `dropped.exemplars` counts those
 * over the limits (the others are older than the latest: superseded, like earlier samples, not dropped).
 */
export function seriesPoints(
  ts: TimeSeries,
  i: number,
  familyOf: FamilyResolver,
  job: string,
  grouping: Labels,
  out: InputPoint[],
  dropped?: { exemplars: number },
): void {
  const histograms = ts.histograms ?? [];
  if (histograms.length > 0 && ts.samples.length > 0) {
    throw new DecodeError('PROM_RELAY_DECODE_VALUE', `series ${i} (${ts.labels['__name__'] ?? '?'}) carries both float samples and native histograms`);
  }
  try {
    validateLabels(ts.labels);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new DecodeError('PROM_RELAY_DECODE_LABELS', `series ${i}: ${message}`, { cause });
  }
  const name = ts.labels['__name__']!;
  const start = out.length;
  if (histograms.length > 0) histogramPoints(histograms, i, name, ts.labels, job, grouping, out);
  else floatPoints(ts, i, familyOf, name, job, grouping, out);
  if (ts.exemplars !== undefined && ts.exemplars.length > 0) {
    const { latest, overLimit } = latestExemplar(ts.exemplars);
    if (dropped !== undefined) dropped.exemplars += overLimit;
    if (latest === undefined) return;
    let last = out.length - 1;
    while (last >= start && out[last]!.staleMarker === true) last--;
    if (last >= start) out[last]!.exemplar = latest;
    else if (ts.samples.length === 0 && histograms.length === 0) {
      // Exemplars alone (Prometheus sends a scrape's exemplars as series of their own, beside its samples): a point
      // that carries only the exemplar, to the output series of a sample of the same labels (decodeRemoteWrite).
      const [family, type] = familyOf(name);
      out.push({ family, type, labels: pointLabels(ts.labels, job, grouping), value: 0, exemplar: latest, exemplarOnly: true });
    } else if (dropped !== undefined) dropped.exemplars++; // only staleness markers: no point to carry it
  }
}

function pointLabels(seriesLabels: Labels, job: string, grouping: Labels): Labels {
  const labels: Labels = { ...seriesLabels, job };
  for (const g of Object.keys(grouping)) labels[g] = grouping[g]!;
  return labels;
}

/**
 * Exemplar-only points onto the last point of a series of the same labels in the request, where there is one (the
 * newer exemplar kept); the others stay (the aggregate gives their exemplar to the series' output when it knows it).
 */
function mergeExemplarOnly(points: InputPoint[]): InputPoint[] {
  // Only points of the names exemplars came alone for are keyed (a request may hold thousands of other series).
  const names = new Set<string>();
  for (const p of points) if (p.exemplarOnly === true) names.add(p.labels['__name__']!);
  const last = new Map<string, InputPoint>();
  for (const p of points) if (p.exemplarOnly !== true && p.staleMarker !== true && names.has(p.labels['__name__']!)) last.set(labelsKey(p.labels), p);
  return points.filter((p) => {
    if (p.exemplarOnly !== true) return true;
    const target = last.get(labelsKey(p.labels));
    if (target === undefined) return true;
    if (isNewerExemplar(p.exemplar!, target.exemplar)) target.exemplar = p.exemplar!;
    return false;
  });
}

function floatPoints(ts: TimeSeries, i: number, familyOf: FamilyResolver, name: string, job: string, grouping: Labels, out: InputPoint[]): void {
  const [family, type] = familyOf(name);
  const start = out.length;
  for (const sample of ts.samples) {
    if (sample.stale) {
      // The series ended at its sender: a gauge's contribution ends with it (a counter's total outlives it).
      if (type !== 'counter') out.push({ family, type, labels: pointLabels(ts.labels, job, grouping), value: NaN, timestamp: sample.timestamp, staleMarker: true });
      continue;
    }
    out.push({ family, type, labels: pointLabels(ts.labels, job, grouping), value: sample.value, timestamp: sample.timestamp });
  }
  if (out.length > start) {
    try {
      checkCounterValues(out.slice(start));
    } catch (err) {
      if (err instanceof DecodeError) throw new DecodeError(err.code, `series ${i}: ${err.message}`);
      throw err;
    }
  }
}

/** A Remote Write 1.0 or 2.0 body (already decompressed) to points; every sample of a series becomes a point, in order. */
export function decodeRemoteWrite(
  body: Uint8Array,
  version: 1 | 2,
  job: string,
  grouping: Labels,
  metadataOut?: MetricMetadata[],
  dropped?: { exemplars: number },
): InputPoint[] {
  const req = parseRemoteWrite(body, version);
  // Help and unit ride along to the output (types come with every point).
  if (metadataOut !== undefined) for (const m of req.metadata ?? []) if (m.help || m.unit) metadataOut.push(m);
  const familyOf = familyResolver(req.metadata);
  const points: InputPoint[] = [];
  // Exemplars over the limits are left out here: the caller counts them (prom_relay_exemplars_dropped_total).
  let exemplarOnly = false;
  for (const [i, ts] of req.timeseries.entries()) {
    seriesPoints(ts, i, familyOf, job, grouping, points, dropped);
    if (ts.samples.length === 0 && !ts.histograms?.length && ts.exemplars?.length) exemplarOnly = true;
  }
  return exemplarOnly ? mergeExemplarOnly(points) : points;
}

/** Words of the staleness marker as `float64Words` gives them. */
const [STALE_LO, STALE_HI] = [0x00000002, 0x7ff00000];

function histogramPoints(histograms: Histogram[], i: number, name: string, seriesLabels: Labels, job: string, grouping: Labels, out: InputPoint[]): void {
  for (const h of histograms) {
    const [lo, hi] = float64Words(h.sum);
    if (lo === STALE_LO && hi === STALE_HI) continue; // a staleness marker: nothing to aggregate
    const problem = histogramProblem(h);
    if (problem !== null) {
      const code = h.resetHint === 'gauge' || problem.startsWith('schema') ? 'PROM_RELAY_DECODE_UNSUPPORTED' : 'PROM_RELAY_DECODE_VALUE';
      throw new DecodeError(code, `series ${i} (${name}): native histogram: ${problem}`);
    }
    out.push({ family: name, type: 'histogram', labels: pointLabels(seriesLabels, job, grouping), value: 0, histogram: h, timestamp: h.timestamp });
  }
}
