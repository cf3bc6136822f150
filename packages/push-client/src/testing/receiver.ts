import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest, decodeWriteRequestV2, decompress } from '@prom-relay/codec';
import type { Sample, WriteRequest } from '@prom-relay/codec';

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  /** 0-based arrival order. */
  index: number;
  /** Epoch ms when the body had fully arrived. */
  receivedAt: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Body bytes as sent. */
  body: Buffer;
  /** Snappy-decoded body (protobuf), when it was a remote write request. */
  raw?: Uint8Array;
  /** Decoded remote write request (v1 or v2 by content type), when decoding worked. */
  writeRequest?: WriteRequest;
  protocol?: 'v1' | 'v2';
  /** Why decoding failed, when it did (the receiver then answers 400 unless told otherwise). */
  decodeError?: string;
  /** Status answered; set once the reply went out. */
  status?: number;
}

/** How to answer one request; `delayMs` waits before answering. */
export interface ReceiverReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
}

/** Decides the reply; returning undefined means the default (204, or 400 on a body that does not decode). */
export type ReceiverBehaviour = (request: ReceivedRequest) => ReceiverReply | undefined | Promise<ReceiverReply | undefined>;

export interface TestReceiver {
  /** Base URL, e.g. `http://127.0.0.1:40123`; any path is accepted. */
  url: string;
  /** Every request so far, in arrival order. */
  requests: ReceivedRequest[];
  /** Replaces the behaviour for the following requests. */
  respond(behaviour: ReceiverBehaviour): void;
  /** Samples of every accepted (2xx) request per series key (`name{a="b"}`), in the order they were accepted. */
  acceptedSamples(): Map<string, Sample[]>;
  close(): Promise<void>;
}

/**
 * A small remote write / Pushgateway-shaped HTTP receiver for tests that must inject faults a real server
 * will not produce (5xx, 429 with Retry-After, delays, 415, 400 for chosen series). It decodes remote write
 * bodies with the codec and records everything it saw.
 */
export async function startTestReceiver(options: { respond?: ReceiverBehaviour; maxBodyBytes?: number } = {}): Promise<TestReceiver> {
  let behaviour: ReceiverBehaviour = options.respond ?? (() => undefined);
  const requests: ReceivedRequest[] = [];
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
    });
    req.on('end', () => {
      const received: ReceivedRequest = {
        index: requests.length,
        receivedAt: Date.now(),
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(received);
      decodeInto(received);
      void Promise.resolve()
        .then(() => behaviour(received))
        .then(async (reply) => {
          const answer = reply ?? (received.decodeError ? { status: 400, body: received.decodeError } : { status: 204 });
          if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
          received.status = answer.status;
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
        })
        .catch((err: unknown) => {
          received.status = 500;
          res.writeHead(500);
          res.end(String(err));
        });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(next) {
      behaviour = next;
    },
    acceptedSamples() {
      const out = new Map<string, Sample[]>();
      for (const r of requests) {
        if (!r.writeRequest || r.status === undefined || r.status < 200 || r.status >= 300) continue;
        for (const ts of r.writeRequest.timeseries) {
          const key = seriesName(ts.labels);
          let list = out.get(key);
          if (!list) out.set(key, (list = []));
          list.push(...ts.samples);
        }
      }
      return out;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `name{a="b",c="d"}` in label order, the way the receiver keys series. */
export function seriesName(labels: Record<string, string>): string {
  const { __name__: name = '', ...rest } = labels;
  const pairs = Object.keys(rest).map((k) => `${k}=${JSON.stringify(rest[k])}`);
  return `${name}{${pairs.join(',')}}`;
}

function decodeInto(received: ReceivedRequest): void {
  const type = String(received.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-protobuf')) return;
  try {
    received.raw = received.headers['content-encoding'] === 'snappy' ? decompress(received.body) : received.body;
    if (type.includes('io.prometheus.write.v2.Request')) {
      received.protocol = 'v2';
      received.writeRequest = decodeWriteRequestV2(received.raw);
    } else {
      received.protocol = 'v1';
      received.writeRequest = decodeWriteRequest(received.raw);
    }
  } catch (err) {
    received.decodeError = err instanceof Error ? err.message : String(err);
  }
}
