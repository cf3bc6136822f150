/**
 * `RemoteWriteClient.writeStream()`: a write whose series come in parts. Each part is prepared and placed on its
 * shards as `write()` does; a shard's request goes out once it is full, and `add()` waits while `concurrency`
 * requests are under way, so only a few requests' series are held at once.
 */
import type { TimeSeries } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import type { BatchSender } from './batch-sender.js';
import { placeByShard } from './batches.js';
import type { OpenBatch } from './batches.js';
import type { ResolvedRemoteWriteOptions } from './options.js';
import { asTimeSeries } from './prepare.js';
import type { SendQueue } from './send-queue.js';
import type { WriteOptions, WriteResult, WriteStream } from './types.js';
import { WriteProgress, callSignal } from './write-progress.js';

/** What a stream needs of its client. */
export interface StreamClient {
  readonly options: ResolvedRemoteWriteOptions;
  readonly shards: readonly SendQueue[];
  readonly sender: BatchSender;
  readonly closeSignal: AbortSignal;
  isClosed(): boolean;
  /** Adds the write's counts to the client's totals and answers its result. */
  finish(progress: WriteProgress): WriteResult;
}

export function openWriteStream(client: StreamClient, options: WriteOptions): WriteStream {
  const progress = WriteProgress.forWrite(options);
  const call = callSignal(client.closeSignal, options);
  const { maxSamplesPerRequest: max, concurrency } = client.options;
  const open: Array<OpenBatch | undefined> = new Array(concurrency);
  /** per shard: a request of this write was postponed, so its later ones are too (order holds) */
  const postponed: boolean[] = new Array(concurrency).fill(false);
  const tasks: Array<Promise<void>> = [];
  let underWay = 0;
  const waiting: Array<() => void> = [];
  let ended = false;
  const dispatch = (shard: number, batch: TimeSeries[]): void => {
    underWay++;
    const task = client.shards[shard]!.run(async () => {
      if (postponed[shard]) {
        progress.postpone(batch, progress.retryError!);
        return;
      }
      const outcome = await client.sender.send(batch, progress, call.send, { splits: client.options.maxSplitRequests });
      if (outcome === 'postponed') postponed[shard] = true;
    });
    tasks.push(
      task.finally(() => {
        underWay--;
        for (const wake of waiting.splice(0)) wake();
      }),
    );
  };
  // A shard's request goes once the next series does not fit (or at end()): the same cuts as batchByShard.
  const place = (shard: number, s: TimeSeries, n: number): void => {
    let batch = open[shard];
    if (batch !== undefined && batch.samples + n > max) {
      dispatch(shard, batch.series);
      batch = undefined;
    }
    if (batch === undefined) open[shard] = batch = { series: [], samples: 0 };
    batch.series.push(s);
    batch.samples += n;
  };
  return {
    add: async (input) => {
      if (ended) throw new PushClientError('PROM_RELAY_PUSH_CLOSED', 'add() after end()');
      if (client.isClosed()) {
        const error = new PushClientError('PROM_RELAY_PUSH_CLOSED', 'write after close()');
        progress.reject(input.map(asTimeSeries), error);
        return;
      }
      const { series, hashes } = progress.prepare(input);
      placeByShard(series, hashes, concurrency, max, place);
      while (underWay >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    },
    end: async () => {
      ended = true;
      try {
        for (let shard = 0; shard < concurrency; shard++) {
          const batch = open[shard];
          if (batch !== undefined) dispatch(shard, batch.series);
          open[shard] = undefined;
        }
        await Promise.all(tasks);
      } finally {
        call.release();
      }
      return client.finish(progress);
    },
  };
}
