// The old generation compacted once a major GC leaves it mostly holes (src/heap/compaction.ts): the policy's rules with
// a fake heap, then the real thing in node processes of their own (GC is process-wide): a heap whose pages each keep
// some objects and lost the others between them, as an aggregator's after its inputs expire, then one major GC.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { heapCompaction, wasteShareFor, type OldSpace } from '../../src/heap/compaction.js';

const MiB = 2 ** 20;

describe('heap compaction policy', () => {
  function fake(spaces: OldSpace[], options: { minIntervalMs?: number } = {}) {
    let t = 0;
    let at = 0;
    const compacted: number[] = [];
    const policy = heapCompaction({
      minWasteBytes: 64 * MiB,
      wasteShare: 0.5,
      minIntervalMs: options.minIntervalMs ?? 600_000,
      oldSpace: () => spaces[Math.min(at++, spaces.length - 1)]!,
      compact: async () => {
        compacted.push(t);
        return true;
      },
      now: () => t,
    });
    return { policy, compacted, advance: (ms: number) => (t += ms) };
  }

  it('compacts only when what is committed but not live is both 64 MiB and half the live size', () => {
    const { policy } = fake([]);
    expect(policy.fragmented({ committed: 299 * MiB, live: 200 * MiB })).toBe(false); // 99 MiB < half of 200
    expect(policy.fragmented({ committed: 300 * MiB, live: 199 * MiB })).toBe(true);
    expect(policy.fragmented({ committed: 120 * MiB, live: 60 * MiB })).toBe(false); // half, but 60 MiB < 64
    expect(policy.fragmented({ committed: 129 * MiB, live: 64 * MiB })).toBe(true);
  });

  it("asks for holes beyond the old generation's growth allowance, which a flush's garbage would fill again", () => {
    expect(wasteShareFor(50)).toBe(0.5);
    expect(wasteShareFor(20)).toBe(0.5);
    expect(wasteShareFor(150)).toBe(1.5);
    expect(wasteShareFor(0)).toBe(1); // V8's own growth: 2-4x
  });

  it('runs one compaction, reports before and after, then waits out the interval', async () => {
    const before = { committed: 240 * MiB, live: 147 * MiB };
    const after = { committed: 150 * MiB, live: 147 * MiB };
    const { policy, compacted, advance } = fake([before, after, before, before, after]);
    const first = await policy.afterMajorGc();
    expect(first?.before).toEqual(before);
    expect(first?.after).toEqual(after);
    advance(599_000);
    expect(await policy.afterMajorGc()).toBeUndefined(); // fragmented again, but within the interval
    advance(1_000);
    expect((await policy.afterMajorGc())?.before).toEqual(before);
    expect(compacted).toEqual([0, 600_000]);
  });

  it('leaves an old space that is not fragmented alone, and nothing after stop()', async () => {
    const { policy, compacted } = fake([{ committed: 160 * MiB, live: 147 * MiB }, { committed: 240 * MiB, live: 147 * MiB }], { minIntervalMs: 0 });
    expect(await policy.afterMajorGc()).toBeUndefined();
    policy.stop();
    expect(await policy.afterMajorGc()).toBeUndefined();
    expect(compacted).toEqual([]);
  });

  it("does not start a compaction from the major GC of the one running (it is one)", async () => {
    let inner: Promise<unknown> | undefined;
    let runs = 0;
    const policy = heapCompaction({
      minIntervalMs: 0,
      oldSpace: () => ({ committed: 400 * MiB, live: 100 * MiB }),
      compact: async () => {
        runs++;
        inner = policy.afterMajorGc();
        return true;
      },
    });
    await policy.afterMajorGc();
    expect(await inner).toBeUndefined();
    expect(runs).toBe(1);
  });
});

const COMPACTION = join(dirname(fileURLToPath(import.meta.url)), '../../src/heap/compaction.ts');

// 800k objects kept, each beside one that is let go (about a third of the bytes stay live on every page), then a major GC.
const CHILD = `
import { compactWhenFragmented, readOldSpace } from ${JSON.stringify(COMPACTION)};
const compactions = [];
const policy = process.argv.includes('--policy') ? compactWhenFragmented({ minWasteBytes: 16 * 2 ** 20, wasteShare: 0.25, onCompact: (c) => compactions.push(c) }) : undefined;
const kept = [];
let gone = [];
for (let i = 0; i < 800000; i++) {
  kept.push({ i, s: 'kept-' + i });
  gone.push({ i, s: 'gone-' + i, a: [i, i + 1, i + 2, i + 3, i + 4, i + 5] });
  if (i % 50000 === 0) await new Promise((resolve) => setImmediate(resolve));
}
gone = null;
globalThis.gc();
const before = readOldSpace();
for (const until = Date.now() + (policy ? 15000 : 1000); Date.now() < until && compactions.length === 0; ) await new Promise((resolve) => setTimeout(resolve, 50));
process.stdout.write(JSON.stringify({ before, after: readOldSpace(), compactions: compactions.length, kept: kept.length }));
policy?.stop();
`;

function run(...flags: string[]): { before: OldSpace; after: OldSpace; compactions: number } {
  const child = spawnSync(process.execPath, ['--expose-gc', '--conditions=@prom-relay/source', '--import', 'tsx', '--input-type=module', '-e', CHILD, '--', ...flags], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout) as { before: OldSpace; after: OldSpace; compactions: number };
}

describe('heap compaction (a real heap)', () => {
  it('a major GC leaves the pages committed when each lost part of its objects (the control)', () => {
    const out = run();
    expect(out.before.committed - out.before.live).toBeGreaterThan(24 * MiB);
    expect(out.after.committed).toBeGreaterThan(out.before.committed * 0.9);
    expect(out.compactions).toBe(0);
  }, 60_000);

  it('the policy compacts it once after that GC: the committed old space comes near its live size', () => {
    const out = run('--policy');
    expect(out.compactions).toBe(1);
    expect(out.before.committed - out.before.live).toBeGreaterThan(24 * MiB);
    expect(out.after.committed).toBeLessThan(out.before.committed * 0.75);
    expect(out.after.committed - out.after.live).toBeLessThan((out.before.committed - out.before.live) / 2);
  }, 60_000);
});
