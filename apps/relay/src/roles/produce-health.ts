// The ingest's readiness beside KafkaReachability: Kafka can answer metadata, the ingest topic there, while refusing
// every produce (partitions short of min.insync.replicas, a write ACL, brokers timing out). Each push is then answered
// 503 and counted (prom_relay_ingest_requests_total{code="PROM_RELAY_INGEST_UNAVAILABLE"}); this makes /readyz say so
// too, until a produce succeeds or `holdMs` passed since the last failure (a load balancer sends an unready ingest no
// pushes, so only time can clear it there: the next push then finds out again). Every change is logged once.
import type { Logger } from 'pino';

export interface ProduceHealthOptions {
  logger: Logger;
  /** how long after its last failure a failing produce keeps /readyz 503; default 30 s */
  holdMs?: number;
  now?: () => number;
}

export class ProduceHealth {
  private failing: { since: number; at: number; error: string } | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: ProduceHealthOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A push Kafka did not acknowledge (refused, or not within the ingest's timeout). */
  failed(error: string): void {
    const now = this.now();
    if (this.failing === undefined || !this.holding(now)) {
      this.opts.logger.warn({ error, holdMs: this.holdMs, code: 'PROM_RELAY_INGEST_UNAVAILABLE' }, 'ingest not ready: Kafka does not acknowledge produces; /readyz answers 503');
    }
    this.failing = { since: this.failing?.since ?? now, at: now, error };
  }

  /** A push Kafka acknowledged. */
  succeeded(): void {
    if (this.failing === undefined) return;
    this.opts.logger.info({ failedMs: this.now() - this.failing.since }, 'ingest ready again: Kafka acknowledges produces');
    this.failing = undefined;
  }

  get ok(): boolean {
    return this.failing === undefined || !this.holding(this.now());
  }

  /** the readiness check value */
  check(): string {
    const f = this.failing;
    if (f === undefined || !this.holding(this.now())) return 'ok';
    return `failing for ${Math.round((this.now() - f.since) / 1000)} s: ${f.error}`;
  }

  private get holdMs(): number {
    return this.opts.holdMs ?? 30_000;
  }

  private holding(now: number): boolean {
    return this.failing !== undefined && now - this.failing.at < this.holdMs;
  }
}
