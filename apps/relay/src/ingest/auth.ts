// Basic auth and bearer tokens (in the Authorization header, or in the path for clients that can set only a URL);
// every credential is compared in constant time.
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
  /** With `path` (a request's `splitPathToken`), a token in the path decides, as a bearer token would. */
  accepts(req: IncomingMessage, path?: PathCredential): boolean;
}

/**
 * `/token/<bearer token>/…`: the token in the path, for clients whose only setting is a URL (Flink's
 * PrometheusPushGatewayReporter has `hostUrl`, which may carry a path). Characters outside `A-Za-z0-9-._~` are
 * percent-encoded in the URL (`/` as `%2F`).
 */
export const PATH_TOKEN_PREFIX = '/token/';
/** What logs and error messages show instead of the token. */
export const MASKED_TOKEN_PATH = '/token/<masked>';

export interface PathCredential {
  /** The path without the token prefix: what the routes see. */
  path: string;
  /** The path as logs and answers may show it: the token replaced by `<masked>`. */
  logPath: string;
  /** The token, percent-decoded; undefined without the prefix, or when it is empty or not valid percent-encoding. */
  token?: string;
  /** True when the path has the prefix (a token that does not decode still counts as a wrong one). */
  hasToken: boolean;
}

/** Splits `/token/<token>/rest` into the token and `/rest`; any other path is returned as it is. */
export function splitPathToken(pathname: string): PathCredential {
  if (!pathname.startsWith(PATH_TOKEN_PREFIX)) return { path: pathname, logPath: pathname, hasToken: false };
  const end = pathname.indexOf('/', PATH_TOKEN_PREFIX.length);
  const raw = end < 0 ? pathname.slice(PATH_TOKEN_PREFIX.length) : pathname.slice(PATH_TOKEN_PREFIX.length, end);
  const path = end < 0 ? '/' : pathname.slice(end);
  let token: string | undefined;
  try {
    token = decodeURIComponent(raw);
  } catch {
    token = undefined;
  }
  return { path, logPath: MASKED_TOKEN_PATH + path, hasToken: true, ...(token ? { token } : {}) };
}

/** A request URL (path and query) with a path token masked: for any log line or answer that shows it. */
export function maskPathToken(url: string): string {
  if (!url.startsWith(PATH_TOKEN_PREFIX)) return url;
  const end = url.slice(PATH_TOKEN_PREFIX.length).search(/[/?#]/);
  return MASKED_TOKEN_PATH + (end < 0 ? '' : url.slice(PATH_TOKEN_PREFIX.length + end));
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
    accepts(req, path) {
      if (challenges.length === 0) return true;
      // A token in the path decides (the Authorization header is not read then): accepted as a bearer token would be.
      if (path?.hasToken) return path.token !== undefined && bearer.length > 0 && matchesAny(digest(path.token), bearer);
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
