// The package's fault-injecting test receiver for one describe block (5xx, chosen 400s and delays a real server does
// not produce on demand), and Remote Write clients to it that are closed after each test.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { RemoteWriteClient } from '../../../src/index.js';
import type { RemoteWriteOptions } from '../../../src/index.js';
import { startTestReceiver } from '../../../src/testing/index.js';
import type { TestReceiver } from '../../../src/testing/index.js';

export const FAST_RETRY = { minBackoffMs: 1, maxBackoffMs: 10 };

export interface ReceiverFixture {
  /** started before the block's first test */
  receiver: TestReceiver;
  /** a client to the receiver (`path` appended to its URL), fast retries unless `options` say otherwise */
  client(options?: Partial<RemoteWriteOptions>): RemoteWriteClient;
}

export function receiverFixture(opts: { path?: string; closeMs?: number } = {}): ReceiverFixture {
  const clients: RemoteWriteClient[] = [];
  const fx: ReceiverFixture = {
    receiver: undefined as unknown as TestReceiver,
    client(options = {}) {
      const c = new RemoteWriteClient({ url: `${fx.receiver.url}${opts.path ?? ''}`, retry: FAST_RETRY, ...options });
      clients.push(c);
      return c;
    },
  };
  beforeAll(async () => {
    fx.receiver = await startTestReceiver();
  });
  afterEach(async () => {
    fx.receiver.respond(() => undefined);
    fx.receiver.requests.length = 0;
    await Promise.all(clients.splice(0).map((c) => c.close(opts.closeMs ?? 200)));
  });
  afterAll(() => fx.receiver.close());
  return fx;
}
