// The relay's HTTP ingest: Pushgateway API and Remote Write receive, answering 2xx only after Kafka acknowledged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_PRODUCER_LABELS, HEADER } from '@prom-relay/emitter';
import type { MetricsMessage, PushOp } from '@prom-relay/emitter';
import type { DecodeOptions } from '../decode/index.js';
import { createCredentialCheck, splitPathToken } from './auth.js';
import type { IngestAuth } from './auth.js';
import { gunzipBody, readBody } from './body.js';
import { IngestError } from './errors.js';
import { IngestWorker } from './offload.js';
import { partialWriteError, snappyPush } from './prepare.js';
import type { PushInput } from './prepare.js';
import { processRunId } from './producer-id.js';
import { checkMessagesFit, type TopicLimit } from './topic-fit.js';
import { cachedPushPath, isPushgatewayPath, pushMessage } from './pushgateway.js';
import { REMOTE_WRITE_PATHS, remoteWriteVersion } from './remote-write.js';
import { activeSmallHeap, keepHeapSmall } from '../heap/small-heap.js';
import type { RemoteWriteVersion } from './remote-write.js';

export type IngestApi = 'pushgateway' | 'remote_write';

/** A message as the ingest hands it to `send` (kafkajs `Message` compatible). */
export type IngestMessage = MetricsMessage;

export interface IngestLogEntry {
  level: 'debug' | 'warn' | 'error';
  msg: string;
  api: IngestApi;
  method: string;
  /** The request path, a token in it (`/token/<token>/…`) masked: `/token/<masked>/…`. */
  path: string;
  status: number;
  code?: string;
  messages?: number;
  error?: string;
}

export interface IngestOptions {
  /** Produces the messages to the topic; resolves only when Kafka acknowledged (acks -1). */
  send: (messages: IngestMessage[]) => Promise<void>;
  /** When set, every request needs one of these credentials. */
  auth?: IngestAuth;
  /** Largest body taken, compressed and decompressed; default 16 MiB. */
  maxBodyBytes?: number;
  /** Grouping labels left out of message keys; default `['instance']`. */
  producerLabels?: string[];
  /** Job for Remote Write series without a `job` label; default `remote_write`. */
  remoteWriteJob?: string;
  /** Concurrent `send` calls; requests arriving meanwhile are coalesced into the next call. Default 1: pushes keep their arrival order whatever the producer's retries do. */
  maxConcurrentSends?: number;
  /** A request whose messages Kafka has not acknowledged by then answers 503 (the producer may still deliver them). Default 10 s. */
  sendTimeoutMs?: number;
  /** Structured log sink; never receives credentials or bodies. */
  log?: (entry: IngestLogEntry) => void;
  /** Exemplars of a Remote Write request left out of what was produced (over the limits), once Kafka acknowledged the rest. */
  onExemplarsDropped?: (count: number, version: RemoteWriteVersion) => void;
  /**
   * The ingest topic's partition count, read when needed: a whole-job DELETE (`/metrics/job/<job>`, no grouping
   * labels) is produced to every partition, as the job's groups live on all of them. Absent: one message, keyed.
   */
  partitions?: () => Promise<number>;
  /**
   * The consumer's decode options (label limits): every message is checked with them by the consumer's own
   * decodeRecord before it is produced, so a 2xx means the consumer will apply it. Pass what the pipeline passes.
   */
  decode?: DecodeOptions;
  /**
   * The ingest topic and its max.message.bytes, read before each produce: a request whose Kafka message is larger is
   * answered 413 (PROM_RELAY_INGEST_TOO_LARGE, naming both sizes) and not produced (topic-fit.ts). Absent: not checked.
   */
  topicLimit?: () => Promise<TopicLimit>;
  /**
   * Pushgateway bodies larger than this are decoded and checked in the ingest's worker thread, as is every Remote
   * Write request; smaller pushes on the event loop (a thread hop costs more than they do). Default 64 KiB.
   */
  inlineBodyBytes?: number;
  /**
   * Keep the process's V8 heap small (heap/small-heap.ts): the young generation capped at 2 x 4 MiB, the old generation
   * grown 20% past its live size between major GCs while the worker thread has no work. Process-wide: for a process
   * that is the ingest alone (`prom-relay ingest` sets it); default off. `close` undoes it.
   */
  smallHeap?: boolean;
}

