// The relay's HTTP side: /metrics, /healthz, /readyz, the status page (/ and /api/v1/status), and the ingest
// (Pushgateway API, Remote Write receive).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RelayConfig } from '../config/index.js';
import { maskPathToken, type CredentialCheck } from '../ingest/auth.js';
import { RateLimitedLog } from '../log/index.js';
import { DEFAULT_HTTP_LIMITS, guardConnections, serverOptions, type HttpConnectionEvents, type HttpConnectionLimits } from './connections.js';
import { renderStatusPage, type StatusSnapshot } from '../status/index.js';
import type { RelayMetrics } from './metrics.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | string>;
}

export interface RelayServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** answers /metrics instead of `registry` (the ingest's workers: every worker's metrics aggregated) */
  metricsText?: () => Promise<string>;
  /** this process's readiness, or (several workers sharing the port) every worker's, gathered */
  readiness: () => Readiness | Promise<Readiness>;
  /** the status page (`/`, HTML) and its data (`/api/v1/status`, JSON); behind `auth` when that requires credentials */
  status?: { snapshot(): Promise<StatusSnapshot>; auth?: CredentialCheck };
  /** answers the request when it is an ingest route (true) */
  ingest?: { handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> };
  logger: Logger;
  /** timeouts and the connection cap; default DEFAULT_HTTP_LIMITS */
  connections?: HttpConnectionLimits;
  /** counts connections refused and closed for slowness */
  connectionEvents?: HttpConnectionEvents;
  /** counts the requests the server's own routes refuse (the ingest counts its answers itself) */
  requestRefused?: (route: HttpRoute, status: HttpRefusal) => void;
}

/** The server's routes, as prom_relay_http_requests_refused_total names them; `none`: a path that is no route. */
export type HttpRoute = 'metrics' | 'healthz' | 'readyz' | 'status' | 'ingest' | 'none';
/** 401: the status page without valid credentials; 404: no such route; 500: a handler threw (a bug, or a worker's answer missing). */
export type HttpRefusal = 401 | 404 | 500;

function routeOf(path: string): HttpRoute {
  if (path === '/metrics') return 'metrics';
  if (path === '/healthz') return 'healthz';
  if (path === '/readyz') return 'readyz';
  if (path === '/' || path === '/api/v1/status') return 'status';
  return 'ingest';
}

/** The server's connection options from `server.*` config, counted on the relay's metrics. */
export function serverConnectionOptions(server: RelayConfig['server'], metrics: RelayMetrics): Pick<RelayServerOptions, 'connections' | 'connectionEvents' | 'requestRefused'> {
  return {
    connections: {
      headersTimeoutMs: server.headers_timeout,
      requestTimeoutMs: server.request_timeout,
      keepAliveTimeoutMs: server.keep_alive_timeout,
      maxConnections: server.max_connections,
    },
    connectionEvents: {
      refused: () => metrics.httpConnectionsRefused.inc(),
      timedOut: (kind) => metrics.httpTimeouts.inc({ kind }),
      connections: (delta) => metrics.httpConnections.inc(delta),
    },
    requestRefused: (route, status) => metrics.httpRequestsRefused.inc({ route, status: String(status) }),
  };
}

export interface RelayServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startRelayServer(opts: RelayServerOptions): Promise<RelayServer> {
  const log = new RateLimitedLog(opts.logger);
  // Every refusal of the server's own routes: counted, and logged at most 5 lines per route and status per 10 s.
  const refused = (req: IncomingMessage, route: HttpRoute, status: HttpRefusal, fields: Record<string, unknown>, msg: string): void => {
    opts.requestRefused?.(route, status);
    const path = maskPathToken((req.url ?? '/').split('?')[0] ?? '/');
    log.log(status >= 500 ? 'error' : 'warn', `http/${route}/${status}`, { route, status, method: req.method, path, ...fields }, msg);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      const body = opts.metricsText ? await opts.metricsText() : await opts.registry.metrics();
      res.writeHead(200, { 'content-type': opts.registry.contentType });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      const r = await opts.readiness();
      sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r.checks });
      return;
    }
    if (opts.status && req.method === 'GET' && (path === '/' || path === '/api/v1/status')) {
      const { auth } = opts.status;
      if (auth?.required && !auth.accepts(req)) {
        const error = req.headers.authorization ? 'credentials are not accepted' : 'credentials are required';
        res.setHeader('www-authenticate', auth.challenges);
        sendJson(res, 401, { error });
        refused(req, 'status', 401, { error }, 'status page request refused');
        return;
      }
      const snapshot = await opts.status.snapshot();
      if (path === '/api/v1/status') {
        sendJson(res, 200, snapshot);
        return;
      }
      const html = renderStatusPage(snapshot);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    if (opts.ingest && (await opts.ingest.handle(req, res))) return;
    sendJson(res, 404, { error: `no route for ${req.method} ${maskPathToken(path ?? '/')}` });
    refused(req, 'none', 404, {}, 'no route for the request');
  };
  const limits = opts.connections ?? DEFAULT_HTTP_LIMITS;
  const server: Server = createServer(serverOptions(limits), (req, res) => {
    handle(req, res).catch((err: unknown) => {
      refused(req, routeOf((req.url ?? '/').split('?')[0] ?? '/'), 500, { err }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  guardConnections(server, limits, opts.connectionEvents ?? {}, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
