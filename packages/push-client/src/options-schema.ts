import { z } from 'zod';
import { PushClientError } from './errors.js';

/** Parses options with a schema once, at construction; the error names the first bad field. */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(options)';
  throw new PushClientError('PROM_RELAY_PUSH_INVALID_OPTIONS', `${what}: invalid option ${field}: ${issue.message}`, {
    field,
    cause: parsed.error,
  });
}

/** An http(s) URL with any path. */
export const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http:// or https:// URL');

/** A positive whole number of attempts, or Infinity for unlimited. */
const attempts = z.custom<number>(
  (v) => v === Infinity || (typeof v === 'number' && Number.isInteger(v) && v >= 1),
  'must be a whole number >= 1, or Infinity for unlimited',
);

export const retrySchema = (defaults: { minBackoffMs: number; maxBackoffMs: number; maxAttempts: number }) =>
  z
    .object({
      minBackoffMs: z.number().int().nonnegative().default(defaults.minBackoffMs),
      maxBackoffMs: z.number().int().positive().default(defaults.maxBackoffMs),
      jitter: z.number().min(0).max(1).default(0.2),
      retryOn429: z.boolean().default(true),
      maxAttempts: attempts.default(defaults.maxAttempts),
    })
    .strict()
    .refine((r) => r.minBackoffMs <= r.maxBackoffMs, { message: 'minBackoffMs must not exceed maxBackoffMs', path: ['minBackoffMs'] })
    .prefault({});

export const basicAuthSchema = z.object({ username: z.string(), password: z.string() }).strict();

/** Headers the protocol owns; user headers never replace them. */
export function protectedHeaderCheck(protectedNames: readonly string[]) {
  const lower = new Set(protectedNames.map((n) => n.toLowerCase()));
  return z.record(z.string(), z.string()).superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      if (lower.has(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [name], message: `header ${name} is set by the protocol and cannot be overridden` });
      } else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `${JSON.stringify(name)} is not a valid header name` });
      }
    }
  });
}
