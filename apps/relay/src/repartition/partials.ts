// The repartition stage's wire format: what a source partition publishes about its output series (its partials),
// and which partition of the partials topic owns an output series (the relay's own hash, never the producer's).
import { gunzipSync, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Exemplar, Labels, MetricMetadata, MetricType } from '@prom-relay/codec';
import { histogramFromState, histogramToState, type HistogramState, type NativeHistogram } from '../aggregate/native-histogram.js';
import { intern, keptLabels } from '../aggregate/labels.js';
import type { CombineMode, OutputSample } from '../model.js';

const gzipAsync = promisify(gzip);

/** One output series as one source partition sees it. */
export interface PartialSeries {
  /** canonical identity of the labels (`labelsKey`): `name="value",` pairs, names sorted */
  key: string;
  combine: CombineMode;
  value: number;
  stale: boolean;
  /** avg: sum and count behind the mean */
  sum?: number;
  count?: number;
  /** last: when the value was applied (ms) */
  at?: number;
  /** native: the source's running native histogram (`value` is its count) */
  histogram?: NativeHistogram;
  /** the series' latest exemplar, new since the source's last publish (sent once) */
  exemplar?: Exemplar;
  /**
   * total, native: the source's series ended (a whole-job delete) and began again since the source last said it, and
   * `value` is the new one's, counted from zero. The number names the restart: the source offset of the delete's record
   * that ended the series (the same when a source that crashed after its publish applies the record again; sources
   * before that named it by the offset at which its end was first published: a failed publish's ends are said again
   * later, see SourceState.publishAll), so that an owner applies it once however often it is said. On a stale partial: an end that such a restart after it says too (at the
   * same offset an owner could not tell a repeat of end and value from a second end): sent for owners older than
   * restarts, which read the pair as before; an owner that knows restarts skips it.
   */
  restart?: number;
  /**
   * total, native, on a stale partial (a whole-job delete): the series' final running total at its source (`histogram`:
   * native), which may be newer than the source's last value (pushed after its last publish). Absent from sources
   * older than finals.
   */
  final?: { value: number; histogram?: NativeHistogram };
  /**
   * total, native, on a stale partial with a final total (a whole-job delete's end): the end's name, the source offset of
   * the delete's record that ended the series (the same when a source that crashed applies the record again). An owner
   * applies an end once by its name: one named after the last end it applied for the source is a run it never heard of
   * (a job pushed and deleted again within one flush), one named before the source's previous publish was said then
   * (see SeriesCombiner). Absent from sources older than names (their ends are applied as before).
   */
  end?: number;
  /**
   * Said again by a source restored from its checkpoint: an end (named, with a final total) its checkpoint kept (see
   * SourceState.toState), or a value whose `restart` only such ends name. It travels in fields of the message older
   * decoders do not read (`a`, `q`): an owner older than end names took a re-said end for a new one and counted the run
   * after it twice (a rolling upgrade), and to it such a value is the plain value it was before sources kept ends.
   */
  again?: boolean;
}

/** One published message: partials of one source partition's state as of `offset` (its next offset to apply). */
export interface PartialBatch {
  kind: 'partials';
  /** `<topic>/<partition>` of the source partition */
  source: string;
  offset: number;
  series: PartialSeries[];
  /** metadata of the families of `series` */
  metadata?: MetricMetadata[];
  /**
   * The message's place among the messages of one publish of `source` to one partials-topic partition (a publish cut
   * at the size limit): 0 for the first; absent from sources older than parts (each message is then taken for a
   * publish of its own). The owner tells the next publish from the rest of the same one by it.
   */
  part?: number;
}

export const PARTIALS_CONTENT_TYPE = 'application/vnd.prom-relay.partials.v1+json';
export const PARTIALS_HEADERS = { contentType: 'content-type', source: 'prom-relay-partials-source', offset: 'prom-relay-partials-offset' } as const;

const MODE_CODE: Record<CombineMode, string> = { total: 't', last: 'l', sum: 's', min: 'n', max: 'x', avg: 'a', native: 'h' };
const CODE_MODE: Record<string, CombineMode> = { t: 'total', l: 'last', s: 'sum', n: 'min', x: 'max', a: 'avg', h: 'native' };

