// The ingest's readiness: its producer connected at start, and Kafka still answering with the ingest topic in it.
// A metadata request every few seconds tells both; a load balancer then stops sending pushes to an ingest that
// could only answer 503, and sends them again once Kafka answers. Every change is logged once.
import type { Logger } from 'pino';
import type { RelayAdmin } from '../kafka/index.js';

export interface KafkaReachabilityOptions {
  admin: Pick<RelayAdmin, 'missingTopics'>;
  topic: string;
  logger: Logger;
  /** how often Kafka is asked; default 5 s */
  everyMs?: number;
  /** a look not answered by then counts as unreachable; default 5 s */
  timeoutMs?: number;
}

type State = { kind: 'unknown' } | { kind: 'ok' } | { kind: 'missing' } | { kind: 'unreachable'; since: number; error: string };

export class KafkaReachability {
  private state: State = { kind: 'unknown' };
  private timer: NodeJS.Timeout | undefined;
  private looking = false;

  constructor(private readonly opts: KafkaReachabilityOptions) {}

  start(): void {
    void this.look();
    this.timer = setInterval(() => void this.look(), this.opts.everyMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get ok(): boolean {
    return this.state.kind === 'ok';
  }

  /** readiness check values */
  checks(): { kafka: string; ingest_topic: string } {
    const s = this.state;
    switch (s.kind) {
      case 'unknown':
        return { kafka: 'unknown', ingest_topic: 'unknown' };
      case 'ok':
        return { kafka: 'connected', ingest_topic: 'present' };
      case 'missing':
        return { kafka: 'connected', ingest_topic: `missing: ${this.opts.topic}` };
      case 'unreachable':
        return { kafka: `unreachable for ${Math.round((Date.now() - s.since) / 1000)} s: ${s.error}`, ingest_topic: 'unknown' };
    }
  }

  /** one look now (also what the timer runs) */
  async look(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeoutMs = this.opts.timeoutMs ?? 5000;
      const missing = await Promise.race([
        this.opts.admin.missingTopics([this.opts.topic]),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no metadata answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
      this.set(missing.length === 0 ? { kind: 'ok' } : { kind: 'missing' });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.set(this.state.kind === 'unreachable' ? { ...this.state, error } : { kind: 'unreachable', since: Date.now(), error });
    } finally {
      clearTimeout(timer);
      this.looking = false;
    }
  }

  private set(next: State): void {
    const prev = this.state;
    this.state = next;
    if (prev.kind === next.kind) return;
    const { logger, topic } = this.opts;
    if (next.kind === 'ok' && prev.kind !== 'unknown') logger.info({ topic, was: prev.kind }, 'ingest ready again: Kafka answers and the ingest topic exists');
    else if (next.kind === 'missing') logger.warn({ topic }, 'ingest not ready: the ingest topic does not exist; /readyz answers 503');
    else if (next.kind === 'unreachable') logger.warn({ topic, error: next.error }, 'ingest not ready: Kafka does not answer; /readyz answers 503');
  }
}
