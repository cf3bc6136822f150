import type { IncomingHttpHeaders } from 'node:http';
import type { PushClientError } from '../errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface TransportRequest {
  method: HttpMethod;
  url: URL;
  /** Header names in any case; the transport adds User-Agent. */
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

export interface SendOptions {
  /** Epoch milliseconds after which no attempt runs and no sleep lasts; Infinity for none. */
  deadline: number;
  /** Aborts the attempt in flight and any backoff sleep. */
  signal?: AbortSignal;
}

interface ResultCommon {
  /** HTTP status, absent when no response came back. */
  statusCode?: number;
  /** Response headers, absent when no response came back. */
  headers?: IncomingHttpHeaders;
  /** Response body read up to the transport's cap, as text. */
  body?: string;
  /** Attempts made, 1 without retries. */
  attempts: number;
}

/** What one send answers: never a throw, so callers branch on `status`. */
export type TransportResult =
  | (ResultCommon & { status: 'success'; statusCode: number })
  | (ResultCommon & { status: 'failure'; error: PushClientError })
  | (ResultCommon & { status: 'retryable'; error: PushClientError; retryInMs?: number });

export interface Transport {
  send(request: TransportRequest, options: SendOptions): Promise<TransportResult>;
  /** Releases sockets. */
  close?(): void;
}
