import { z } from 'zod';
import type { ProtocolFallback, WriteResult } from './types.js';
import { basicAuthSchema, httpUrl, parseOptions, protectedHeaderCheck, retrySchema } from '../../options-schema.js';

/** Headers the remote write protocol sets; `headers` may not name them. */
export const REMOTE_WRITE_PROTOCOL_HEADERS = [
  'Content-Encoding',
  'Content-Type',
  'Content-Length',
  'User-Agent',
  'X-Prometheus-Remote-Write-Version',
] as const;

const registryLike = z.custom<RegistryLike>(
  (v) => typeof v === 'object' && v !== null && typeof (v as RegistryLike).registerMetric === 'function' && typeof (v as RegistryLike).getSingleMetric === 'function',
  'must be a prom-client Registry',
);

/** The part of a prom-client Registry the client uses. */
export interface RegistryLike {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

const schema = z
  .object({
    /** Receiver endpoint, any path (`/api/v1/write`, `/api/v1/prom/write`). */
    url: httpUrl,
    basicAuth: basicAuthSchema.optional(),
    bearerToken: z.string().min(1).optional(),
    /** Extra request headers (tenant ids...); protocol headers cannot be overridden. */
    headers: protectedHeaderCheck(REMOTE_WRITE_PROTOCOL_HEADERS).default({}),
    /** Deadline of one HTTP attempt in ms. */
    timeoutMs: z.number().int().positive().default(30_000),
    /**
     * `auto`: v2 first, v1 after a 415 or a 2xx without the v2 written-count headers (the batch is re-sent as v1),
     * remembered; one request at a time until the receiver has shown which it speaks. `v2`: such a 2xx is a failure.
     */
    protocol: z.enum(['v1', 'v2', 'auto']).default('v1'),
    /** Called once when `auto` falls back to v1 (log it: the receiver does not speak Remote Write 2.0). */
    onFallback: z.custom<(event: ProtocolFallback) => void>((v) => typeof v === 'function', 'must be a function').optional(),
    /** Samples (and histogram samples) per request. */
    maxSamplesPerRequest: z.number().int().positive().default(2000),
    /** Uncompressed protobuf bytes per request; larger batches are halved before sending. */
    maxBytesPerRequest: z.number().int().min(1024).default(4 * 1024 * 1024),
    /** Requests in flight; series are sharded by label hash so one series' samples stay in order. */
    concurrency: z.number().int().min(1).max(256).default(4),
    retry: retrySchema({ minBackoffMs: 30, maxBackoffMs: 5_000, maxAttempts: Infinity }),
    /** On 400/413, bisect the batch to deliver the good series and report the bad ones. */
    splitRejectedBatches: z.boolean().default(true),
    /** Extra requests one batch may spend on bisecting before the rest is reported as rejected. */
    maxSplitRequests: z.number().int().nonnegative().default(256),
    /** Response bytes kept for error messages. */
    maxResponseBodyBytes: z.number().int().positive().default(64 * 1024),
    /** Registry for the client's own metrics; none when absent. */
    registry: registryLike.optional(),
    /** Value of the `remote` label on the client's metrics, to tell clients apart on one registry. */
    name: z.string().min(1).default('default'),
    /** Asynchronous mode (`enqueue`). */
    queue: z
      .object({
        /** Samples held at most; past it the drop policy applies. */
        maxSamples: z.number().int().positive().default(100_000),
        dropPolicy: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest'),
        /** Samples taken from the queue per write (default: maxSamplesPerRequest × concurrency). */
        maxSamplesPerWrite: z.number().int().positive().optional(),
        /** Called with each background write that did not fully succeed (rejected or undelivered series). */
        onResult: z.custom<(result: WriteResult) => void>((v) => typeof v === 'function', 'must be a function').optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((o) => !(o.basicAuth && o.bearerToken), { message: 'basicAuth and bearerToken exclude each other', path: ['bearerToken'] })
  .refine((o) => !((o.basicAuth || o.bearerToken) && Object.keys(o.headers).some((h) => h.toLowerCase() === 'authorization')), {
    message: 'an Authorization header conflicts with basicAuth/bearerToken',
    path: ['headers', 'Authorization'],
  });

export type RemoteWriteOptions = z.input<typeof schema>;
export type ResolvedRemoteWriteOptions = z.output<typeof schema>;

export function resolveRemoteWriteOptions(options: RemoteWriteOptions): ResolvedRemoteWriteOptions {
  return parseOptions(schema, options, 'RemoteWriteClient');
}
