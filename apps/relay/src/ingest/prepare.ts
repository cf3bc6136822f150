// From a request to the messages the ingest produces, each checked by the consumer's own decodeRecord first (a text
// push of a cached group by textBodyPasses, the same parser without points, and by decodeRecord whenever that one is
// not sure): the ingest acknowledges only what the consumer will apply. Pure and synchronous: it runs on the event
// loop for small pushes and in the ingest's worker thread (worker.ts) for big pushes and every Remote Write request.
import { compress } from '@prom-relay/codec';
import type { TimeSeries } from '@prom-relay/codec';
import { CONTENT_TYPE, HEADER } from '@prom-relay/emitter';
import type { PushOp } from '@prom-relay/emitter';
import { isUtf8 } from 'node:buffer';
import { DEFAULT_MAX_MESSAGE_BYTES, DecodeError, checkCounterValues, decodeRecord, describeSeries, familyResolver, parseHeaders, seriesPoints } from '../decode/index.js';
import type { DecodeErrorCode, DecodeOptions, MessageHeaders, RecordHeaders } from '../decode/index.js';
import { TextSkeleton } from '../decode/text-skeleton.js';
import { textBodyPasses } from '../decode/text.js';
import { readsAsTotal } from '../aggregate/plan.js';
import { exemplarWithinLimits } from '../exemplars.js';
import type { InputPoint } from '../model.js';
import { IngestError } from './errors.js';
import { AggregateLimitError, checkGroupValues, checkPointLabels, roomForHeaderLabels } from './label-limits.js';
import { processRunId } from './producer-id.js';
import { firstTimestamp, timestampRefusal } from './push-timestamps.js';
import type { IngestErrorCode } from './errors.js';
import { pushMessage, pushedBody } from './pushgateway.js';
import type { PushGroup } from './pushgateway.js';
import { decodeRemoteWrite, groupMessage, groupMetadata, groupSeries } from './remote-write.js';
import type { MetadataCache, RemoteWriteVersion } from './remote-write.js';
import type { IngestMessage } from './ingest.js';

/** A Buffer over compress()'s fresh array, not a copy of it. */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** What the consumer would refuse, as the ingest answers it. */
function ingestCode(code: DecodeErrorCode, headerCode: IngestErrorCode): IngestErrorCode {
  switch (code) {
    case 'PROM_RELAY_DECODE_LABELS':
      return 'PROM_RELAY_INGEST_LABELS';
    case 'PROM_RELAY_DECODE_VALUE':
      return 'PROM_RELAY_INGEST_VALUE';
    case 'PROM_RELAY_DECODE_DUPLICATE':
      return 'PROM_RELAY_INGEST_DUPLICATE';
    case 'PROM_RELAY_DECODE_UNSUPPORTED':
      return 'PROM_RELAY_INGEST_UNSUPPORTED';
    case 'PROM_RELAY_DECODE_LIMIT':
      return 'PROM_RELAY_INGEST_LIMIT';
    case 'PROM_RELAY_DECODE_TOO_LARGE':
      return 'PROM_RELAY_INGEST_TOO_LARGE';
    case 'PROM_RELAY_DECODE_HEADER':
    case 'PROM_RELAY_DECODE_MISSING_HEADER':
    case 'PROM_RELAY_DECODE_CONTENT_TYPE':
    case 'PROM_RELAY_DECODE_CONTENT_ENCODING':
      return headerCode;
    default:
      return 'PROM_RELAY_INGEST_BODY';
  }
}

const ASCII = /^[\x00-\x7f]*$/;

/** The message as the consumer will read it: header values as UTF-8 bytes, as Kafka delivers them. */
function asRecord(message: IngestMessage): Parameters<typeof decodeRecord>[0] {
  const headers: RecordHeaders = {};
  // An ASCII value reads back from its UTF-8 bytes as the same string: it is handed over as is (no encode and decode).
  for (const [name, value] of Object.entries(message.headers)) headers[name] = ASCII.test(value) ? value : Buffer.from(value, 'utf8');
  return { topic: '', partition: -1, offset: '-1', key: Buffer.from(message.key), value: message.value, headers };
}

