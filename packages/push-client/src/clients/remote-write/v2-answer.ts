/**
 * What an answer to a Remote Write 2.0 request says, read from its status and written-count headers, and the
 * error a write reports when a receiver wrote nothing of it.
 */
import type { TimeSeries } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import type { TransportResult } from '../../transport/types.js';

const WRITTEN_HEADERS = [
  'x-prometheus-remote-write-samples-written',
  'x-prometheus-remote-write-histograms-written',
  'x-prometheus-remote-write-exemplars-written',
] as const;

export type V2Answer = 'unsupported_media_type' | 'not_written' | 'nothing_written' | 'written' | 'other';

/**
 * What an answer to a v2 request says about the receiver (Remote Write 2.0, "Required Written Response Headers"):
 * - `unsupported_media_type`: 415, it does not take 2.0;
 * - `not_written`: 2xx without any written-count header: a 1.0 receiver that read the body as an empty request
 *   (Prometheus 2.42, VictoriaMetrics v1.151 answer 204 so), nothing written;
 * - `nothing_written`: 2xx whose headers count nothing while something was sent: a 2.0 receiver that wrote
 *   nothing (Prometheus's own sender calls this a failure);
 * - `written`: 2xx, a 2.0 receiver wrote; `other`: any other answer (5xx, 400...), nothing learnt.
 */
export function v2Answer(result: TransportResult, itemsSent: number): V2Answer {
  if (result.status === 'failure') return result.statusCode === 415 ? 'unsupported_media_type' : 'other';
  if (result.status !== 'success') return 'other';
  const headers = result.headers ?? {};
  let present = false;
  let written = 0;
  for (const name of WRITTEN_HEADERS) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    // The spec: an empty value means 0.
    if (value === undefined) continue;
    present = true;
    const n = Number(value.trim() || '0');
    if (Number.isFinite(n)) written += n;
  }
  if (!present) return 'not_written';
  return written === 0 && itemsSent > 0 ? 'nothing_written' : 'written';
}

export function notWrittenError(result: TransportResult, samples: number): PushClientError {
  const answered = `HTTP ${result.statusCode}`;
  const headers = result.headers ?? {};
  const present = WRITTEN_HEADERS.filter((h) => headers[h] !== undefined);
  const message =
    present.length === 0
      ? `the receiver answered ${answered} to a Remote Write 2.0 request without X-Prometheus-Remote-Write-Samples-Written: ` +
        `it does not speak 2.0 (a 1.0 receiver reads the body as an empty request), so nothing was written (${samples} samples); use protocol v1 or auto`
      : `the receiver answered ${answered} to a Remote Write 2.0 request but its ${present.join(', ')} say nothing was written (${samples} samples sent)`;
  return new PushClientError('PROM_RELAY_PUSH_NOT_WRITTEN', message, {
    ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
    ...(result.body ? { responseBody: result.body } : {}),
  });
}

/** Samples, histogram samples and exemplars of a batch (sent) or of a receiver's written-count headers (written). */
export interface ItemCounts {
  samples: number;
  histograms: number;
  exemplars: number;
}

function headerCount(result: TransportResult, name: (typeof WRITTEN_HEADERS)[number]): number {
  const raw = result.headers?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  const n = Number(value?.trim() || '0');
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * What a batch sent, and what a 2xx answer to it (v2) did not write: the sent counts less its written-count headers
 * (an absent header counts 0, as for Prometheus's sender). Remote Write 2.0: those headers carry the precise number of
 * elements written, for senders to account partial writes. `missing` is all zero for a full write.
 */
export function notWritten(batch: readonly TimeSeries[], result: TransportResult): { sent: ItemCounts; missing: ItemCounts } {
  const sent: ItemCounts = { samples: 0, histograms: 0, exemplars: 0 };
  for (const s of batch) {
    sent.samples += s.samples.length;
    sent.histograms += s.histograms?.length ?? 0;
    sent.exemplars += s.exemplars?.length ?? 0;
  }
  const missing: ItemCounts = {
    samples: Math.max(0, sent.samples - headerCount(result, WRITTEN_HEADERS[0])),
    histograms: Math.max(0, sent.histograms - headerCount(result, WRITTEN_HEADERS[1])),
    exemplars: Math.max(0, sent.exemplars - headerCount(result, WRITTEN_HEADERS[2])),
  };
  return { sent, missing };
}

/** The error a partial write reports: the receiver's answer, what it did not write, and its message when it gave one. */
export function partialWriteError(result: TransportResult, missing: ItemCounts, sent: ItemCounts): PushClientError {
  const parts = [
    missing.samples > 0 ? `${missing.samples} of ${sent.samples} samples` : '',
    missing.histograms > 0 ? `${missing.histograms} of ${sent.histograms} histogram samples` : '',
    missing.exemplars > 0 ? `${missing.exemplars} of ${sent.exemplars} exemplars` : '',
  ].filter((p) => p !== '');
  const said = result.body ? `: ${result.body.trim().slice(0, 200)}` : '';
  return new PushClientError(
    'PROM_RELAY_PUSH_PARTIAL_WRITE',
    `the receiver answered HTTP ${result.statusCode} to a Remote Write 2.0 request but its X-Prometheus-Remote-Write-*-Written headers say ${parts.join(', ')} were not written${said}`,
    {
      ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
      ...(result.body ? { responseBody: result.body } : {}),
    },
  );
}
