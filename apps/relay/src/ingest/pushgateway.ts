// The Pushgateway API: `/metrics/job/<job>{/<label>/<value>}` with `@base64` values, bodies to one message.
import { isUtf8 } from 'node:buffer';
import { CONTENT_TYPE, buildMessage } from '@prom-relay/emitter';
import type { Grouping, MetricsMessage, PushOp } from '@prom-relay/emitter';
import { controlCharacter } from '../decode/index.js';
import { IngestError } from './errors.js';
import { groupProducerId } from './producer-id.js';
import { isMetricFamilyProtobuf, metricFamiliesMessageBody } from './metric-family-proto.js';

export const PUSHGATEWAY_PREFIX = '/metrics/job';

export interface PushGroup {
  job: string;
  /** grouping labels without job; empty values left out (an empty label is an absent label) */
  grouping: Grouping;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function pathError(message: string): IngestError {
  return new IngestError('PROM_RELAY_INGEST_PATH', message);
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw pathError(`path segment ${JSON.stringify(raw)} is not valid percent-encoding`);
  }
}

function decodeBase64(name: string, raw: string): string {
  // URL-safe base64 (RFC 4648 §5), as the Pushgateway reads it: percent-decoded (`%3D` is padding), padding optional
  // and only at the end, no length that leaves one character over; `=` alone is the empty value. Buffer.from would
  // stop at an inner `=` or drop a dangling character, silently: a value cut short.
  const text = decodeSegment(raw).replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw pathError(`value of ${name} is not URL-safe base64: ${JSON.stringify(raw)}`);
  const bytes = Buffer.from(text, 'base64url');
  if (!isUtf8(bytes)) throw pathError(`value of ${name} is not UTF-8 once base64-decoded: ${JSON.stringify(raw)}`);
  return bytes.toString('utf8');
}

/** The job name and grouping values become label values, Kafka headers and keys: no control characters (the consumer
 *  refuses them too, decode/headers.ts). */
function checkControl(what: string, value: string): void {
  const control = controlCharacter(value);
  if (control !== undefined) throw pathError(`${what} contains the control character ${control}`);
}

/** True when the path is under `/metrics/job` or `/metrics/job@base64`. */
export function isPushgatewayPath(pathname: string): boolean {
  return pathname.startsWith(`${PUSHGATEWAY_PREFIX}/`) || pathname.startsWith(`${PUSHGATEWAY_PREFIX}@base64/`);
}

/** Parsed paths (frozen, shared): a keep-alive client pushes to its group again and again. Emptied when full. */
const MAX_CACHED_PATHS = 10_000;
const parsedPaths = new Map<string, PushGroup>();

/** parsePushPath, remembered per path (a path that fails is parsed again each time, so its error stays exact). */
export function cachedPushPath(pathname: string): PushGroup {
  let group = parsedPaths.get(pathname);
  if (group === undefined) {
    const parsed = parsePushPath(pathname);
    group = Object.freeze({ job: parsed.job, grouping: Object.freeze(parsed.grouping) });
    if (parsedPaths.size >= MAX_CACHED_PATHS) parsedPaths.clear();
    parsedPaths.set(pathname, group);
  }
  return group;
}

