/**
 * The queue behind `RemoteWriteClient.enqueue()`: holds series up to `queue.maxSamples` (past it, the drop policy
 * evicts the oldest or refuses the newest, each drop counted), drains them in the background one write at a
 * time, reports writes that did not fully succeed through `onResult`, and tells `flush()` when it is empty.
 */
import type { RemoteWriteMetrics } from './metrics.js';
import type { ResolvedRemoteWriteOptions } from './options.js';
import type { DrainResult, WriteResult, WriteSeries } from './types.js';

export interface BackgroundQueueOptions {
  queue: ResolvedRemoteWriteOptions['queue'];
  /** Samples taken from the queue per write. */
  maxSamplesPerWrite: number;
  metrics: RemoteWriteMetrics | undefined;
  /** Delivers one batch as `write()` does. */
  deliver(batch: WriteSeries[]): Promise<WriteResult>;
  /** True once the client is closed: nothing more is queued. */
  isClosed(): boolean;
  /** Aborted when close() gives up on what is in flight: the drain stops. */
  closeSignal: AbortSignal;
}

export class BackgroundQueue {
  private readonly entries: Array<{ series: WriteSeries; samples: number }> = [];
  private head = 0;
  private queuedSamples = 0;
  private inFlightSamples = 0;
  private dropped = 0;
  private drain?: Promise<void>;
  private readonly drainWaiters = new Set<() => void>();

  constructor(private readonly options: BackgroundQueueOptions) {}

  /** Samples waiting in the queue. */
  get samplesQueued(): number {
    return this.queuedSamples;
  }

  /** Samples refused or evicted by the drop policy (or offered after close). */
  get samplesDropped(): number {
    return this.dropped;
  }

  /** The background drain while it runs. */
  get draining(): Promise<void> | undefined {
    return this.drain;
  }

  /**
   * Queues series for background delivery and returns at once: true when queued, false when the
   * drop policy refused them (queue full with `drop-newest`, larger than the queue, or closed).
   */
  enqueue(series: WriteSeries | readonly WriteSeries[]): boolean {
    const list = (Array.isArray(series) ? series : [series]) as readonly WriteSeries[];
    let accepted = true;
    const limit = this.options.queue.maxSamples;
    for (const entry of list) {
      const samples = (entry?.samples?.length ?? 0) + (entry?.histograms?.length ?? 0);
      if (this.options.isClosed() || samples > limit) {
        this.countDrop(samples);
        accepted = false;
        continue;
      }
      if (this.queuedSamples + samples > limit) {
        if (this.options.queue.dropPolicy === 'drop-newest') {
          this.countDrop(samples);
          accepted = false;
          continue;
        }
        while (this.queuedSamples + samples > limit) {
          const oldest = this.entries[this.head]!;
          this.entries[this.head++] = undefined as never;
          this.queuedSamples -= oldest.samples;
          this.countDrop(oldest.samples);
        }
        this.compact();
      }
      this.entries.push({ series: entry, samples });
      this.queuedSamples += samples;
    }
    this.options.metrics?.setQueued(this.queuedSamples);
    this.pump();
    return accepted;
  }

  /** Waits until the queue is empty and nothing is in flight, or until `timeoutMs` passed. */
  async flush(timeoutMs: number): Promise<DrainResult> {
    if (this.isIdle()) return { drained: true, samplesRemaining: 0 };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiters.add(done);
    });
    return { drained: this.isIdle(), samplesRemaining: this.queuedSamples + this.inFlightSamples };
  }

  private isIdle(): boolean {
    return this.queuedSamples === 0 && this.inFlightSamples === 0 && !this.drain;
  }

  private countDrop(samples: number): void {
    this.dropped += samples;
    this.options.metrics?.add(this.options.metrics.samplesDropped, samples);
  }

  /** Runs the background drain unless it is running. */
  private pump(): void {
    if (this.drain || this.queuedSamples === 0) return;
    const maxPerWrite = this.options.maxSamplesPerWrite;
    const signal = this.options.closeSignal;
    this.drain = (async () => {
      while (this.queuedSamples > 0 && !signal.aborted) {
        const batch: WriteSeries[] = [];
        let samples = 0;
        while (this.head < this.entries.length && (batch.length === 0 || samples + this.entries[this.head]!.samples <= maxPerWrite)) {
          const entry = this.entries[this.head]!;
          this.entries[this.head++] = undefined as never;
          batch.push(entry.series);
          samples += entry.samples;
        }
        this.compact();
        this.queuedSamples -= samples;
        this.inFlightSamples = samples;
        this.options.metrics?.setQueued(this.queuedSamples);
        const result = await this.options.deliver(batch);
        this.inFlightSamples = 0;
        if (result.status !== 'success') this.report(result);
      }
    })().finally(() => {
      this.drain = undefined;
      if (this.queuedSamples > 0 && !signal.aborted) {
        this.pump();
        return;
      }
      for (const wake of this.drainWaiters) wake();
      this.drainWaiters.clear();
    });
  }

  private report(result: WriteResult): void {
    try {
      this.options.queue.onResult?.(result);
    } catch {
      // A throwing callback must not stop the drain.
    }
  }

  /** Drops the consumed head of the entries array once it is large, so memory follows the live entries. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    } else if (this.head === this.entries.length) {
      this.entries.length = 0;
      this.head = 0;
    }
  }
}
