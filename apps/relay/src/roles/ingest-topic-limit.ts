// The ingest topic's max.message.bytes, which each produce request of the ingest must fit. Requests arriving during a
// produce are produced together (the ingest's group commit), and pushes that each fit the topic may not fit one record
// batch together. A push larger than it alone is answered 413 before its produce (ingest/topic-fit.ts); a size refusal
// reads it again. Unreadable (no DescribeConfigs right): the size the relay would create the topic with, asked again a
// minute later, not per push.
import type { RelayAdmin } from '../kafka/index.js';

export class IngestTopicLimit {
  private limit: number | undefined;
  private unreadableUntil = 0;

  constructor(
    private readonly admin: Pick<RelayAdmin, 'maxMessageBytes'>,
    readonly topic: string,
    /** the size the relay creates the topic with */
    private readonly fallback: number,
  ) {}

  /** The topic's limit, read once it answers. */
  async bytes(): Promise<number> {
    if (this.limit === undefined && Date.now() >= this.unreadableUntil) {
      this.limit = await this.admin.maxMessageBytes(this.topic);
      if (this.limit === undefined) this.unreadableUntil = Date.now() + 60_000;
    }
    return this.limit ?? this.fallback;
  }

  /** Kafka refused a produce as too large: the limit is read again before the next one. */
  forget(): void {
    this.limit = undefined;
  }
}
