// Issue 10, item 8: while the store keeps answering 500, every write() (one relay flush) used to restart the retry
// backoff at minBackoffMs: a burst of fast retries at the start of each flush, forever. The backoff now carries
// over from write to write until a request succeeds; a 2xx resets it. A fake receiver, since a real store does not
// answer 500 on demand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteWriteClient } from '../../src/index.js';
import type { WriteResult } from '../../src/index.js';
import { startTestReceiver } from '../../src/testing/index.js';
import type { TestReceiver } from '../../src/testing/index.js';

const MIN_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 800;
/** each write() gets what a relay flush gives it: a deadline */
const FLUSH_DEADLINE_MS = 1000;

describe('the retry backoff survives from one write() to the next while the store fails', () => {
  let receiver: TestReceiver;
  let status = 500;
  beforeAll(async () => {
    receiver = await startTestReceiver({ respond: () => ({ status, body: status >= 500 ? 'internal error' : '' }) });
  });
  afterAll(() => receiver.close());

  let timestamp = 1000;
  /** One flush: a write with a deadline; answers the result, the requests it made and the gaps between them. */
  async function flush(client: RemoteWriteClient): Promise<{ result: WriteResult; requests: number; gapsMs: number[] }> {
    const first = receiver.requests.length;
    const result = await client.write([{ labels: { __name__: 'rows_total', job: 'j' }, samples: [{ value: 1, timestamp: timestamp++ }] }], {
      deadline: Date.now() + FLUSH_DEADLINE_MS,
    });
    const seen = receiver.requests.slice(first);
    return { result, requests: seen.length, gapsMs: seen.slice(1).map((r, i) => r.receivedAt - seen[i]!.receivedAt) };
  }

  it('does not restart from the fast phase on each write, and a 2xx resets it', async () => {
    const client = new RemoteWriteClient({ url: receiver.url, concurrency: 1, retry: { minBackoffMs: MIN_BACKOFF_MS, maxBackoffMs: MAX_BACKOFF_MS } });
    try {
      status = 500;
      // The first failing write goes through the fast phase: about 20, 40, 80, 160, 320 ms between requests.
      const fast = await flush(client);
      expect(fast.result.status).toBe('retryable');
      expect(fast.result.counts.requests).toBe(fast.requests);
      expect(fast.requests).toBeGreaterThanOrEqual(4);
      expect(fast.gapsMs[0]!).toBeLessThan(200);

      // The following writes start where it stopped: the first retry waits about the cap (800 ms ± jitter),
      // so at most 2 requests fit into each flush, never the fast burst again (6 per write before the fix).
      const later = [];
      for (let i = 0; i < 3; i++) later.push(await flush(client));
      for (const w of later) {
        expect(w.result.status).toBe('retryable');
        expect(w.requests).toBeGreaterThanOrEqual(1);
        expect(w.requests).toBeLessThanOrEqual(2);
        for (const gap of w.gapsMs) expect(gap).toBeGreaterThanOrEqual(MAX_BACKOFF_MS * 0.8 - 10);
      }

      // The store accepts again: one request, success, and the backoff is reset.
      status = 204;
      const ok = await flush(client);
      expect(ok.result.status).toBe('success');
      expect(ok.requests).toBe(1);

      // So the next outage starts with fast retries again.
      status = 500;
      const afterReset = await flush(client);
      expect(afterReset.result.status).toBe('retryable');
      expect(afterReset.requests).toBeGreaterThanOrEqual(4);
      expect(afterReset.gapsMs[0]!).toBeLessThan(200);
    } finally {
      await client.close(1000);
    }
  }, 30_000);
});