type WireNumber = number | 'NaN' | '+Inf' | '-Inf';
/** An exemplar on the wire: [labels, value, timestamp?] (no timestamp: left out). */
type WireExemplar = [Labels, WireNumber, number?];
/**
 * [mode, key, value, stale, sum?, count?, at?, exemplar?, restart?]; native: [mode, key, value, stale, histogram, 0, 0,
 * exemplar?, restart?]. The exemplar came later (index 7): a row with one pads the fields its mode leaves unused with 0,
 * so a decoder that knows nothing of exemplars reads it as before; a row without one is what it always was. A restart
 * (later still) has `stale` 2, which an older decoder reads as a plain value, and its name at index 8 when that is not
 * the message's offset (index 7 then null when there is no exemplar); the end it says too is a stale row with the name at
 * index 8 (older decoders ignore it). An end of a total or native histogram (a stale row) has its final total at index 4
 * (a number, or a histogram), which older decoders do not read on a stale row; null there when it has none.
 *
 * Beside the rows, in fields of the message older decoders do not read: `e`, the names of ends (PartialSeries.end) as
 * row index and name, flat; `p`, the message's part (PartialBatch.part); `a`, the ends a restored source says again
 * (PartialSeries.again) as [row, name], before the rows; `q`, the restarts only such ends name, as row index and name,
 * flat (the row itself a plain value).
 */
type WireSeries = [string, string, WireNumber, 0 | 1 | 2, (WireNumber | HistogramState | null)?, number?, number?, (WireExemplar | null)?, number?];

const EXEMPLAR_AT = 7;
const RESTART_AT = 8;

function exemplarToWire(e: Exemplar): WireExemplar {
  return e.timestamp !== undefined && e.timestamp !== 0 ? [e.labels, toWire(e.value), e.timestamp] : [e.labels, toWire(e.value)];
}

