// Guards issue 13: process metrics were named prom_relay_process_process_cpu_seconds_total (the prefix doubled
// prom-client's own process_), and /metrics said nothing about which relay version was running.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayMetrics, startRelayServer, type RelayServer } from '../../src/server/index.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('/metrics: build info and process metric names', () => {
  let server: RelayServer;
  let body: string;

  beforeAll(async () => {
    const metrics = new RelayMetrics(() => []);
    server = await startRelayServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: () => ({ ready: true, checks: {} }),
      logger: pino({ level: 'silent' }),
    });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    body = await res.text();
  });
  afterAll(() => server?.close());

  it('exports prom_relay_build_info{version,node_version} 1 with the package version', () => {
    expect(body).toContain('# TYPE prom_relay_build_info gauge');
    expect(body).toContain(`prom_relay_build_info{version="${version}",node_version="${process.version}"} 1\n`);
  });

  it('names process and runtime metrics with one prefix', () => {
    const names = new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    expect(names).toContain('prom_relay_process_cpu_seconds_total');
    expect(names).toContain('prom_relay_process_resident_memory_bytes');
    expect(names).toContain('prom_relay_process_start_time_seconds');
    expect(names).toContain('prom_relay_nodejs_heap_size_used_bytes');
    expect(names).toContain('prom_relay_nodejs_eventloop_lag_seconds');
    expect([...names].filter((n) => /process_process_|process_nodejs_/.test(n))).toEqual([]);
    // every name the relay exports carries the one prefix
    expect([...names].filter((n) => !n.startsWith('prom_relay_'))).toEqual([]);
  });
});