/**
 * Throws the consumer's DecodeError when it would dead-letter or refuse this message, and AggregateLimitError when the
 * aggregate would refuse a point at its label limits, the job and grouping labels counted (label-limits.ts).
 * `push`: the message of a Pushgateway request, `headerLabels` the labels its headers add to each series (the job and
 * the grouping labels); its text must have no timestamps (IngestError BODY, push-timestamps.ts).
 */
export function checkMessage(message: IngestMessage, decode: DecodeOptions, push?: { headerLabels: number }): void {
  const room = roomForHeaderLabels(decode, push?.headerLabels ?? 0);
  if (room !== undefined && surelyTaken(message, room, push !== undefined)) return;
  const batch = decodeRecord(asRecord(message), decode);
  checkPointLabels(batch.points, decode.limits);
  // Only a push writes text (a protobuf push's timestamps are refused before, in metric-family-proto.ts).
  if (push !== undefined && batch.points.length > 0 && message.headers[HEADER.contentType] === CONTENT_TYPE.text) {
    const stamped = firstTimestamp(message.value.toString('utf8'));
    if (stamped !== undefined) throw new IngestError('PROM_RELAY_INGEST_BODY', timestampRefusal(stamped));
  }
}

/** parseHeaders of a cached group's shared, frozen headers (pushgateway.ts pushMessage), once per headers object. */
const parsedHeaders = new WeakMap<object, CachedHeaders>();

interface CachedHeaders {
  temporality: DecodeOptions['defaultTemporality'];
  headers: MessageHeaders;
  /** the group's last body that passed, as a skeleton, checked with these limits */
  skeleton?: TextSkeleton | undefined;
  limits?: DecodeOptions['limits'];
}

/**
 * True when decodeRecord is sure to take this message, found for less work: a text push of a cached group, its
 * headers parsed once, its body checked by textBodyPasses (the consumer's parse, no points). Anything else, and any
 * doubt, is false: checkMessage then runs decodeRecord itself, whose answer (and error) is the one given.
 */
function surelyTaken(message: IngestMessage, decode: DecodeOptions, push: boolean): boolean {
  const shared = message.headers;
  if (!Object.isFrozen(shared)) return false;
  let cached = parsedHeaders.get(shared);
  if (cached === undefined || cached.temporality !== decode.defaultTemporality) {
    let headers: MessageHeaders;
    try {
      headers = parseHeaders(asRecord(message).headers, decode.defaultTemporality ?? 'cumulative');
    } catch {
      return false;
    }
    cached = { temporality: decode.defaultTemporality, headers };
    parsedHeaders.set(shared, cached);
  }
  const h = cached.headers;
  const value = message.value;
  // decodeRecord's own order: a delete or an empty body has no points; a text body is size-checked, UTF-8, parsed.
  if (h.op === 'delete' || h.format !== 'text' || h.snappy || value.length === 0) return false;
  if (value.length > (decode.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)) return false;
  // The group's last passed body with other values (decode/text-skeleton.ts): the same lines, checked values only.
  const skeleton = cached.skeleton;
  if (skeleton !== undefined && cached.limits === decode.limits && skeleton.matches(value)) return true;
  if (!isUtf8(value)) return false;
  const text = value.toString('utf8');
  if (!textBodyPasses(text, h.job, h.grouping, decode.limits ?? {}, decode.totalRules !== undefined && readsAsTotal(decode.totalRules) !== null)) return false;
  // A push with a timestamp is refused (checkMessage): it never becomes a skeleton, so a body matching one has none.
  if (push && firstTimestamp(text) !== undefined) return false;
  if (value.length <= MAX_SKELETON_BYTES) keepSkeleton(cached, TextSkeleton.ofPassed(value), decode.limits);
  return true;
}

/** Bodies up to this size keep a skeleton; all skeletons together hold at most SKELETON_BUDGET bytes. */
const MAX_SKELETON_BYTES = 64 * 1024;
const SKELETON_BUDGET = 4 * 1024 * 1024;
/** The groups holding a skeleton, oldest first, and the bytes they hold. */
const skeletonHolders = new Set<CachedHeaders>();
let skeletonBytes = 0;