function exemplarFromWire(v: unknown, i: number): Exemplar {
  if (!Array.isArray(v) || v[0] === null || typeof v[0] !== 'object' || Array.isArray(v[0])) throw new Error(`partial ${i}: malformed exemplar`);
  const labels: Labels = {};
  for (const [name, value] of Object.entries(v[0] as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new Error(`partial ${i}: exemplar label ${name} is not a string`);
    labels[name] = value;
  }
  const e: Exemplar = { labels, value: fromWire(v[1]) };
  if (typeof v[2] === 'number' && v[2] !== 0) e.timestamp = v[2];
  return e;
}

function toWire(v: number): WireNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function fromWire(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  throw new Error(`not a number: ${JSON.stringify(v)}`);
}

/** One partial as a row (see WireSeries); `offset`: its message's. */
function rowToWire(p: PartialSeries, offset: number): WireSeries {
  const restart = p.restart !== undefined;
  const row: WireSeries = [MODE_CODE[p.combine], p.key, p.stale ? 0 : toWire(p.value), p.stale ? 1 : restart ? 2 : 0];
  if (p.combine === 'avg') row.push(toWire(p.sum ?? 0), p.count ?? 0);
  else if (p.combine === 'last') row.push(0, 0, p.at ?? 0);
  else if (p.combine === 'native' && !p.stale && p.histogram !== undefined) row.push(histogramToState(p.histogram));
  else if (p.stale && (p.combine === 'total' || p.combine === 'native') && (p.final !== undefined || restart)) {
    row.push(p.final === undefined ? null : p.combine === 'native' ? histogramToState(p.final.histogram!) : toWire(p.final.value));
  }
  const named = restart && (p.stale || p.restart !== offset);
  if ((p.exemplar !== undefined && !p.stale) || named) {
    while (row.length < EXEMPLAR_AT) row.push(0);
    row.push(p.exemplar !== undefined && !p.stale ? exemplarToWire(p.exemplar) : null);
    if (named) row.push(p.restart!);
  }
  return row;
}

export async function encodePartials(batch: Omit<PartialBatch, 'kind'>): Promise<Buffer> {
  const series: WireSeries[] = [];
  const ends: number[] = [];
  const again: Array<[WireSeries, number]> = [];
  const againRestarts: number[] = [];
  for (const p of batch.series) {
    if (p.again === true && p.stale && p.end !== undefined) {
      again.push([rowToWire(p, batch.offset), p.end]);
      continue;
    }
    if (p.again === true && !p.stale && p.restart !== undefined) {
      againRestarts.push(series.length, p.restart);
      series.push(rowToWire({ ...p, restart: undefined }, batch.offset));
      continue;
    }
    if (p.end !== undefined && p.stale) ends.push(series.length, p.end);
    series.push(rowToWire(p, batch.offset));
  }
  const meta = (batch.metadata ?? []).map((m) => [m.metricFamilyName, m.type, m.help ?? '', m.unit ?? '']);
  const json = JSON.stringify({
    v: 1,
    src: batch.source,
    off: batch.offset,
    s: series,
    ...(meta.length > 0 ? { m: meta } : {}),
    ...(ends.length > 0 ? { e: ends } : {}),
    ...(batch.part !== undefined ? { p: batch.part } : {}),
    ...(again.length > 0 ? { a: again } : {}),
    ...(againRestarts.length > 0 ? { q: againRestarts } : {}),
  });
  return gzipAsync(Buffer.from(json), { level: 1 });
}

/** One row (see WireSeries) as a partial; `off`: its message's offset. */
function rowFromWire(row: unknown[], i: number, off: number): PartialSeries {
  const combine = CODE_MODE[row[0] as string];
  if (combine === undefined || typeof row[1] !== 'string') throw new Error(`partial ${i} is malformed`);
  const p: PartialSeries = { key: row[1], combine, value: fromWire(row[2]), stale: row[3] === 1 };
  if (combine === 'avg') {
    p.sum = fromWire(row[4]);
    p.count = Number(row[5]);
  } else if (combine === 'last') p.at = Number(row[6]);
  else if (combine === 'native' && !p.stale) p.histogram = histogramFromState(row[4]);
  else if (p.stale && (combine === 'total' || combine === 'native') && row.length > 4 && row[4] !== null) {
    if (combine === 'native') {
      const histogram = histogramFromState(row[4]);
      p.final = { value: histogram.count, histogram };
    } else p.final = { value: fromWire(row[4]) };
  }
  if (row.length > EXEMPLAR_AT && row[EXEMPLAR_AT] !== null && !p.stale) p.exemplar = exemplarFromWire(row[EXEMPLAR_AT], i);
  if (row[3] === 2 || (p.stale && row.length > RESTART_AT)) {
    const end = row.length > RESTART_AT ? row[RESTART_AT] : off;
    if (typeof end !== 'number' || !Number.isSafeInteger(end) || end < 0) throw new Error(`partial ${i}: malformed restart offset`);
    p.restart = end;
  }
  return p;
}

const isName = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Synchronous: the source applies records in order, one at a time (a message is at most a few hundred KiB). */
export function decodePartials(value: Buffer): PartialBatch {
  const parsed = JSON.parse(gunzipSync(value).toString('utf8')) as { v?: unknown; src?: unknown; off?: unknown; s?: unknown; m?: unknown; e?: unknown; p?: unknown; a?: unknown; q?: unknown };
  if (parsed?.v !== 1 || typeof parsed.src !== 'string' || typeof parsed.off !== 'number' || !Array.isArray(parsed.s)) {
    throw new Error('not a partials message (version 1)');
  }
  const series: PartialSeries[] = new Array(parsed.s.length);
  for (let i = 0; i < parsed.s.length; i++) series[i] = rowFromWire(parsed.s[i] as unknown[], i, parsed.off);
  if (parsed.e !== undefined) {
    if (!Array.isArray(parsed.e) || parsed.e.length % 2 !== 0) throw new Error('malformed end names');
    for (let k = 0; k < parsed.e.length; k += 2) {
      const p = series[parsed.e[k] as number];
      const name = parsed.e[k + 1] as unknown;
      if (p === undefined || !p.stale || !isName(name)) throw new Error(`malformed end name ${k / 2}`);
      p.end = name;
    }
  }
  if (parsed.q !== undefined) {
    if (!Array.isArray(parsed.q) || parsed.q.length % 2 !== 0) throw new Error('malformed restarts said again');
    for (let k = 0; k < parsed.q.length; k += 2) {
      const p = series[parsed.q[k] as number];
      const name = parsed.q[k + 1] as unknown;
      if (p === undefined || p.stale || (p.combine !== 'total' && p.combine !== 'native') || !isName(name)) throw new Error(`malformed restart said again ${k / 2}`);
      p.restart = name;
      p.again = true;
    }
  }
  if (parsed.a !== undefined) {
    if (!Array.isArray(parsed.a)) throw new Error('malformed ends said again');
    // Before the rows: a source says the ends a failed publish (or its checkpoint) carried before its new values.
    const again = (parsed.a as unknown[]).map((v, k) => {
      if (!Array.isArray(v) || !Array.isArray(v[0]) || !isName(v[1])) throw new Error(`malformed end said again ${k}`);
      const p = rowFromWire(v[0] as unknown[], k, parsed.off as number);
      if (!p.stale || p.final === undefined) throw new Error(`end said again ${k} is not an end with a final total`);
      p.end = v[1];
      p.again = true;
      return p;
    });
    series.unshift(...again);
  }
  const batch: PartialBatch = { kind: 'partials', source: parsed.src, offset: parsed.off, series };
  if (parsed.p !== undefined) {
    if (typeof parsed.p !== 'number' || !Number.isSafeInteger(parsed.p) || parsed.p < 0) throw new Error('malformed part');
    batch.part = parsed.p;
  }
  if (Array.isArray(parsed.m)) {
    batch.metadata = (parsed.m as unknown[][]).map(([family, type, help, unit]) => ({
      metricFamilyName: String(family),
      type: String(type) as MetricType,
      ...(help ? { help: String(help) } : {}),
      ...(unit ? { unit: String(unit) } : {}),
    }));
  }
  return batch;
}

/** Parses a `labelsKey` back into labels: `name="json string",` repeated (names sorted, values interned). */
export function labelsFromKey(key: string): Labels {
  const names: string[] = [];
  const values: string[] = [];
  let json = '{';
  let i = 0;
  while (i < key.length) {
    const eq = key.indexOf('=', i);
    if (eq < 0 || key.charCodeAt(eq + 1) !== 34) throw new Error(`malformed series key at ${i}`);
    const name = key.slice(i, eq);
    // The value is a JSON string: find its closing quote (not escaped).
    let j = eq + 2;
    while (j < key.length) {
      const c = key.charCodeAt(j);
      if (c === 92) j += 2;
      else if (c === 34) break;
      else j++;
    }
    if (j >= key.length || key.charCodeAt(j + 1) !== 44) throw new Error(`malformed series key at ${eq}`);
    values.push(JSON.parse(key.slice(eq + 1, j + 1)) as string);
    names.push(intern(name));
    json += (names.length > 1 ? ',' : '') + JSON.stringify(name) + ':""';
    i = j + 2;
  }
  return keptLabels(json + '}', names, (_name, k) => values[k]!);
}

const SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * The partials-topic partition that owns an output series: FNV-1a over its labels, leaving out `le` and a
 * `_bucket`/`_sum`/`_count` suffix, so every part of one histogram has one owner and is combined in one place.
 */
export function ownerPartition(labels: Labels, partitions: number): number {
  let h = 0x811c9dc5;
  const mix = (s: string, end: number, separator: number) => {
    for (let i = 0; i < end; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= separator;
    h = Math.imul(h, 0x01000193);
  };
  for (const name in labels) {
    if (name === 'le') continue;
    const value = labels[name]!;
    let end = value.length;
    if (name === '__name__') {
      const suffix = SUFFIXES.find((x) => value.endsWith(x));
      if (suffix !== undefined) end -= suffix.length;
    }
    mix(name, name.length, 0);
    mix(value, end, 1);
  }
  return (h >>> 0) % partitions;
}

/** A source partition's collected samples as partials (the flush stamps nothing here: the owner does). */
export function toPartial(s: OutputSample, key: string): PartialSeries {
  const p: PartialSeries = { key, combine: s.combine ?? 'last', value: s.value, stale: s.stale === true };
  if (p.combine === 'avg') {
    p.sum = s.sum ?? s.value;
    p.count = s.count ?? 1;
  } else if (p.combine === 'last') p.at = s.at ?? 0;
  else if (p.combine === 'native' && s.histogram !== undefined) p.histogram = s.histogram;
  if (s.exemplar !== undefined && !p.stale) p.exemplar = s.exemplar;
  if (s.final !== undefined && p.stale && (p.combine === 'total' || (p.combine === 'native' && s.final.histogram !== undefined))) p.final = s.final;
  return p;
}
