// startVictoriaMetrics: the Go-built VictoriaMetrics single-node as a Remote Write receiver, queried like Prometheus.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedGoBinary, GO_BINARIES, startVictoriaMetrics, type VictoriaMetricsServer } from '@prom-relay/infra';
import { remoteWrite, remoteWriteV2, writeRequest, writeRequestV2 } from '../remote-write-fixture.js';

/** The value of one exact series line of a /metrics page. */
async function metricSumOf(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('startVictoriaMetrics', () => {
  let vm: VictoriaMetricsServer;
  beforeAll(async () => {
    // The first run on a machine builds the binary (minutes); later runs start it in about a second.
    vm = await startVictoriaMetrics();
  }, 30 * 60_000);
  afterAll(async () => {
    await vm?.stop();
  });

  it('is v1.151.0 on loopback with its own storage folder', async () => {
    expect(vm.url).toBe(`http://127.0.0.1:${vm.port}`);
    expect(vm.remoteWriteUrl).toBe(`${vm.url}/api/v1/write`);
    expect(existsSync(vm.dataDir)).toBe(true);
    // go install sets no version string: the module version is in the binary's build info.
    const info = execFileSync('go', ['version', '-m', cachedGoBinary(GO_BINARIES.victoriaMetrics)!], { encoding: 'utf8' });
    expect(info).toMatch(/\bmod\s+github\.com\/VictoriaMetrics\/VictoriaMetrics\s+v1\.151\.0\b/);
    expect(info).toMatch(/CGO_ENABLED=0/);
    expect(await metricSumOf(vm.url, 'vm_rows_inserted_total{type="promremotewrite"}')).toBe(0);
  });

  it('takes Remote Write 1.0 and answers instant and raw-sample queries at once (no latency offset)', async () => {
    const now = Date.now();
    const body = writeRequest([
      { labels: { __name__: 'infra_vm_total', job: 'infra' }, samples: [{ value: 1, timestamp: now - 2000 }, { value: 5.5, timestamp: now - 1000 }] },
    ]);
    expect((await remoteWrite(vm.remoteWriteUrl, body)).status).toBe(204);
    expect(await vm.query('infra_vm_total', now)).toEqual([{ labels: { __name__: 'infra_vm_total', job: 'infra' }, value: 5.5, timestamp: now }]);
    const raw = await vm.querySeries('infra_vm_total[1m]', now);
    expect(raw.map((s) => s.samples)).toEqual([[{ value: 1, timestamp: now - 2000 }, { value: 5.5, timestamp: now - 1000 }]]);
    // What it stored, by its own count (the relay tests compare it with what they sent); its /metrics lags ~1 s.
    const deadline = Date.now() + 10_000;
    let inserted = await metricSumOf(vm.url, 'vm_rows_inserted_total{type="promremotewrite"}');
    while (inserted !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      inserted = await metricSumOf(vm.url, 'vm_rows_inserted_total{type="promremotewrite"}');
    }
    expect(inserted).toBe(2);
  });

  it('reads a Remote Write 2.0 body as an empty 1.0 request: 204, no written-count header, nothing stored', async () => {
    const now = Date.now();
    const answer = await remoteWriteV2(vm.remoteWriteUrl, writeRequestV2([{ labels: { __name__: 'infra_vm_v2' }, samples: [{ value: 3, timestamp: now - 1000 }] }]));
    expect(answer).toMatchObject({ status: 204, samplesWritten: null });
    expect(await vm.query('infra_vm_v2', now)).toEqual([]);
  });

  it('keeps its data through a restart on the same port, and comes back after a crash', async () => {
    const now = Date.now();
    expect((await remoteWrite(vm.remoteWriteUrl, writeRequest([{ labels: { __name__: 'infra_vm_kept' }, samples: [{ value: 9, timestamp: now - 1000 }] }]))).status).toBe(204);
    expect((await vm.query('infra_vm_kept', now)).map((s) => s.value)).toEqual([9]);
    const port = vm.port;
    await vm.restart();
    expect(vm.port).toBe(port);
    const deadline = Date.now() + 10_000;
    let kept = await vm.query('infra_vm_kept', now);
    while (kept.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      kept = await vm.query('infra_vm_kept', now);
    }
    expect(kept.map((s) => s.value)).toEqual([9]);
    await vm.kill();
    expect(vm.running).toBe(false);
    await vm.restart();
    expect(vm.running).toBe(true);
    expect((await fetch(`${vm.url}/health`)).status).toBe(200);
  }, 60_000);
});
