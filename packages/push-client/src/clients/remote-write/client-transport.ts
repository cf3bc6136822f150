/**
 * The transport a Remote Write client sends through: HTTP (or the caller's transport), measured on the client's
 * metrics when it has a registry, under the retry policy (5xx/429 retried with backoff).
 */
import { HttpTransport } from '../../transport/http-transport.js';
import { RetryingTransport } from '../../transport/retrying-transport.js';
import type { Transport } from '../../transport/types.js';
import type { RemoteWriteMetrics } from './metrics.js';
import type { ResolvedRemoteWriteOptions } from './options.js';

export function clientTransport(options: ResolvedRemoteWriteOptions, metrics: RemoteWriteMetrics | undefined, transport?: Transport): Transport {
  const base =
    transport ??
    new HttpTransport({
      timeoutMs: options.timeoutMs,
      maxResponseBodyBytes: options.maxResponseBodyBytes,
      maxSockets: options.concurrency,
      retryOn429: options.retry.retryOn429,
    });
  // One backoff for the receiver across write() calls: a flush while the store keeps failing does not
  // restart at minBackoffMs; the first success resets it.
  return new RetryingTransport(metrics ? measured(base, metrics) : base, { ...options.retry, keepBackoffAcrossSends: true });
}

/** Wraps a transport to observe request durations and in-flight counts. */
function measured(inner: Transport, metrics: RemoteWriteMetrics): Transport {
  return {
    async send(request, options) {
      const started = performance.now();
      metrics.requestStarted();
      const result = await inner.send(request, options);
      metrics.requestEnded((performance.now() - started) / 1000, result.statusCode);
      return result;
    },
    close: () => inner.close?.(),
  };
}
