// A real relay process with a probe preloaded into it (NODE_OPTIONS --import): on SIGUSR2 the probe works inside the
// relay's own heap and writes `heap-probe {json}` to stderr. For the tests of the aggregating roles' heap policies.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { testTopicName } from '@prom-relay/infra/testing';
import { eventually, startRelayProcess, testRelayConfig, type RelayProcess } from '../e2e/harness.js';

/** Starts the relay with `probe` (an ES module's source), signals it, and answers its report and the running relay (`started` gets it first, to stop it after the test). */
export async function probeRelayHeap<T>(
  probe: string,
  opts: { role: 'run' | 'aggregate'; env?: NodeJS.ProcessEnv; started: RelayProcess[] },
): Promise<{ report: T; relay: RelayProcess }> {
  const file = join(mkdtempSync(join(tmpdir(), 'heap-probe-')), 'probe.mjs');
  writeFileSync(file, probe);
  const config = testRelayConfig({ topic: testTopicName('heap'), remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write', flushInterval: '10s' });
  const relay = await startRelayProcess(config, { role: opts.role, env: { NODE_OPTIONS: `--import ${pathToFileURL(file).href}`, ...opts.env } });
  opts.started.push(relay);
  relay.kill('SIGUSR2');
  const line = await eventually(
    async () => /heap-probe (\{.*\})/.exec(relay.output())?.[1],
    (l) => l !== undefined,
    90_000,
    200,
  );
  return { report: JSON.parse(line!) as T, relay };
}