/** Parses the group from a Pushgateway path; throws IngestError PATH naming the problem. */
export function parsePushPath(pathname: string): PushGroup {
  const segments = pathname.slice('/metrics/'.length).split('/');
  // A trailing slash adds no label (clients that join paths loosely send one).
  if (segments.length % 2 === 1 && segments[segments.length - 1] === '') segments.pop();
  if (segments.length % 2 !== 0) throw pathError(`grouping label ${JSON.stringify(decodeSegment(segments[segments.length - 1]!))} has no value`);
  let job: string | undefined;
  const grouping: Grouping = {};
  for (let i = 0; i < segments.length; i += 2) {
    let name = decodeSegment(segments[i]!);
    let value = decodeSegment(segments[i + 1]!);
    if (name.endsWith('@base64')) {
      name = name.slice(0, -'@base64'.length);
      value = decodeBase64(name, segments[i + 1]!);
    }
    if (i === 0) {
      if (name !== 'job') throw pathError('path must start with /metrics/job/<job>');
      if (value === '') throw pathError('job name is required: /metrics/job/<job>');
      checkControl('job name', value);
      job = value;
      continue;
    }
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw pathError(`grouping label name ${JSON.stringify(name)} is not a valid label name`);
    // Object.hasOwn, not `in`: a label named `constructor` or `toString` is not on the object until it is set.
    if (name === 'job' || Object.hasOwn(grouping, name)) throw pathError(`grouping label ${name} appears twice`);
    checkControl(`value of grouping label ${name}`, value);
    if (value !== '') grouping[name] = value;
  }
  return { job: job!, grouping };
}

/** A stable producer id per group: the Pushgateway's identity is the group, and a repeated push replaces it. */
export function pushProducerId(group: PushGroup): string {
  return groupProducerId('pushgateway', group.job, group.grouping);
}

/** What a push's message carries: its body, and the content type when it is not text exposition 0.0.4. */
export interface PushedBody {
  body: Buffer;
  contentType?: string;
}

/**
 * The body a message carries: text exposition unchanged, or the protobuf delimited format converted to text, or kept
 * as it is (MetricFamily content type) when it carries native histograms. Not checked here: the message is checked by
 * the consumer's own decodeRecord before it is produced (prepare.ts).
 */
export function pushedBody(body: Buffer, contentType: string | undefined): PushedBody {
  if (contentType !== undefined && isMetricFamilyProtobuf(contentType)) return metricFamiliesMessageBody(body);
  if (contentType !== undefined && /openmetrics/i.test(contentType)) {
    throw new IngestError('PROM_RELAY_INGEST_MEDIA_TYPE', `Content-Type ${contentType} is not taken: push text exposition 0.0.4 or the protobuf delimited format`);
  }
  return { body };
}

/**
 * The one message a Pushgateway request becomes. `runId` (the request's `prom-relay-producer` header) marks one job
 * run: without it every push to a group continues one producer, so a new run's counters count from its predecessor's.
 */
export function pushMessage(
  group: PushGroup,
  op: PushOp,
  text: Buffer,
  producerLabels: readonly string[],
  runId?: string,
  snappy = false,
  contentType: string = CONTENT_TYPE.text,
): MetricsMessage {
  // Key and headers depend on the group and these options only: built once per group (of a cached path) and variant.
  const variant = `${op}\n${snappy ? 1 : 0}\n${contentType}\n${runId ?? ''}\n${producerLabels.join('\n')}`;
  const variants = builtMessages.get(group);
  const built = variants?.get(variant);
  if (built !== undefined) return { key: built.key, value: text, headers: built.headers as Record<string, string> };
  const producerId = runId === undefined ? pushProducerId(group) : `${pushProducerId(group)}/run=${runId}`;
  const message = buildMessage(
    { contentType, job: group.job, grouping: group.grouping, producerId, op, ...(snappy ? { contentEncoding: 'snappy' as const } : {}) },
    text,
    producerLabels,
  );
  if (Object.isFrozen(group)) {
    // Only for groups of cachedPushPath (kept while the path is): their messages share one frozen headers object.
    const headers = Object.freeze(message.headers);
    if (variants === undefined) builtMessages.set(group, new Map([[variant, { key: message.key, headers }]]));
    else if (variants.size < MAX_VARIANTS) variants.set(variant, { key: message.key, headers });
    return { key: message.key, value: text, headers: headers as Record<string, string> };
  }
  return message;
}

/** Per cached group, key and headers by op, encoding, content type, run and producer labels (a few per group). */
const builtMessages = new WeakMap<PushGroup, Map<string, { key: string; headers: Readonly<Record<string, string>> }>>();
const MAX_VARIANTS = 16;
