// Guards the path credential (`/token/<bearer token>/…`, what Flink's reporter can carry in hostUrl) of a running
// relay: accepted as the bearer token is, wrong ones refused and counted like any auth failure, and the token in
// nothing the relay process writes (debug logs included), whatever the request.
import { compress, encodeWriteRequest } from '@prom-relay/codec';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

const TOKEN = 'flink/push+token-3e9a';
const IN_URL = encodeURIComponent(TOKEN);
const FORMS = [TOKEN, IN_URL, 'push+token-3e9a', 'push%2Btoken-3e9a', 'token-3e9a'];

let prom: PrometheusServer;
let relay: RelayProcess | undefined;

beforeAll(async () => {
  prom = await startPrometheus();
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
    extra: { ingest: { bearer_tokens: [TOKEN] }, log: { level: 'debug' } },
  });
  relay = await startRelayProcess(config);
}, 90_000);

afterAll(async () => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await prom?.stop();
});

it('a token in the path is taken as the bearer token, wrong ones are 401 and counted, and the relay never writes it', async () => {
  const call = (method: string, path: string, body?: string | Uint8Array, type = 'text/plain; version=0.0.4', extra: Record<string, string> = {}) =>
    fetch(`${relay!.url}${path}`, { method, headers: { 'content-type': type, ...extra }, ...(body !== undefined ? { body } : {}) });
  const text = (v: number) => `# TYPE flink_records gauge\nflink_records{operator_name="map"} ${v}\n# TYPE path_token_rows_total counter\npath_token_rows_total ${v}\n`;

  expect((await call('PUT', `/token/${IN_URL}/metrics/job/flinkA`, text(4))).status).toBe(200);
  expect((await call('PUT', `/token/${IN_URL}/metrics/job/flinkB/instance/tm-1`, text(6))).status).toBe(200);
  const rw = compress(encodeWriteRequest({ timeseries: [{ labels: { __name__: 'path_token_rw', job: 'rw' }, samples: [{ value: 9, timestamp: Date.now() }] }] }));
  expect((await call('POST', `/token/${IN_URL}/api/v1/write`, rw, 'application/x-protobuf', { 'content-encoding': 'snappy' })).status).toBe(204);

  // Refused: wrong token (also with the right one in a header), no token, a token as a header only where it belongs.
  const refused = [
    await call('PUT', '/token/wrong-token/metrics/job/flinkA', text(1000)),
    await call('PUT', `/token/${IN_URL}x/metrics/job/flinkA`, text(1000)),
    await call('PUT', '/token/wrong-token/metrics/job/flinkA', text(1000), undefined, { authorization: `Bearer ${TOKEN}` }),
    await call('PUT', '/metrics/job/flinkA', text(1000)),
  ];
  expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401]);
  // Errors after a good token name the problem, token masked.
  const bad = [await call('PUT', `/token/${IN_URL}/metrics/job/flinkA/instance`, text(1)), await call('GET', `/token/${IN_URL}/nowhere`)];
  expect(bad.map((r) => r.status)).toEqual([400, 404]);
  const answers = [...(await Promise.all([...refused, ...bad].map((r) => r.text())))].join('\n');
  expect(answers).toContain('PROM_RELAY_INGEST_ROUTE: no ingest route for GET /token/<masked>/nowhere');

  // Exactly the accepted pushes count: 4 + 6.
  const total = async () => (await prom.query('sum(path_token_rows_total)'))[0]?.value;
  expect(await eventually(total, (v) => v === 10, 30_000)).toBe(10);
  expect(await eventually(async () => (await prom.query('path_token_rw'))[0]?.value, (v) => v === 9, 30_000)).toBe(9);

  // Counted like any other auth failure.
  const metrics = await (await fetch(`${relay!.url}/metrics`)).text();
  const count = (labels: string) => Number(new RegExp(`^prom_relay_ingest_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
  expect(count('api="pushgateway",status="401",code="PROM_RELAY_INGEST_UNAUTHORIZED"')).toBe(4);
  expect(count('api="pushgateway",status="200",code="none"')).toBe(2);
  expect(count('api="remote_write",status="204",code="none"')).toBe(1);
  expect(count('api="pushgateway",status="404",code="PROM_RELAY_INGEST_ROUTE"')).toBe(1);

  expect(await stopRelay(relay!)).toBe(0);
  const written = relay!.output();
  expect(written).toContain('/token/<masked>/metrics/job/flinkA');
  expect(written).toContain('pushgateway request produced');
  for (const form of FORMS) expect(written, form).not.toContain(form);
  for (const form of FORMS) expect(answers, form).not.toContain(form);
}, 120_000);
