// A log line per event, but at most `limit` lines per `intervalMs` per key: a flood of bad records cannot
// flood the log. The next line logged for a key after some were held back carries `suppressed: <count>`.
import type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface RateLimitedLogOptions {
  /** lines per key per interval; default 5 */
  limit?: number;
  /** default 10 s */
  intervalMs?: number;
  /** keys remembered at most (oldest windows forgotten first); default 1000 */
  maxKeys?: number;
  now?: () => number;
}

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();
  private readonly limit: number;
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(
    private readonly logger: Logger,
    opts: RateLimitedLogOptions = {},
  ) {
    this.limit = opts.limit ?? 5;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.maxKeys = opts.maxKeys ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Logs `msg` with `fields` unless `key` already had `limit` lines in this interval; answers whether it logged. */
  log(level: LogLevel, key: string, fields: Record<string, unknown>, msg: string): boolean {
    const now = this.now();
    let w = this.windows.get(key);
    if (w && now - w.start >= this.intervalMs) {
      w.start = now;
      w.logged = 0;
    }
    if (!w) {
      if (this.windows.size >= this.maxKeys) this.forgetOldest();
      w = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.logged >= this.limit) {
      w.suppressed++;
      return false;
    }
    w.logged++;
    const suppressed = w.suppressed;
    w.suppressed = 0;
    this.logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, msg);
    return true;
  }

  error(key: string, fields: Record<string, unknown>, msg: string): boolean {
    return this.log('error', key, fields, msg);
  }

  warn(key: string, fields: Record<string, unknown>, msg: string): boolean {
    return this.log('warn', key, fields, msg);
  }

  info(key: string, fields: Record<string, unknown>, msg: string): boolean {
    return this.log('info', key, fields, msg);
  }

  /** Lines held back per key since each key's last logged line (tests, shutdown summaries). */
  pending(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, w] of this.windows) if (w.suppressed > 0) out.set(key, w.suppressed);
    return out;
  }

  private forgetOldest(): void {
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [key, w] of this.windows) {
      if (w.start < oldest) {
        oldest = w.start;
        oldestKey = key;
      }
    }
    if (oldestKey !== undefined) this.windows.delete(oldestKey);
  }
}
