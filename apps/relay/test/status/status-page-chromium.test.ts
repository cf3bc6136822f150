// The status page of a running relay (real Kafka, real Prometheus) in headless Chromium (Debian's `chromium`, driven by
// playwright-core): it renders partitions, a job with its producer, a dead-letter reason after a poison record, the
// flush plot, and the config with its secrets masked; it loads nothing from elsewhere; a screenshot goes to
// .cache/status-page/. The page and /api/v1/status are behind the ingest's credentials.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/index.js';
import { eventually, kafkaProducer, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SHOTS = join(REPO, '.cache/status-page');
const CHROMIUM = '/usr/bin/chromium';
const USER = 'ops';
const INGEST_SECRET = 'ingest-secret-3f9a1c';
const RW_SECRET = 'rw-secret-77d0e2';
const AUTH = `Basic ${Buffer.from(`${USER}:${INGEST_SECRET}`).toString('base64')}`;

let prom: PrometheusServer;
let relay: RelayProcess | undefined;
let browser: BrowserContext | undefined;
let profile: string | undefined;
const { producer, connect } = kafkaProducer(testKafkaBrokers());

beforeAll(async () => {
  [prom] = await Promise.all([startPrometheus(), connect()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await producer.disconnect();
  await prom?.stop();
});

async function status(url: string): Promise<StatusSnapshot> {
  const res = await fetch(`${url}/api/v1/status`, { headers: { authorization: AUTH } });
  expect(res.status).toBe(200);
  return (await res.json()) as StatusSnapshot;
}

it('renders partitions, jobs with producers, dead letters, flushes and the masked config of a running relay', async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: infra/setup.sh installs Debian's chromium`).toBe(true);
  const topic = await createTestTopic({ prefix: 'status', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
    extra: { ingest: { username: USER, password: INGEST_SECRET } },
  });
  // remote_write credentials too (Prometheus without a web config ignores them): both secrets must be masked.
  const { readFileSync, writeFileSync } = await import('node:fs');
  writeFileSync(config, readFileSync(config, 'utf8').replace('remote_write:\n', `remote_write:\n  username: relay\n  password: ${RW_SECRET}\n`));
  relay = await startRelayProcess(config);
  await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);

  // Behind the ingest's credentials.
  for (const path of ['/', '/api/v1/status']) {
    expect((await fetch(`${relay.url}${path}`)).status, path).toBe(401);
    expect((await fetch(`${relay.url}${path}`, { headers: { authorization: 'Basic b3BzOndyb25n' } })).status, path).toBe(401);
  }

  // A job run pushes through the Pushgateway API; a poison record goes straight to Kafka.
  for (const value of [3, 8]) {
    const res = await fetch(`${relay.url}/metrics/job/status-job/instance/host-1`, {
      method: 'PUT',
      headers: { authorization: AUTH, 'content-type': 'text/plain; version=0.0.4', 'prom-relay-producer': 'run-42' },
      body: `# TYPE e2e_rows_total counter\ne2e_rows_total{table="users"} ${value}\n`,
    });
    expect(res.status).toBe(200);
  }
  await producer.send({
    topic,
    acks: -1,
    messages: [
      buildMessage(
        { contentType: CONTENT_TYPE.text, job: 'status-job', grouping: { instance: 'poison' }, producerId: 'poison-run', sequence: 0 },
        Buffer.from('# TYPE e2e_rows_total counter\ne2e_rows_total{table="users" 1\n'),
      ),
    ],
  });
  const snap = await eventually(
    () => status(relay!.url),
    (s) =>
      Object.keys(s.deadLetters?.byReason ?? {}).length > 0 &&
      s.jobs.rows.some((j) => j.job === 'status-job' && j.producers.some((p) => p.producerId.endsWith('/run=run-42'))) &&
      (s.flushes?.recent ?? []).some((f) => f.status === 'success' && f.samplesSent > 0),
    30_000,
  );
  const [reason] = Object.keys(snap.deadLetters!.byReason);
  expect(reason).toBe('PROM_RELAY_DECODE_TEXT');
  expect(snap.role).toBe('run');
  expect(snap.partitions!.map((p) => p.kind).sort()).toContain('input');
  expect(snap.partitions!.some((p) => p.kind === 'partials')).toBe(true);
  expect(JSON.stringify(snap)).not.toContain(INGEST_SECRET);
  expect(JSON.stringify(snap)).not.toContain(RW_SECRET);

  profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    httpCredentials: { username: USER, password: INGEST_SECRET },
    viewport: { width: 1280, height: 900 },
  });
  const page = await browser.newPage();
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  const res = await page.goto(`${relay.url}/`);
  expect(res?.status()).toBe(200);
  mkdirSync(SHOTS, { recursive: true });
  const shot = join(SHOTS, 'status-page.png');
  await page.screenshot({ path: shot, fullPage: true });
  expect(statSync(shot).size).toBeGreaterThan(10_000);

  // Nothing fetched from anywhere else (no CDN, no script).
  expect(requested.filter((u) => !u.startsWith(relay!.url))).toEqual([]);
  expect(await page.locator('script').count()).toBe(0);

  const rows = page.locator('table.partitions tbody tr');
  expect(await rows.count()).toBeGreaterThanOrEqual(2);
  const partitionText = await rows.allInnerTexts();
  expect(partitionText.some((t) => t.includes(topic) && t.includes('input'))).toBe(true);
  expect(partitionText.some((t) => t.includes('partials'))).toBe(true);

  const job = page.locator('table.jobs tbody tr', { has: page.locator('code.job', { hasText: 'status-job' }) });
  expect(await job.count()).toBe(1);
  const producers = await job.locator('code.producer').allInnerTexts();
  expect(producers.some((p) => p.endsWith('/run=run-42'))).toBe(true);
  expect(await job.innerText()).toContain('instance="host-1"');

  expect(await page.locator('table.dead-letter-reasons code.reason').allInnerTexts()).toContain('PROM_RELAY_DECODE_TEXT');
  expect(await page.locator('table.dead-letters-recent').innerText()).toContain(`${topic}/`);

  const plot = page.locator('svg.plot');
  const box = await plot.boundingBox();
  expect(box!.width).toBeGreaterThan(100);
  expect(Number(await plot.getAttribute('data-sent'))).toBeGreaterThan(0);
  expect(await plot.locator('rect.sent').count()).toBeGreaterThan(0);
  expect(await page.locator('table.flushes tbody tr').count()).toBeGreaterThan(0);

  const configText = await page.locator('pre.config').innerText();
  expect(configText).toMatch(/password: <masked>/);
  const html = await page.content();
  expect(html).not.toContain(INGEST_SECRET);
  expect(html).not.toContain(RW_SECRET);
  expect(await page.locator('#ready').innerText()).toBe('ready');

  expect(await stopRelay(relay)).toBe(0);
}, 150_000);