export interface Ingest {
  /** Answers the request when the route is the ingest's (true); false leaves it to the caller. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Stops the worker thread (it never keeps the process alive; this is for tests and orderly shutdown). */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_INLINE_BODY_BYTES = 64 * 1024;

interface PendingSend {
  messages: IngestMessage[];
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Coalesces concurrent requests' messages into few `send` calls (group commit); each caller waits for its own batch's
 * ack, or fails after `timeoutMs` (kafkajs retries a dead broker for tens of seconds: the client is answered before its
 * own timeout does; the messages may still be delivered). One promise and one timer per request.
 */
function coalescedSend(send: IngestOptions['send'], maxConcurrent: number, timeoutMs: number): (messages: IngestMessage[]) => Promise<void> {
  let pending: PendingSend[] = [];
  let inFlight = 0;
  const settle = (batch: PendingSend[], err?: unknown) => {
    for (const p of batch) {
      clearTimeout(p.timer);
      if (err === undefined) p.resolve();
      else p.reject(err);
    }
  };
  const drain = () => {
    while (inFlight < maxConcurrent && pending.length > 0) {
      const batch = pending;
      pending = [];
      inFlight++;
      const messages = batch.length === 1 ? batch[0]!.messages : batch.flatMap((p) => p.messages);
      send(messages).then(
        () => settle(batch),
        (err: unknown) => settle(batch, err ?? new Error('send failed')),
      ).finally(() => {
        inFlight--;
        drain();
      });
    }
  };
  return (messages) =>
    new Promise<void>((resolve, reject) => {
      const p: PendingSend = { messages, resolve, reject, timer: undefined };
      p.timer = setTimeout(() => reject(new Error(`no acknowledgement within ${timeoutMs} ms`)), timeoutMs);
      pending.push(p);
      drain();
    });
}

function validateOptions(o: IngestOptions): void {
  const fail = (field: string, problem: string): never => {
    throw new IngestError('PROM_RELAY_INGEST_OPTIONS', `createIngest: ${field} ${problem}`);
  };
  if (typeof o?.send !== 'function') fail('send', 'must be a function');
  if (o.maxBodyBytes !== undefined && !(Number.isInteger(o.maxBodyBytes) && o.maxBodyBytes > 0)) fail('maxBodyBytes', 'must be a positive integer');
  if (o.sendTimeoutMs !== undefined && !(Number.isInteger(o.sendTimeoutMs) && o.sendTimeoutMs > 0)) fail('sendTimeoutMs', 'must be a positive integer');
  if (o.maxConcurrentSends !== undefined && !(Number.isInteger(o.maxConcurrentSends) && o.maxConcurrentSends > 0)) fail('maxConcurrentSends', 'must be a positive integer');
  if (o.inlineBodyBytes !== undefined && !(Number.isInteger(o.inlineBodyBytes) && o.inlineBodyBytes >= 0)) fail('inlineBodyBytes', 'must be a non-negative integer');
  for (const [i, c] of (o.auth?.basic ?? []).entries()) {
    if (typeof c?.username !== 'string' || typeof c.password !== 'string' || c.username.includes(':')) fail(`auth.basic[${i}]`, 'must have a string username (without ":") and password');
  }
  for (const [i, t] of (o.auth?.bearer ?? []).entries()) {
    if (typeof t !== 'string' || t.length === 0) fail(`auth.bearer[${i}]`, 'must be a non-empty string');
  }
  if (o.remoteWriteJob !== undefined && (typeof o.remoteWriteJob !== 'string' || o.remoteWriteJob === '')) fail('remoteWriteJob', 'must be a non-empty string');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function createIngest(options: IngestOptions): Ingest {
  validateOptions(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const producerLabels = options.producerLabels ?? DEFAULT_PRODUCER_LABELS;
  const remoteWriteJob = options.remoteWriteJob ?? 'remote_write';
  const credentials = createCredentialCheck(options.auth);
  const send = coalescedSend(options.send, options.maxConcurrentSends ?? 1, options.sendTimeoutMs ?? 10_000);
  const log = options.log;
  const decode: DecodeOptions = options.decode ?? {};
  const inlineBodyBytes = options.inlineBodyBytes ?? DEFAULT_INLINE_BODY_BYTES;
  const smallHeap = options.smallHeap ? keepHeapSmall() : undefined;
  // The process's heap policy, whichever role set it (in `run` the aggregator's): V8's growth while the thread works.
  const worker = new IngestWorker((busy) => activeSmallHeap()?.workerBusy(busy));

  async function produce(messages: IngestMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (options.topicLimit) {
      const limit = await options.topicLimit().catch((err: unknown) => {
        throw new IngestError('PROM_RELAY_INGEST_UNAVAILABLE', `cannot read the ingest topic's max.message.bytes: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      });
      checkMessagesFit(messages, limit);
    }
    try {
      await send(messages);
    } catch (err) {
      throw new IngestError('PROM_RELAY_INGEST_UNAVAILABLE', `Kafka did not acknowledge the metrics: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }

  function runIdHeader(req: IncomingMessage): string | undefined {
    const runId = header(req, HEADER.producer)?.trim();
    if (runId === undefined || runId === '') return undefined;
    if (runId.length > 128 || /[^\x21-\x7e]/.test(runId)) {
      throw new IngestError('PROM_RELAY_INGEST_HEADER', `header ${HEADER.producer} must be 1 to 128 printable ASCII characters without spaces`);
    }
    return runId;
  }

  async function pushgateway(req: IncomingMessage, res: ServerResponse, pathname: string, logPath: string): Promise<void> {
    const method = req.method ?? 'GET';
    const op: PushOp | undefined = method === 'PUT' ? 'push' : method === 'POST' ? 'add' : method === 'DELETE' ? 'delete' : undefined;
    if (op === undefined) {
      res.setHeader('allow', 'PUT, POST, DELETE');
      throw new IngestError('PROM_RELAY_INGEST_METHOD', `method ${method} is not taken here: use PUT, POST or DELETE`);
    }
    const group = cachedPushPath(pathname);
    let body: Buffer = Buffer.alloc(0);
    if (op !== 'delete') {
      body = await readBody(req, maxBodyBytes);
      const encoding = header(req, 'content-encoding')?.toLowerCase();
      if (encoding === 'gzip') body = await gunzipBody(body, maxBodyBytes);
      else if (encoding !== undefined && encoding !== 'identity') {
        throw new IngestError('PROM_RELAY_INGEST_MEDIA_TYPE', `Content-Encoding ${encoding} is not taken: use gzip or none`);
      }
    } else {
      req.resume();
    }
    const contentType = header(req, 'content-type');
    // Without a run header, a push's process_start_time_seconds (or its counters' creation times) tells its process run
    // apart (producer-id.ts): read in the worker thread for a big body, as its check is.
    const big = body.length > inlineBodyBytes;
    const named = runIdHeader(req);
    const runId = named ?? (big ? undefined : processRunId(body, contentType));
    const input: PushInput = { group, op, body, contentType, producerLabels, runId, decode, ...(big && named === undefined ? { findRun: true } : {}) };
    // The consumer's own checks; a big body in the worker thread, so the event loop keeps answering.
    let message: IngestMessage;
    if (big) {
      const pushed = await worker.push(input);
      message = pushMessage(group, op, pushed.snappy, producerLabels, pushed.runId ?? input.runId, true, pushed.contentType);
    } else {
      message = snappyPush(input);
    }
    let messages: IngestMessage[] = [message];
    if (op === 'delete' && Object.keys(group.grouping).length === 0 && options.partitions) {
      // The whole job ends: its groups are spread over every partition, so is the delete.
      const n = await options.partitions().catch((err: unknown) => {
        throw new IngestError('PROM_RELAY_INGEST_UNAVAILABLE', `cannot read the partitions of the ingest topic: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      });
      messages = Array.from({ length: Math.max(1, n) }, (_, partition) => ({ ...message, partition }));
    }
    await produce(messages);
    // Pushgateway's codes: 200 for PUT/POST, 202 for DELETE.
    res.statusCode = op === 'delete' ? 202 : 200;
    res.end();
    log?.({ level: 'debug', msg: 'pushgateway request produced', api: 'pushgateway', method, path: logPath, status: res.statusCode, messages: messages.length });
  }

  async function remoteWrite(req: IncomingMessage, res: ServerResponse, logPath: string): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new IngestError('PROM_RELAY_INGEST_METHOD', `method ${req.method} is not taken here: use POST`);
    }
    const version = remoteWriteVersion(header(req, 'content-type'));
    const body = await readBody(req, maxBodyBytes);
    const prepared = await worker.remoteWrite({
      body,
      contentEncoding: header(req, 'content-encoding'),
      version,
      maxBodyBytes,
      defaultJob: remoteWriteJob,
      producerLabels,
      decode,
    });
    await produce(prepared.messages);
    if (prepared.dropped.exemplars > 0) options.onExemplarsDropped?.(prepared.dropped.exemplars, version);
    const { written } = prepared;
    if (version === 2) {
      // Only what Kafka acknowledged: a partial write counts the series written, not the ones refused.
      res.setHeader('x-prometheus-remote-write-samples-written', String(written.samples));
      res.setHeader('x-prometheus-remote-write-histograms-written', String(written.histograms));
      // The exemplars within the limits, in the messages Kafka acknowledged; those over the limits are dropped (prepare.ts).
      res.setHeader('x-prometheus-remote-write-exemplars-written', String(written.exemplars));
    }
    // Partial write, as Prometheus does: the good series are in Kafka; the 400 names the refused ones.
    if (prepared.refused.length > 0) throw partialWriteError(prepared);
    res.statusCode = 204;
    res.end();
    log?.({ level: 'debug', msg: 'remote write produced', api: 'remote_write', method: 'POST', path: logPath, status: 204, messages: prepared.messages.length });
  }

  function answerError(req: IncomingMessage, res: ServerResponse, api: IngestApi, logPath: string, err: unknown): void {
    const ingestError = err instanceof IngestError ? err : new IngestError('PROM_RELAY_INGEST_INTERNAL', `request failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    const status = ingestError.status;
    if (status === 401) res.setHeader('www-authenticate', credentials.challenges);
    if (status === 413 || !req.complete) {
      // The rest of an oversized body is read and thrown away (bounded), so the client gets the answer.
      res.setHeader('connection', 'close');
      let discarded = 0;
      req.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > 8 * maxBodyBytes) req.destroy();
      });
      req.resume();
    }
    res.statusCode = status;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`${ingestError.code}: ${ingestError.message}\n`);
    log?.({
      level: status >= 500 ? 'error' : 'warn',
      msg: 'ingest request rejected',
      api,
      method: req.method ?? '',
      path: logPath,
      status,
      code: ingestError.code,
      error: ingestError.message,
    });
  }

  return {
    close: () => {
      smallHeap?.stop();
      return worker.close();
    },
    async handle(req, res) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      // `/token/<token>/<route>`: a bearer token for clients that can set only a URL; never logged nor answered.
      const credential = splitPathToken(q < 0 ? url : url.slice(0, q));
      const pathname = credential.path;
      const isPush = isPushgatewayPath(pathname);
      const isRemoteWrite = !isPush && REMOTE_WRITE_PATHS.includes(pathname);
      // A token path is the ingest's whatever follows: nobody else gets to answer (or log) it.
      if (!isPush && !isRemoteWrite && !credential.hasToken) return false;
      const api: IngestApi = isRemoteWrite ? 'remote_write' : 'pushgateway';
      try {
        if (!credentials.accepts(req, credential)) {
          const offered = credential.hasToken || req.headers.authorization !== undefined;
          throw new IngestError('PROM_RELAY_INGEST_UNAUTHORIZED', offered ? 'credentials are not accepted' : 'credentials are required');
        }
        if (isPush) await pushgateway(req, res, pathname, credential.logPath);
        else if (isRemoteWrite) await remoteWrite(req, res, credential.logPath);
        else throw new IngestError('PROM_RELAY_INGEST_ROUTE', `no ingest route for ${req.method ?? ''} ${credential.logPath}: after /token/<token> comes /metrics/job/<job>… or ${REMOTE_WRITE_PATHS.join(' or ')}`);
      } catch (err) {
        if (!res.headersSent) answerError(req, res, api, credential.logPath, err);
        else res.destroy();
      }
      return true;
    },
  };
}
