import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfraError, liveServerGroupCount, startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { remoteWrite, writeRequest } from '../remote-write-fixture.js';

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

describe('startPrometheus', () => {
  let prom: PrometheusServer;
  let target: HttpServer;
  beforeAll(async () => {
    // A real scrape target proves that extraConfig reaches prometheus.yml and the scrape loop runs.
    target = createHttpServer((_req, res) => {
      res.setHeader('Content-Type', 'text/plain; version=0.0.4');
      res.end('# TYPE infra_scraped gauge\ninfra_scraped{source="target"} 3\n');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const targetPort = (target.address() as { port: number }).port;
    prom = await startPrometheus({
      scrapeInterval: '1s',
      extraConfig: `scrape_configs:\n  - job_name: target\n    static_configs:\n      - targets: ['127.0.0.1:${targetPort}']`,
    });
  }, 60_000);
  afterAll(async () => {
    await prom?.stop();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  it('is ready on loopback with its own TSDB folder', async () => {
    expect(prom.url).toBe(`http://127.0.0.1:${prom.port}`);
    expect(prom.remoteWriteUrl).toBe(`${prom.url}/api/v1/write`);
    expect(existsSync(prom.dataDir)).toBe(true);
    const ready = await fetch(`${prom.url}/-/ready`);
    expect(ready.status).toBe(200);
  });

  it('accepts a remote write and answers queries with the written values and ms timestamps', async () => {
    const now = Date.now();
    const body = writeRequest([
      { labels: { __name__: 'infra_rw_test_total', job: 'infra', instance: 'a' }, samples: [{ value: 1, timestamp: now - 2000 }, { value: 41.5, timestamp: now - 1000 }] },
    ]);
    const written = await remoteWrite(prom.remoteWriteUrl, body);
    expect(written).toEqual({ status: 204, text: '' });

    const vector = await prom.query('infra_rw_test_total');
    expect(vector).toEqual([{ labels: { __name__: 'infra_rw_test_total', job: 'infra', instance: 'a' }, value: 41.5, timestamp: expect.any(Number) }]);
    const atFirst = await prom.query('infra_rw_test_total', now - 1500);
    expect(atFirst[0]?.value).toBe(1);
    expect(atFirst[0]?.timestamp).toBe(now - 1500);

    const series = await prom.querySeries('infra_rw_test_total[1m]');
    expect(series).toEqual([
      { labels: { __name__: 'infra_rw_test_total', job: 'infra', instance: 'a' }, samples: [{ value: 1, timestamp: now - 2000 }, { value: 41.5, timestamp: now - 1000 }] },
    ]);
    expect(await prom.query('scalar(infra_rw_test_total) * 2')).toEqual([{ labels: {}, value: 83, timestamp: expect.any(Number) }]);
  });

  it('reads +Inf, -Inf and NaN answers as the numbers they are', async () => {
    const now = Date.now();
    const body = writeRequest([
      { labels: { __name__: 'infra_special', v: 'pos' }, samples: [{ value: Infinity, timestamp: now }] },
      { labels: { __name__: 'infra_special', v: 'neg' }, samples: [{ value: -Infinity, timestamp: now }] },
      { labels: { __name__: 'infra_special', v: 'nan' }, samples: [{ value: NaN, timestamp: now }] },
    ]);
    expect((await remoteWrite(prom.remoteWriteUrl, body)).status).toBe(204);
    const byV = Object.fromEntries((await prom.query('infra_special')).map((s) => [s.labels.v, s.value]));
    expect(byV).toEqual({ pos: Infinity, neg: -Infinity, nan: NaN });
    const [series] = await prom.querySeries('infra_special{v="neg"}[1m]');
    expect(series?.samples[0]?.value).toBe(-Infinity);
  });

  it('rejects an out-of-order sample with 400, as Prometheus 2.42 does', async () => {
    const now = Date.now();
    const ok = await remoteWrite(prom.remoteWriteUrl, writeRequest([{ labels: { __name__: 'infra_ooo' }, samples: [{ value: 1, timestamp: now }] }]));
    expect(ok.status).toBe(204);
    const late = await remoteWrite(prom.remoteWriteUrl, writeRequest([{ labels: { __name__: 'infra_ooo' }, samples: [{ value: 2, timestamp: now - 10_000 }] }]));
    expect(late.status).toBe(400);
    expect(late.text).toContain('out of order');
  });

  it('reports bad PromQL and the wrong result type as PROM_RELAY_INFRA_QUERY', async () => {
    await expect(prom.query('sum(')).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_QUERY', message: expect.stringContaining('bad_data') });
    await expect(prom.query('infra_rw_test_total[1m]')).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_QUERY', message: expect.stringContaining('querySeries') });
  });

  it('scrapes the targets of extraConfig', async () => {
    const scraped = await eventually(() => prom.query('infra_scraped'), (v) => v.length === 1);
    expect(scraped).toEqual([
      { labels: { __name__: 'infra_scraped', job: 'target', instance: expect.stringMatching(/^127\.0\.0\.1:\d+$/), source: 'target' }, value: 3, timestamp: expect.any(Number) },
    ]);
  }, 20_000);

  it('restart() and kill()+restart() keep the port and the written data', async () => {
    const now = Date.now();
    expect((await remoteWrite(prom.remoteWriteUrl, writeRequest([{ labels: { __name__: 'infra_durable' }, samples: [{ value: 7, timestamp: now }] }]))).status).toBe(204);
    const port = prom.port;
    await prom.restart();
    expect(prom.port).toBe(port);
    expect((await prom.query('infra_durable', now))[0]?.value).toBe(7);

    await prom.kill();
    expect(prom.running).toBe(false);
    await expect(fetch(`${prom.url}/-/ready`)).rejects.toThrow();
    await prom.restart();
    expect(prom.running).toBe(true);
    expect((await prom.query('infra_durable', now))[0]?.value).toBe(7);
  }, 60_000);
});

describe('startPrometheus failures and clean-up', () => {
  let blocker: Server;
  let takenPort = 0;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    takenPort = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('names a taken port', async () => {
    const err = await startPrometheus({ port: takenPort }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect(err).toMatchObject({ code: 'PROM_RELAY_INFRA_PORT_TAKEN', message: expect.stringContaining(String(takenPort)) });
  });

  it('fails with the config error and the log tail when extraConfig is invalid', async () => {
    const err = await startPrometheus({ extraConfig: 'scrape_configs: [ {job_name: 1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROM_RELAY_INFRA_START_FAILED', message: expect.stringContaining('prometheus.yml') });
  });

  it('restart() after the port was taken by someone else fails with PROM_RELAY_INFRA_PORT_TAKEN', async () => {
    const prom = await startPrometheus();
    try {
      await prom.kill();
      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(prom.port, '127.0.0.1', resolve));
      try {
        await expect(prom.restart()).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_PORT_TAKEN' });
      } finally {
        await new Promise<void>((resolve) => squatter.close(() => resolve()));
      }
    } finally {
      await prom.stop();
    }
  });

  it('stop() kills the process group and removes the data folder', async () => {
    const before = liveServerGroupCount();
    const prom = await startPrometheus();
    expect(liveServerGroupCount()).toBe(before + 1);
    await prom.stop();
    expect(liveServerGroupCount()).toBe(before);
    expect(existsSync(prom.dataDir)).toBe(false);
    await expect(fetch(`${prom.url}/-/ready`)).rejects.toThrow();
    await expect(prom.query('up')).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_STATE' });
  });
});