function keepSkeleton(cached: CachedHeaders, skeleton: TextSkeleton | undefined, limits: DecodeOptions['limits']): void {
  if (cached.skeleton !== undefined) {
    skeletonBytes -= cached.skeleton.size;
    skeletonHolders.delete(cached);
    cached.skeleton = undefined;
  }
  if (skeleton === undefined) return;
  // Over budget: the oldest holders let theirs go (a changed body makes a new one; at worst a push is checked in full).
  for (const holder of skeletonHolders) {
    if (skeletonBytes + skeleton.size <= SKELETON_BUDGET) break;
    skeletonBytes -= holder.skeleton!.size;
    holder.skeleton = undefined;
    skeletonHolders.delete(holder);
  }
  if (skeletonBytes + skeleton.size > SKELETON_BUDGET) return;
  cached.skeleton = skeleton;
  cached.limits = limits;
  skeletonBytes += skeleton.size;
  skeletonHolders.add(cached);
}

/** A DecodeError as an ingest answer; text errors name line and column once. */
export function refusal(err: DecodeError, headerCode: IngestErrorCode): IngestError {
  if (err instanceof AggregateLimitError) {
    return new IngestError('PROM_RELAY_INGEST_LIMIT', `${err.message}: the relay's aggregate would refuse its points (aggregation.max_labels_per_series, aggregation.max_label_value_length)`, { cause: err });
  }
  const code = ingestCode(err.code, headerCode);
  if (err.code === 'PROM_RELAY_DECODE_TEXT' || (err.code === 'PROM_RELAY_DECODE_LIMIT' && err.line !== undefined)) {
    const where = err.line !== undefined ? ` (line ${err.line}, column ${err.column ?? 1})` : '';
    const message = err.message.replace(/^line \d+, column \d+: /, '');
    const what = err.code === 'PROM_RELAY_DECODE_TEXT' ? 'text exposition does not parse' : 'text exposition breaks a limit';
    return new IngestError(code, `${what}${where}: ${message}`, { cause: err });
  }
  return new IngestError(code, `${err.message} (the relay would dead-letter it as ${err.code})`, { cause: err });
}

export interface PushInput {
  group: PushGroup;
  op: PushOp;
  /** the request body (already gunzipped) */
  body: Buffer;
  contentType: string | undefined;
  producerLabels: readonly string[];
  runId: string | undefined;
  /** read the run from the body (processRunId) where `runId` is undefined: done in the worker for big bodies */
  findRun?: boolean;
  decode: DecodeOptions;
}

/** The one message of a Pushgateway request; IngestError naming the problem when the consumer would refuse it. */
export function preparePush(input: PushInput): IngestMessage {
  return checkedPush(input).message;
}

/**
 * preparePush for a big body, in the worker: the checked text comes back snappy-compressed, so the event loop copies
 * and checksums a third of the bytes when kafkajs encodes the record (the consumer reads `content-encoding: snappy`).
 */
export function compressedPush(input: PushInput): { snappy: Buffer; contentType?: string; runId?: string } {
  if (input.findRun === true && input.runId === undefined) input = { ...input, runId: processRunId(input.body, input.contentType) };
  const { message, contentType } = checkedPush(input);
  return { snappy: asBuffer(compress(message.value)), ...(contentType !== undefined ? { contentType } : {}), ...(input.runId !== undefined ? { runId: input.runId } : {}) };
}

/**
 * preparePush, its checked text snappy-compressed (`content-encoding: snappy`; a delete's empty body stays as is):
 * 5.9 KB becomes 1.3 KB for ~8 us (the consumer spends ~5 us to decompress); the broker's CPU per push fell by a third
 * and Kafka stores a quarter of the bytes (the ingest README, Speed).
 */
export function snappyPush(input: PushInput): IngestMessage {
  const { message } = checkedPush(input);
  if (input.op === 'delete') return message;
  return { key: message.key, value: asBuffer(compress(message.value)), headers: withSnappy(message.headers) };
}

