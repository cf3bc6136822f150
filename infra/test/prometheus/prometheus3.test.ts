// startPrometheus3: the Go-built Prometheus 3.16 as a Remote Write receiver of both protobuf messages (or only 1.0).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedGoBinary, GO_BINARIES, startPrometheus3, type PrometheusServer } from '@prom-relay/infra';
import { remoteWrite, remoteWriteV2, writeRequest, writeRequestV2 } from '../remote-write-fixture.js';

describe('startPrometheus3', () => {
  let both: PrometheusServer;
  let onlyV1: PrometheusServer;
  beforeAll(async () => {
    // The first run on a machine builds the binary (minutes); later runs start it in about a second.
    [both, onlyV1] = await Promise.all([
      startPrometheus3({ features: ['metadata-wal-records', 'type-and-unit-labels'] }),
      startPrometheus3({ acceptedMessages: ['v1'] }),
    ]);
  }, 30 * 60_000);
  afterAll(async () => {
    await Promise.all([both?.stop(), onlyV1?.stop()]);
  });

  it('is Prometheus 3.16 (module v0.316.0, remove_all_sd), with the accepted messages and features it was given', async () => {
    // go install sets no version string: the module version and tags are in the binary's build info.
    const info = execFileSync('go', ['version', '-m', cachedGoBinary(GO_BINARIES.prometheus3)!], { encoding: 'utf8' });
    expect(info).toMatch(/\bmod\s+github\.com\/prometheus\/prometheus\s+v0\.316\.0\b/);
    expect(info).toMatch(/-tags=remove_all_sd/);
    const flags = (await (await fetch(`${both.url}/api/v1/status/flags`)).json()) as { data: Record<string, string> };
    expect(flags.data['web.remote-write-receiver.accepted-protobuf-messages']).toMatch(/prometheus\.WriteRequest.*io\.prometheus\.write\.v2\.Request/);
    expect(flags.data['enable-feature']).toMatch(/metadata-wal-records.*type-and-unit-labels/);
  });

  it('takes Remote Write 2.0 (answering the written count) and 1.0, and queries both back', async () => {
    const now = Date.now();
    const v2 = await remoteWriteV2(both.remoteWriteUrl, writeRequestV2([{ labels: { __name__: 'infra_p3_v2', job: 'infra' }, samples: [{ value: 7, timestamp: now - 1000 }] }]));
    expect(v2).toMatchObject({ status: 204, samplesWritten: '1' });
    const v1 = await remoteWrite(both.remoteWriteUrl, writeRequest([{ labels: { __name__: 'infra_p3_v1', job: 'infra' }, samples: [{ value: 8, timestamp: now - 1000 }] }]));
    expect(v1.status).toBe(204);
    expect((await both.query('infra_p3_v2', now)).map((s) => s.value)).toEqual([7]);
    expect((await both.query('infra_p3_v1', now)).map((s) => s.value)).toEqual([8]);
  });

  it('with acceptedMessages [v1] answers 415 to a 2.0 body and stores nothing', async () => {
    const now = Date.now();
    const v2 = await remoteWriteV2(onlyV1.remoteWriteUrl, writeRequestV2([{ labels: { __name__: 'infra_refused' }, samples: [{ value: 1, timestamp: now - 1000 }] }]));
    expect(v2.status).toBe(415);
    expect(await onlyV1.query('infra_refused', now)).toEqual([]);
  });
});
