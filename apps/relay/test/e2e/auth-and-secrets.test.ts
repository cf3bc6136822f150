// Auth on the HTTP ingest of a running relay, and no secret in anything it writes, whatever the requests.
import { createTestTopic } from '@prom-relay/infra/testing';
import { beforeAll, expect, it } from 'vitest';
import { eventually, relayTestEnvironment, stopRelay, type RelayProcess } from './harness.js';

const SECRETS = { teamA: 'pass-of-team-a-7f3', token: 'bearer-token-of-team-b-91c', remoteWrite: 'rw-password-55e', wrong: 'a-wrong-password-0d2' };
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

const env = relayTestEnvironment({ producer: false });
let relay: RelayProcess | undefined;

beforeAll(async () => {
  const prom = env.prom;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 1 });
  const config = env.relayConfig({
    topic,
    extra: {
      // Prometheus 2.42 ignores the credentials; the relay must still send them and never print them.
      remote_write: { url: prom.remoteWriteUrl, username: 'relay', password: SECRETS.remoteWrite, retry_max_elapsed: '2s', timeout: '2s' },
      ingest: { credentials: [{ username: 'team-a', password: SECRETS.teamA }], bearer_tokens: [SECRETS.token] },
      log: { level: 'debug' },
    },
  });
  relay = await env.startRelay(config);
}, 90_000);

it('answers 401 without valid credentials, takes each configured one, and never writes a secret', async () => {
  const push = (authorization: string | undefined, value: number) =>
    fetch(`${relay!.url}/metrics/job/secured/instance/i${value}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain; version=0.0.4', ...(authorization ? { authorization } : {}) },
      body: `# TYPE secured_rows_total counter\nsecured_rows_total ${value}\n`,
    });
  const anonymous = await push(undefined, 100);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
  expect((await push(basic('team-a', SECRETS.wrong), 200)).status).toBe(401);
  expect((await push(`Bearer ${SECRETS.wrong}`, 300)).status).toBe(401);
  expect((await push(basic('team-a', SECRETS.teamA), 2)).status).toBe(200);
  expect((await push(`Bearer ${SECRETS.token}`, 3)).status).toBe(200);

  // Only the two authenticated pushes count: 2 + 3.
  const total = async () => (await env.prom.query('secured_rows_total{job="secured"}'))[0]?.value;
  expect(await eventually(total, (v) => v === 5, 20_000)).toBe(5);
  expect(await stopRelay(relay!)).toBe(0);

  const written = relay!.output();
  expect(written).toContain('ingest request rejected');
  for (const secret of [...Object.values(SECRETS), Buffer.from(`team-a:${SECRETS.teamA}`).toString('base64'), Buffer.from(`team-a:${SECRETS.wrong}`).toString('base64')]) {
    expect(written).not.toContain(secret);
  }
}, 90_000);
