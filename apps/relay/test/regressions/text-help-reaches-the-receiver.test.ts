// Guards issue 11 item 1 for the text format: a push's `# HELP` lines reach the receiver with the flush. Before,
// types came through from every format but help only from Remote Write metadata: the text decoder dropped HELP.
// The receiver is VictoriaMetrics v1.151 (built from the Go module proxy by @prom-relay/infra): it keeps Remote Write
// 1.0 metadata and answers it on /api/v1/metadata, which Prometheus 3 does only for its scrape targets.
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startVictoriaMetrics } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, relayTestEnvironment, stopRelay } from '../e2e/harness.js';

// VictoriaMetrics is built once per machine (minutes, started by the root globalSetup).
const env = relayTestEnvironment({ receiver: startVictoriaMetrics, timeoutMs: 30 * 60_000 });

type Metadata = Record<string, Array<{ type: string; help: string; unit: string }>>;

async function metadata(metric: string): Promise<Metadata> {
  const res = await fetch(`${env.prom.url}/api/v1/metadata?metric=${metric}`, { signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as { data: Metadata }).data;
}

it('the HELP of a text push reaches the receiver with the type, for plain families and histograms', async () => {
  const { prom: vm, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const relay = await env.startRelay(
    env.relayConfig({ topic }),
  );
  const body = [
    '# HELP help_rows_total Rows the nightly export wrote, by table.',
    '# TYPE help_rows_total counter',
    'help_rows_total{table="users"} 4',
    '# HELP help_batch_seconds Time per batch \\\\ (escaped backslash).',
    '# TYPE help_batch_seconds histogram',
    'help_batch_seconds_bucket{le="1"} 2',
    'help_batch_seconds_bucket{le="+Inf"} 2',
    'help_batch_seconds_sum 0.5',
    'help_batch_seconds_count 2',
    '',
  ].join('\n');
  const message = buildMessage({ contentType: CONTENT_TYPE.text, job: 'helped', grouping: { instance: 'h1' }, producerId: 'help-run-1', sequence: 0 }, Buffer.from(body));
  await producer.send({ topic, acks: -1, messages: [message] });

  await eventually(() => vm.query('help_rows_total{job="helped"}'), (v) => v.length === 1 && v[0]!.value === 4, 30_000);
  const rows = await eventually(() => metadata('help_rows_total'), (m) => (m['help_rows_total'] ?? []).length > 0, 30_000);
  expect(rows['help_rows_total']).toEqual([{ type: 'counter', help: 'Rows the nightly export wrote, by table.' }]);
  const hist = await eventually(() => metadata('help_batch_seconds'), (m) => (m['help_batch_seconds'] ?? []).length > 0, 30_000);
  expect(hist['help_batch_seconds']).toEqual([{ type: 'histogram', help: 'Time per batch \\ (escaped backslash).' }]);
  expect(await stopRelay(relay)).toBe(0);
}, 120_000);
