// Slow and many clients: how long a client may take to send a request, how long an idle connection stays, and how
// many connections may be open. Each closing is counted and logged (rate-limited), never silent.
import type { Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RateLimitedLog } from '../log/index.js';

export interface HttpConnectionLimits {
  /** time to send the request headers, from the connection or the previous response (slowloris); 0: none */
  headersTimeoutMs: number;
  /** time to send the whole request, headers and body (a body trickled byte by byte); 0: none */
  requestTimeoutMs: number;
  /** how long a kept-alive connection may sit idle between requests */
  keepAliveTimeoutMs: number;
  /** open connections at most; more are closed as they arrive */
  maxConnections: number;
}

/** The config defaults (apps/relay/README.md says why). */
export const DEFAULT_HTTP_LIMITS: HttpConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 60_000,
  maxConnections: 1000,
};

export type HttpTimeoutKind = 'headers' | 'request';

export interface HttpConnectionEvents {
  /** a connection closed on arrival: maxConnections were open */
  refused?(): void;
  /** a connection closed because its client was too slow */
  timedOut?(kind: HttpTimeoutKind): void;
  /** open connections changed by `delta` (+1 accepted, -1 closed) */
  connections?(delta: 1 | -1): void;
}

/**
 * Options for http.createServer. Node checks the header and request timeouts on a timer (30 s by default, which would
 * let a slow client live 30 s past its timeout): here at a fifth of the shorter timeout, between 50 ms and 1 s.
 */
export function serverOptions(limits: HttpConnectionLimits): ServerOptions {
  const shortest = Math.min(...[limits.headersTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0), 5000);
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(shortest / 5))),
  };
}

const RESPONSES: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
};
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

/** Applies the connection cap and counts and logs every connection closed for slowness or refused for the cap. */
export function guardConnections(server: Server, limits: HttpConnectionLimits, events: HttpConnectionEvents, log: RateLimitedLog): void {
  server.maxConnections = limits.maxConnections;
  // Sockets whose request headers arrived and whose response is not finished: a timeout there is the request's.
  const inRequest = new WeakMap<Socket, ServerResponse>();
  server.on('request', (req, res: ServerResponse) => {
    inRequest.set(req.socket, res);
    res.once('close', () => inRequest.delete(req.socket));
  });
  server.on('connection', (socket: Socket) => {
    events.connections?.(1);
    socket.once('close', () => events.connections?.(-1));
  });
  server.on('drop', (data?: { remoteAddress?: string }) => {
    events.refused?.();
    log.warn('refused', { remote: data?.remoteAddress, max_connections: limits.maxConnections }, 'HTTP connection refused: server.max_connections are open');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const kind: HttpTimeoutKind = inRequest.has(socket) ? 'request' : 'headers';
      events.timedOut?.(kind);
      const timeoutMs = kind === 'request' ? limits.requestTimeoutMs : limits.headersTimeoutMs;
      log.warn(`timeout:${kind}`, { remote: socket.remoteAddress, kind, timeout_ms: timeoutMs }, `HTTP client too slow: no complete request ${kind === 'request' ? 'body' : 'headers'} within server.${kind}_timeout, connection closed`);
    }
    // What Node does without a listener: answer unless a response is already under way, then close.
    if (socket.writable && !inRequest.get(socket)?.headersSent) socket.write(RESPONSES[err.code ?? ''] ?? BAD_REQUEST);
    socket.destroy(err);
  });
}
