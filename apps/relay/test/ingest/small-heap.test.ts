// The ingest's small heap (src/heap/small-heap.ts): V8's young generation stops growing at the cap, a semi-space
// already grown past it is brought back, a worker thread started afterwards gets V8's full semi-space from its start,
// and stop() gives V8 its growth back. Process-wide V8 flags: each case runs in a node process of its own, with an
// allocation pattern that grows V8's default semi-space to its 16 MiB.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SMALL_HEAP = join(dirname(fileURLToPath(import.meta.url)), '../../src/heap/small-heap.ts');
const MiB = 2 ** 20;

// Requests in flight: a ring of live objects replaced one by one, in chunks with the event loop turning between them
// (as the ingest's requests do), so the semi-space fills with survivors and V8 grows it.
const CHILD = `
import { Worker } from 'node:worker_threads';
import { keepHeapSmall, semiSpaceBytes } from ${JSON.stringify(SMALL_HEAP)};
const ring = new Array(40000);
let at = 0;
async function churn(rounds) {
  let max = 0;
  for (let r = 0; r < rounds; r++) {
    for (let n = 0; n < 5000; n++) {
      ring[at] = { n, label: 'route-' + n, values: [n, n + 1, n + 2] };
      at = (at + 1) % ring.length;
    }
    max = Math.max(max, semiSpaceBytes());
    await new Promise((resolve) => setImmediate(resolve));
  }
  return max;
}
const out = {};
if (process.argv.includes('--grow-first')) out.before = await churn(600);
const heap = process.argv.includes('--capped') ? keepHeapSmall() : undefined;
// The shrink of a semi-space already grown runs asynchronously (an inspector session): wait for it, up to 10 s on a
// busy machine (200 ms was not always enough under load); uncapped, the control just waits 200 ms.
for (const until = Date.now() + (heap ? 10000 : 200); Date.now() < until; ) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (heap && semiSpaceBytes() <= 4 * 2 ** 20) break;
}
out.afterStart = semiSpaceBytes();
out.max = await churn(600);
if (process.argv.includes('--worker')) {
  const code = "import v8 from 'node:v8'; import { parentPort } from 'node:worker_threads'; const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); parentPort.postMessage(s.space_used_size + s.space_available_size);";
  const worker = new Worker(code, { eval: true });
  out.workerAtStart = await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
}
if (heap && process.argv.includes('--stop')) {
  heap.stop();
  out.afterStop = await churn(600);
}
process.stdout.write(JSON.stringify(out));
`;

function run(...flags: string[]): Record<string, number> {
  const child = spawnSync(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', '--input-type=module', '-e', CHILD, '--', ...flags], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout) as Record<string, number>;
}

describe('small heap (the ingest process)', () => {
  it('the workload grows V8 default semi-space past the cap, a worker thread starts small (the control)', () => {
    const out = run('--worker');
    expect(out.max).toBeGreaterThan(8 * MiB);
    expect(out.workerAtStart).toBeLessThanOrEqual(2 * MiB);
  }, 60_000);

  it('keeps the semi-space at 4 MiB under the same workload; a worker thread starts with V8 16 MiB', () => {
    const out = run('--capped', '--worker');
    expect(out.max).toBeLessThanOrEqual(4 * MiB);
    expect(out.workerAtStart).toBeGreaterThan(15 * MiB);
  }, 60_000);

  it('brings a semi-space grown past the cap back to it, and stop() lets V8 grow it again', () => {
    const out = run('--grow-first', '--capped', '--stop');
    expect(out.before).toBeGreaterThan(8 * MiB);
    expect(out.afterStart).toBeLessThanOrEqual(4 * MiB);
    expect(out.max).toBeLessThanOrEqual(4 * MiB);
    expect(out.afterStop).toBeGreaterThan(8 * MiB);
  }, 60_000);
});