/** A cached group's shared headers with `content-encoding: snappy`, made once and shared too (frozen). */
const snappyHeaders = new WeakMap<object, Readonly<Record<string, string>>>();

function withSnappy(headers: Record<string, string>): Record<string, string> {
  if (!Object.isFrozen(headers)) return { ...headers, [HEADER.contentEncoding]: 'snappy' };
  let shared = snappyHeaders.get(headers);
  if (shared === undefined) {
    shared = Object.freeze({ ...headers, [HEADER.contentEncoding]: 'snappy' });
    snappyHeaders.set(headers, shared);
  }
  return shared as Record<string, string>;
}

/** preparePush, also saying whether the text was converted (protobuf delimited) and the content type when not text. */
export function checkedPush(input: PushInput): { message: IngestMessage; converted: boolean; contentType?: string } {
  const pushed = input.op === 'delete' ? { body: Buffer.alloc(0) } : pushedBody(input.body, input.contentType);
  const text = pushed.body;
  const message = pushMessage(input.group, input.op, text, input.producerLabels, input.runId, false, pushed.contentType);
  const { job, grouping } = input.group;
  try {
    // The aggregate refuses every point of a group whose job or grouping value is past the length limit.
    if (input.op !== 'delete') checkGroupValues(job, grouping, input.decode.limits);
    checkMessage(message, input.decode, { headerLabels: 1 + Object.keys(grouping).length });
  } catch (err) {
    if (err instanceof DecodeError) throw refusal(err, 'PROM_RELAY_INGEST_PATH');
    throw err;
  }
  return { message, converted: text !== input.body && input.op !== 'delete', ...(pushed.contentType !== undefined ? { contentType: pushed.contentType } : {}) };
}

export interface RemoteWriteInput {
  body: Uint8Array;
  contentEncoding: string | undefined;
  version: RemoteWriteVersion;
  maxBodyBytes: number;
  defaultJob: string;
  producerLabels: readonly string[];
  decode: DecodeOptions;
}

/** One refused series (or a whole group of them), as the 400 names it. */
export interface SeriesRefusal {
  code: IngestErrorCode;
  message: string;
  /** how many series this refusal covers */
  series: number;
}

export interface PreparedRemoteWrite {
  messages: IngestMessage[];
  /** what the messages carry: the `X-Prometheus-Remote-Write-*-Written` counts once Kafka acknowledged */
  written: { series: number; samples: number; histograms: number; exemplars: number };
  /** exemplars of the written series over the limits (exemplars.ts), left out of the messages: never written */
  dropped: { exemplars: number };
  refused: SeriesRefusal[];
  refusedSeries: number;
}

/**
 * Partial write, as Prometheus does it: every series the consumer would apply goes into messages; every series it
 * would refuse is named in `refused` (the ingest answers 400 after producing the rest). A message is checked by
 * decodeRecord; only when that fails are its series checked one by one with the consumer's seriesPoints.
 */
