import { z } from 'zod';
import { httpUrl, parseOptions, protectedHeaderCheck, retrySchema } from '../../options-schema.js';

/** Headers the client sets itself. */
export const PUSHGATEWAY_PROTOCOL_HEADERS = ['Content-Type', 'Content-Length', 'User-Agent'] as const;

/** The slice of a pino (or console-like) logger the client warns through. */
export interface WarningLogger {
  warn(obj: Record<string, unknown>, msg?: string): void;
}

const schema = z
  .object({
    url: httpUrl,
    job: z.string().min(1, 'must be a non-empty job name'),
    /** Deadline of one push, retries included, in ms. */
    timeoutMs: z.number().int().positive().default(10_000),
    retry: retrySchema({ minBackoffMs: 100, maxBackoffMs: 2_000, maxAttempts: 3 }),
    headers: protectedHeaderCheck(PUSHGATEWAY_PROTOCOL_HEADERS).default({}),
    maxResponseBodyBytes: z.number().int().positive().default(64 * 1024),
    /** Where the one-time "no instance grouping label" warning goes; process warnings when absent. */
    logger: z
      .custom<WarningLogger>((v) => typeof v === 'object' && v !== null && typeof (v as WarningLogger).warn === 'function', 'must have a warn() method')
      .optional(),
  })
  .strict();

export type PushgatewayOptions = Omit<z.input<typeof schema>, 'url' | 'job'>;
export type ResolvedPushgatewayOptions = z.output<typeof schema>;

export function resolvePushgatewayOptions(url: string, job: string, options: PushgatewayOptions = {}): ResolvedPushgatewayOptions {
  return parseOptions(schema, { ...options, url, job }, 'PushgatewayClient');
}
