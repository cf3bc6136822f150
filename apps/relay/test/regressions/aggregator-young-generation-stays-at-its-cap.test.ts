// Guards issue 14 goal 4 (memory per series): `prom-relay aggregate` and `run` stop V8's young generation at 8 MiB
// semi-spaces (aggregation.semi_space_mib, heap/small-heap.ts), where V8 alone grows them to 16 MiB whenever many
// objects survive scavenges (a flush, a burst of new series) and keeps them committed until the process has been idle
// a while: 16 MiB of RSS, 0.16 KB a series at 100k. The relay runs as a real child process on the test broker; a probe
// preloaded into it (NODE_OPTIONS --import) runs, on SIGUSR2, an allocation pattern that grows V8's own semi-space past
// 8 MiB (a ring of live objects replaced in chunks, the event loop turning between them) inside the relay's own heap,
// and reports the largest semi-space it saw. The control is the same relay with the key at 0 (V8's own growth).
import { afterAll, describe, expect, it } from 'vitest';
import { stopRelay, type RelayProcess } from '../e2e/harness.js';
import { probeRelayHeap } from '../lib/heap-probe.js';

const MiB = 2 ** 20;

const PROBE = `
import v8 from 'node:v8';
const semiSpace = () => { const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); return s.space_used_size + s.space_available_size; };
process.on('SIGUSR2', async () => {
  const ring = new Array(40000);
  let at = 0;
  let max = 0;
  for (let r = 0; r < 600; r++) {
    for (let n = 0; n < 5000; n++) {
      ring[at] = { n, label: 'series-' + n, values: [n, n + 1, n + 2] };
      at = (at + 1) % ring.length;
    }
    max = Math.max(max, semiSpace());
    await new Promise((resolve) => setImmediate(resolve));
  }
  process.stderr.write('heap-probe ' + JSON.stringify({ maxSemiSpace: max }) + '\\n');
});
`;

const relays: RelayProcess[] = [];
afterAll(async () => {
  for (const r of relays) await stopRelay(r).catch(() => undefined);
});

async function maxSemiSpace(role: 'aggregate' | 'run', env: NodeJS.ProcessEnv = {}): Promise<number> {
  const { report, relay } = await probeRelayHeap<{ maxSemiSpace: number }>(PROBE, { role, env, started: relays });
  expect(await stopRelay(relay)).toBe(0);
  return report.maxSemiSpace;
}

describe('the aggregating roles keep the young generation at its cap', () => {
  it('aggregate: V8 alone grows the semi-space past 8 MiB under the probe (the key at 0, the control); by default it stays at 8', async () => {
    expect(await maxSemiSpace('aggregate', { PROM_RELAY_AGGREGATION__SEMI_SPACE_MIB: '0' })).toBeGreaterThan(12 * MiB);
    expect(await maxSemiSpace('aggregate')).toBeLessThanOrEqual(8 * MiB);
  }, 240_000);

  it('run (the ingest beside the aggregator in one process): stays at 8 as well', async () => {
    expect(await maxSemiSpace('run')).toBeLessThanOrEqual(8 * MiB);
  }, 240_000);
});