export function prepareRemoteWrite(input: RemoteWriteInput, metadata: MetadataCache): PreparedRemoteWrite {
  const req = decodeRemoteWrite(Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength), input.contentEncoding, input.version, input.maxBodyBytes);
  metadata.learn(req.metadata);
  // Exemplars over the limits go no further than here: left out of the messages, counted as dropped for the series
  // written; the others go on (the consumer carries the latest of each series to the output).
  const exemplarsOf = overLimitExemplars(req.timeseries);
  const opts = { producerLabels: input.producerLabels, version: input.version };
  const out: PreparedRemoteWrite = { messages: [], written: { series: 0, samples: 0, histograms: 0, exemplars: 0 }, dropped: { exemplars: 0 }, refused: [], refusedSeries: 0 };
  const refuse = (r: SeriesRefusal) => {
    out.refused.push(r);
    out.refusedSeries += r.series;
  };
  for (const group of groupSeries(req, input.defaultJob)) {
    const families = groupMetadata(group.series, metadata);
    let message = groupMessage(group, group.series, families, opts);
    let series = group.series;
    let failure = check(message, input.decode);
    if (failure !== undefined) {
      const headerProblem = headerFailure(message);
      if (headerProblem !== undefined) {
        refuse({ ...groupRefusal(group.job, group.grouping.instance, headerProblem), series: series.length });
        continue;
      }
      // Series by series, with the consumer's own rules: the good ones are written, the bad ones named.
      const familyOf = familyResolver(families);
      const totals = input.decode.totalRules === undefined ? null : readsAsTotal(input.decode.totalRules);
      const good: TimeSeries[] = [];
      const scratch: InputPoint[] = [];
      for (const [k, ts] of group.series.entries()) {
        try {
          scratch.length = 0;
          seriesPoints(ts, group.indices[k]!, familyOf, group.job, group.grouping, scratch);
          if (totals !== null) checkCounterValues(scratch, totals);
          checkPointLabels(scratch, input.decode.limits);
          good.push(ts);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          // An AggregateLimitError names its series itself.
          const what = err instanceof AggregateLimitError ? err.message : `${describeSeries(ts.labels)}: ${err.message}`;
          refuse({ code: ingestCode(err.code, 'PROM_RELAY_INGEST_LABELS'), message: what, series: 1 });
        }
      }
      if (good.length === 0) continue;
      series = good;
      message = groupMessage(group, good, groupMetadata(good, metadata), opts);
      failure = check(message, input.decode);
      if (failure !== undefined) {
        // Not expected (every series passed on its own); the consumer would still refuse the message: refuse it whole.
        refuse({ code: ingestCode(failure.code, 'PROM_RELAY_INGEST_LABELS'), message: `job ${group.job}: ${failure.message}`, series: good.length });
        continue;
      }
    }
    out.messages.push(message);
    out.written.series += series.length;
    for (const ts of series) {
      out.written.samples += ts.samples.length;
      out.written.histograms += ts.histograms?.length ?? 0;
      out.written.exemplars += ts.exemplars?.length ?? 0;
      if (exemplarsOf !== undefined) out.dropped.exemplars += exemplarsOf.get(ts) ?? 0;
    }
  }
  return out;
}

/** Removes the exemplars over the limits from every series; how many each lost, when any lost some. */
function overLimitExemplars(series: TimeSeries[]): Map<TimeSeries, number> | undefined {
  let counts: Map<TimeSeries, number> | undefined;
  const now = Date.now();
  for (const ts of series) {
    const exemplars = ts.exemplars;
    if (exemplars === undefined) continue;
    const kept = exemplars.filter((e) => exemplarWithinLimits(e, now));
    if (kept.length < exemplars.length) (counts ??= new Map()).set(ts, exemplars.length - kept.length);
    if (kept.length > 0) ts.exemplars = kept;
    else delete ts.exemplars;
  }
  return counts;
}

function check(message: IngestMessage, decode: DecodeOptions): DecodeError | undefined {
  try {
    checkMessage(message, decode);
    return undefined;
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
}

/** The consumer's header check alone: a job or instance it refuses fails every series of the group. */
function headerFailure(message: IngestMessage): DecodeError | undefined {
  try {
    parseHeaders(asRecord(message).headers, 'cumulative');
    return undefined;
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
}

function groupRefusal(job: string, instance: string | undefined, err: DecodeError): Omit<SeriesRefusal, 'series'> {
  const who = `job=${JSON.stringify(job)}${instance !== undefined ? `, instance=${JSON.stringify(instance)}` : ''}`;
  return { code: 'PROM_RELAY_INGEST_LABELS', message: `every series of ${who}: ${err.message}` };
}

/** The 400 of a partial write: how many series were refused and written, then the first refusals. */
export function partialWriteError(prepared: PreparedRemoteWrite, maxNamed = 10): IngestError {
  const { refused, refusedSeries, written } = prepared;
  const named = refused.slice(0, maxNamed).map((r) => r.message);
  const more = refused.length > maxNamed ? `; and ${refused.length - maxNamed} more` : '';
  const summary = `${refusedSeries} series refused, ${written.series} written (${written.samples} samples)`;
  return new IngestError(refused[0]!.code, `${summary}: ${named.join('; ')}${more}`);
}
