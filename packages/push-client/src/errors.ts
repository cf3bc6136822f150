import { PromRelayError } from '@prom-relay/codec';

export const PUSH_ERROR_CODES = [
  /** An option given to a client constructor (or a fluent setter) is invalid; `field` names it. */
  'PROM_RELAY_PUSH_INVALID_OPTIONS',
  /** A series breaks the remote write rules (labels, timestamps) and was never sent. */
  'PROM_RELAY_PUSH_INVALID_SERIES',
  /** The receiver answered a status that must not be retried (4xx other than 429, or 429 with retries off). */
  'PROM_RELAY_PUSH_HTTP_STATUS',
  /** The receiver answered a retryable status (5xx, 429) and attempts or the deadline ran out. */
  'PROM_RELAY_PUSH_RETRYABLE_STATUS',
  /** The request failed below HTTP: connection refused or reset, DNS, TLS. */
  'PROM_RELAY_PUSH_NETWORK',
  /** The receiver did not answer within the per-attempt timeout. */
  'PROM_RELAY_PUSH_TIMEOUT',
  /** The caller's deadline passed (before or during an attempt, or leaves no room for another). */
  'PROM_RELAY_PUSH_DEADLINE_EXCEEDED',
  /** The caller aborted the operation (or the client was closed). */
  'PROM_RELAY_PUSH_ABORTED',
  /** The client was closed; nothing more is accepted. */
  'PROM_RELAY_PUSH_CLOSED',
  /** Building the request body failed (encoding, gathering a collector). */
  'PROM_RELAY_PUSH_ENCODE',
  /**
   * A Remote Write 2.0 request was answered 2xx, but the X-Prometheus-Remote-Write-*-Written headers are missing
   * (a 1.0-only receiver read the body as an empty request) or say nothing was written: the spec says to assume
   * nothing was written.
   */
  'PROM_RELAY_PUSH_NOT_WRITTEN',
  /**
   * A Remote Write 2.0 request was answered 2xx, but its X-Prometheus-Remote-Write-*-Written headers count fewer
   * samples or histogram samples than were sent (a partial write: Prometheus 3 leaves out samples out of order or too
   * old): the difference was not written, and is counted in `samplesFailed` (the receiver does not say which series).
   */
  'PROM_RELAY_PUSH_PARTIAL_WRITE',
] as const;

export type PushErrorCode = (typeof PUSH_ERROR_CODES)[number];

export interface PushErrorDetails {
  cause?: unknown;
  /** The option that was rejected, as a dotted path (`retry.maxBackoffMs`). */
  field?: string;
  /** HTTP status the receiver answered, when there was one. */
  statusCode?: number;
  /** The start of the receiver's response body (its error message), when there was one. */
  responseBody?: string;
}

/** Every failure of the push clients; callers branch on `code`. */
export class PushClientError extends PromRelayError<PushErrorCode> {
  declare readonly field?: string;
  declare readonly statusCode?: number;
  declare readonly responseBody?: string;

  constructor(code: PushErrorCode, message: string, details: PushErrorDetails = {}) {
    super(code, message, 'cause' in details ? { cause: details.cause } : undefined);
    for (const key of ['field', 'statusCode', 'responseBody'] as const) {
      if (details[key] !== undefined) {
        Object.defineProperty(this, key, { value: details[key], enumerable: true, writable: false, configurable: true });
      }
    }
  }
}
