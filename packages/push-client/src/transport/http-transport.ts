import http from 'node:http';
import https from 'node:https';
import { PushClientError } from '../errors.js';
import { USER_AGENT } from '../version.js';
import { parseRetryAfter } from './retry-after.js';
import type { SendOptions, Transport, TransportRequest, TransportResult } from './types.js';

export interface HttpTransportOptions {
  /** Per-attempt deadline in ms; an attempt also never outlives the caller's deadline. */
  timeoutMs: number;
  /** Response bytes kept (error messages); the rest is discarded. */
  maxResponseBodyBytes?: number;
  /** Sockets kept per host; at least the client's concurrency. */
  maxSockets?: number;
  /** Whether 429 counts as retryable (Prometheus `retry_on_http_429`). */
  retryOn429?: boolean;
}

const DEFAULT_MAX_RESPONSE_BODY = 64 * 1024;

/** One HTTP attempt with a real deadline, classified into success / failure / retryable. */
export class HttpTransport implements Transport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly maxBody: number;

  constructor(private readonly options: HttpTransportOptions) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16 };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.maxBody = options.maxResponseBodyBytes ?? DEFAULT_MAX_RESPONSE_BODY;
  }

  send(request: TransportRequest, options: SendOptions): Promise<TransportResult> {
    const remaining = Math.min(this.options.timeoutMs, options.deadline - Date.now());
    if (options.signal?.aborted) {
      return Promise.resolve(abortedResult(options.signal));
    }
    if (remaining <= 0) {
      return Promise.resolve({
        status: 'retryable',
        attempts: 1,
        error: new PushClientError('PROM_RELAY_PUSH_DEADLINE_EXCEEDED', 'deadline passed before the request was sent'),
      });
    }
    return new Promise<TransportResult>((resolve) => {
      const isHttps = request.url.protocol === 'https:';
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, remaining);
      const onCallerAbort = (): void => controller.abort();
      options.signal?.addEventListener('abort', onCallerAbort, { once: true });
      let settled = false;
      const finish = (result: TransportResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onCallerAbort);
        resolve(result);
      };
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...request.headers };
      const body = request.body === undefined ? undefined : typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
      if (body) headers['Content-Length'] = String(body.byteLength);
      const req = (isHttps ? https : http).request(request.url, {
        method: request.method,
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        signal: controller.signal,
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (timedOut) {
          // Cut by the caller's deadline rather than by the per-attempt timeout: say so, callers treat them apart.
          const byDeadline = remaining < this.options.timeoutMs;
          finish({
            status: 'retryable',
            attempts: 1,
            error: byDeadline
              ? new PushClientError('PROM_RELAY_PUSH_DEADLINE_EXCEEDED', `the deadline passed after ${remaining} ms waiting for ${request.url.host}`, { cause: err })
              : new PushClientError('PROM_RELAY_PUSH_TIMEOUT', `no answer from ${request.url.host} within ${remaining} ms`, { cause: err }),
          });
        } else if (options.signal?.aborted) {
          finish(abortedResult(options.signal));
        } else {
          finish({
            status: 'retryable',
            attempts: 1,
            error: new PushClientError('PROM_RELAY_PUSH_NETWORK', `${request.method} ${request.url.host}: ${err.code ?? err.message}`, { cause: err }),
          });
        }
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const complete = (): void => {
          const statusCode = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          const common = { statusCode, headers: res.headers, body: text, attempts: 1 };
          if (statusCode >= 200 && statusCode < 300) {
            finish({ ...common, status: 'success', statusCode });
            return;
          }
          const message = `${request.method} ${request.url.host}${request.url.pathname} answered ${statusCode}${text ? `: ${firstLine(text)}` : ''}`;
          const details = { statusCode, responseBody: text };
          if (statusCode >= 500 || (statusCode === 429 && this.options.retryOn429 !== false)) {
            const retryInMs = parseRetryAfter(res.headers['retry-after']);
            finish({
              ...common,
              status: 'retryable',
              error: new PushClientError('PROM_RELAY_PUSH_RETRYABLE_STATUS', message, details),
              ...(retryInMs === undefined ? {} : { retryInMs }),
            });
          } else {
            finish({ ...common, status: 'failure', error: new PushClientError('PROM_RELAY_PUSH_HTTP_STATUS', message, details) });
          }
        };
        res.on('data', (chunk: Buffer) => {
          const take = chunk.subarray(0, this.maxBody - kept);
          chunks.push(take);
          kept += take.length;
          // A body past the cap is not worth reading: answer with what we have and drop the socket.
          if (kept >= this.maxBody && take.length < chunk.length) {
            complete();
            res.destroy();
          }
        });
        res.on('error', () => undefined);
        res.on('end', complete);
      });
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function abortedResult(signal: AbortSignal): TransportResult {
  return {
    status: 'retryable',
    attempts: 1,
    error: new PushClientError('PROM_RELAY_PUSH_ABORTED', 'the request was aborted', { cause: signal.reason }),
  };
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
