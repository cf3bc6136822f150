// The push an acknowledged ingest message carries (job, grouping, producer, op), read from its headers for the status
// page's jobs table. A group's messages share one frozen headers object (the ingest's cached groups): read once per object.
import { HEADER } from '@prom-relay/emitter';
import { headerString, parseGrouping } from '../decode/index.js';
import type { IngestMessage } from '../ingest/index.js';

type PushFields = { job: string; grouping: Record<string, string>; producerId: string; op: string };

/** The push fields of a group's shared (frozen) message headers, read once per object. */
const pushFieldsOf = new WeakMap<object, PushFields | null>();

/** The push an acknowledged ingest message carries, for the status page's jobs table. */
export function ingestedPush(m: IngestMessage, at: number): (PushFields & { at: number }) | undefined {
  const headers = (m.headers ?? {}) as Record<string, Buffer | string | undefined>;
  const shared = Object.isFrozen(headers);
  let fields = shared ? pushFieldsOf.get(headers) : undefined;
  if (fields === undefined) {
    fields = pushFields(headers);
    if (shared) pushFieldsOf.set(headers, fields);
  }
  return fields === null ? undefined : { ...fields, at };
}

function pushFields(headers: Record<string, Buffer | string | undefined>): PushFields | null {
  try {
    const job = headerString(headers, HEADER.job);
    const producerId = headerString(headers, HEADER.producer);
    if (job === undefined || producerId === undefined) return null;
    return { job, grouping: parseGrouping(headerString(headers, HEADER.grouping) ?? ''), producerId, op: headerString(headers, HEADER.op) ?? 'push' };
  } catch {
    return null;
  }
}
