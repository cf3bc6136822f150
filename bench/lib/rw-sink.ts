// A counting Remote Write receiver for the benchmarks: decodes every request with @prom-relay/codec (1.0, snappy) and
// keeps the last value per series, so a run's totals can be checked against ground truth. Answers 204.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequestSnappy, type Labels } from '@prom-relay/codec';

export interface RwSink {
  url: string;
  /** requests and samples received so far */
  requests: number;
  samples: number;
  /** last value per series (labels in the order received, sorted by the sender as the spec asks) */
  last: Map<string, { labels: Labels; value: number }>;
  /** Sum of the last values of the series named `name` whose labels include `match`. */
  sum(name: string, match?: (labels: Labels) => boolean): number;
  /** time of the last request received (ms) */
  lastAt: number;
  close(): Promise<void>;
}

export async function startRwSink(): Promise<RwSink> {
  const sink: RwSink = {
    url: '',
    requests: 0,
    samples: 0,
    last: new Map(),
    lastAt: 0,
    sum(name, match) {
      let total = 0;
      for (const { labels, value } of this.last.values()) if (labels['__name__'] === name && (!match || match(labels))) total += value;
      return total;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const wr = decodeWriteRequestSnappy(Buffer.concat(chunks));
        sink.requests++;
        sink.lastAt = Date.now();
        for (const ts of wr.timeseries) {
          const key = Object.entries(ts.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',');
          for (const s of ts.samples) {
            sink.samples++;
            if (!s.stale) sink.last.set(key, { labels: ts.labels, value: s.value });
          }
        }
        res.writeHead(204).end();
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  return sink;
}
