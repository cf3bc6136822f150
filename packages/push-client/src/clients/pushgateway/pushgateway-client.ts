import { formatExposition } from '@prom-relay/codec';
import type { MetricFamily } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';
import { HttpTransport } from '../../transport/http-transport.js';
import { RetryingTransport } from '../../transport/retrying-transport.js';
import type { HttpMethod, Transport, TransportResult } from '../../transport/types.js';
import { checkGroupingLabel, groupingPath, isInstanceLike } from './grouping.js';
import { PUSHGATEWAY_PROTOCOL_HEADERS, resolvePushgatewayOptions } from './options.js';
import type { PushgatewayOptions, ResolvedPushgatewayOptions } from './options.js';

/** Content type of the text exposition format the client sends. */
export const TEXT_FORMAT_CONTENT_TYPE = 'text/plain; version=0.0.4';

/** Something that yields metrics in text format 0.0.4: a prom-client Registry, or metric families. */
export type Collector = { metrics(): string | Promise<string>; contentType?: string } | readonly MetricFamily[];

/** What push/add/delete answer: the transport's union (never a throw). */
export type PushResult = TransportResult;

const warnedGroups = new Set<string>();

/**
 * A Pushgateway client that reads like Go's `push.New(url, job).BasicAuth(u, p).Grouping("instance", x).Collector(c).Push()`:
 * `new PushgatewayClient(url, job).basicAuth(u, p).grouping('instance', x).collector(registry).push()`.
 * Setters validate at once and return the client; push/add/delete resolve to a success / failure / retryable result.
 */
export class PushgatewayClient {
  private readonly options: ResolvedPushgatewayOptions;
  private readonly base: URL;
  private readonly groupingLabels: Array<[string, string]> = [];
  private readonly collectors: Collector[] = [];
  private readonly extraHeaders: Record<string, string>;
  private transport?: Transport;

  constructor(url: string, job: string, options: PushgatewayOptions = {}) {
    this.options = resolvePushgatewayOptions(url, job, options);
    this.base = new URL(this.options.url);
    this.extraHeaders = { ...this.options.headers };
  }

  /** Adds a grouping label (`instance` and the like tell machines of a job apart). Replaces a same-named one. */
  grouping(name: string, value: string): this {
    checkGroupingLabel(name, value);
    const existing = this.groupingLabels.find(([n]) => n === name);
    if (existing) existing[1] = value;
    else this.groupingLabels.push([name, value]);
    return this;
  }

  /** Adds metrics to push: a prom-client Registry (text format) or metric families. */
  collector(collector: Collector): this {
    const isFamilies = Array.isArray(collector);
    if (!isFamilies && typeof (collector as { metrics?: unknown })?.metrics !== 'function') {
      throw new PushClientError('PROM_RELAY_PUSH_INVALID_OPTIONS', 'a collector is a prom-client Registry or an array of metric families', {
        field: 'collector',
      });
    }
    const contentType = isFamilies ? undefined : (collector as { contentType?: string }).contentType;
    if (contentType && !contentType.startsWith('text/plain')) {
      throw new PushClientError('PROM_RELAY_PUSH_INVALID_OPTIONS', `collector produces ${contentType}; the Pushgateway text format needs a Prometheus-format registry`, {
        field: 'collector',
      });
    }
    this.collectors.push(collector);
    return this;
  }

  basicAuth(username: string, password: string): this {
    return this.header('Authorization', `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
  }

  bearerToken(token: string): this {
    return this.header('Authorization', `Bearer ${token}`);
  }

  /** Sets a request header; the protocol's own headers cannot be set. */
  header(name: string, value: string): this {
    if (PUSHGATEWAY_PROTOCOL_HEADERS.some((h) => h.toLowerCase() === name.toLowerCase())) {
      throw new PushClientError('PROM_RELAY_PUSH_INVALID_OPTIONS', `header ${name} is set by the client and cannot be overridden`, {
        field: `headers.${name}`,
      });
    }
    this.extraHeaders[name] = value;
    return this;
  }

  /** PUT: replaces every metric of the group with the collected ones. */
  push(): Promise<PushResult> {
    return this.send('PUT');
  }

  /** POST: replaces only the metrics with the same names as the collected ones. */
  add(): Promise<PushResult> {
    return this.send('POST');
  }

  /** DELETE: removes the whole group. */
  delete(): Promise<PushResult> {
    return this.send('DELETE');
  }

  /** The URL the group lives at (`.../metrics/job/<job>/<label>/<value>...`). */
  groupUrl(): URL {
    const url = new URL(this.base);
    url.pathname = url.pathname.replace(/\/+$/, '') + groupingPath(this.options.job, this.groupingLabels);
    return url;
  }

  /** Releases kept-alive sockets. */
  close(): void {
    this.transport?.close?.();
    this.transport = undefined;
  }

  private async send(method: HttpMethod): Promise<PushResult> {
    const deadline = Date.now() + this.options.timeoutMs;
    let body: string | undefined;
    if (method !== 'DELETE') {
      this.warnWithoutInstance();
      try {
        body = await this.gather();
      } catch (err) {
        return {
          status: 'failure',
          attempts: 0,
          error: new PushClientError('PROM_RELAY_PUSH_ENCODE', `gathering metrics failed: ${(err as Error).message}`, { cause: err }),
        };
      }
    }
    this.transport ??= new RetryingTransport(
      new HttpTransport({
        timeoutMs: this.options.timeoutMs,
        maxResponseBodyBytes: this.options.maxResponseBodyBytes,
        retryOn429: this.options.retry.retryOn429,
      }),
      this.options.retry,
    );
    const headers: Record<string, string> = { ...this.extraHeaders };
    if (body !== undefined) headers['Content-Type'] = TEXT_FORMAT_CONTENT_TYPE;
    return this.transport.send({ method, url: this.groupUrl(), headers, ...(body === undefined ? {} : { body }) }, { deadline });
  }

  private async gather(): Promise<string> {
    let text = '';
    for (const collector of this.collectors) {
      const part = Array.isArray(collector)
        ? formatExposition(collector as MetricFamily[])
        : await (collector as { metrics(): string | Promise<string> }).metrics();
      if (text && !text.endsWith('\n')) text += '\n';
      text += part;
    }
    return text;
  }

  private warnWithoutInstance(): void {
    if (this.groupingLabels.some(([name]) => isInstanceLike(name))) return;
    const key = `${this.base.href}|${this.options.job}`;
    if (warnedGroups.has(key)) return;
    warnedGroups.add(key);
    const message =
      `pushing job "${this.options.job}" without an instance-like grouping label: pushes from several machines ` +
      `replace each other's metrics; add .grouping('instance', <host>)`;
    if (this.options.logger) this.options.logger.warn({ code: 'PROM_RELAY_PUSH_NO_INSTANCE', job: this.options.job }, message);
    else process.emitWarning(message, { code: 'PROM_RELAY_PUSH_NO_INSTANCE' });
  }
}
