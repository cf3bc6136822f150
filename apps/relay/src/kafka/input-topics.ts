// The topics the relay consumes: created when missing (kafka.create_topics), else waited for — logged, and shown by
// missing() so /readyz can say why the relay is not ready. Joining the group on a missing topic would fail.
import type { Logger } from 'pino';
import type { RelayAdmin, TopicSpec } from './types.js';

export interface InputTopicsOptions {
  admin: RelayAdmin;
  topics: string[];
  /** create missing topics with this spec; without it, wait for someone else to create them */
  create?: TopicSpec;
  logger?: Logger;
  /** how often a missing topic is looked for again; default 2 s */
  pollMs?: number;
  /** how often the wait is logged again; default 60 s */
  logEveryMs?: number;
}

export class InputTopics {
  private missingNow: string[] = [];
  private checked = false;

  constructor(private readonly opts: InputTopicsOptions) {}

  /** Topics not there at the last look (empty before the first look and once all exist). */
  missing(): string[] {
    return this.missingNow;
  }

  /** Resolves once every topic exists (creating them when allowed); `cancelled` ends the wait with a throw. */
  async ensure(cancelled: () => boolean = () => false): Promise<void> {
    const { admin, topics, create, logger } = this.opts;
    if (this.checked && this.missingNow.length === 0) return;
    if (create) {
      for (const topic of topics) await admin.ensureTopic(topic, create);
      this.missingNow = [];
      this.checked = true;
      return;
    }
    let loggedAt = -Infinity;
    const started = Date.now();
    for (;;) {
      this.missingNow = await admin.missingTopics(topics);
      this.checked = true;
      if (this.missingNow.length === 0) {
        if (loggedAt > -Infinity) logger?.info({ topics, waitedMs: Date.now() - started }, 'input topics exist now');
        return;
      }
      if (Date.now() - loggedAt >= (this.opts.logEveryMs ?? 60_000)) {
        loggedAt = Date.now();
        logger?.warn(
          { missing: this.missingNow, waitedMs: loggedAt - started },
          'waiting for input topics to be created (kafka.create_topics is off); /readyz answers 503 meanwhile',
        );
      }
      if (cancelled()) throw new Error(`stopped while waiting for topics ${this.missingNow.join(', ')}`);
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 2000));
    }
  }

  /** A readiness check value: `present`, or which topics are missing. */
  check(): string {
    if (!this.checked) return 'unknown';
    return this.missingNow.length === 0 ? 'present' : `missing: ${this.missingNow.join(', ')}`;
  }
}
