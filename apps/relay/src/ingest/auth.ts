// Basic auth and bearer tokens; every credential is compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface IngestAuth {
  basic?: { username: string; password: string }[];
  bearer?: string[];
}

/** Digests of the configured credentials: equal-length buffers, so timingSafeEqual never leaks a length. */
export interface CredentialCheck {
  readonly required: boolean;
  readonly challenges: string[];
  accepts(req: IncomingMessage): boolean;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function matchesAny(candidate: Buffer, allowed: readonly Buffer[]): boolean {
  let ok = false;
  // No early exit: the time taken does not say which credential matched.
  for (const a of allowed) ok = timingSafeEqual(candidate, a) || ok;
  return ok;
}

export function createCredentialCheck(auth: IngestAuth | undefined): CredentialCheck {
  const basic = (auth?.basic ?? []).map((c) => digest(`${c.username}:${c.password}`));
  const bearer = (auth?.bearer ?? []).map(digest);
  const challenges: string[] = [];
  if (basic.length > 0) challenges.push('Basic realm="prom-relay", charset="UTF-8"');
  if (bearer.length > 0) challenges.push('Bearer realm="prom-relay"');
  return {
    required: challenges.length > 0,
    challenges,
    accepts(req) {
      if (challenges.length === 0) return true;
      const header = req.headers.authorization;
      if (typeof header !== 'string') return false;
      const space = header.indexOf(' ');
      if (space < 0) return false;
      const scheme = header.slice(0, space).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (scheme === 'basic' && basic.length > 0) {
        return matchesAny(digest(Buffer.from(value, 'base64').toString('utf8')), basic);
      }
      if (scheme === 'bearer' && bearer.length > 0) return matchesAny(digest(value), bearer);
      return false;
    },
  };
}
