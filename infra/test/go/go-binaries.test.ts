// ensureGoBinary: one `go install` per binary and machine, whoever asks first; others wait on the lock and reuse it.
// Built for real from the Go module proxy: a small main package of the Prometheus module (its compile cache is
// shared with the Prometheus 3 build, so this costs seconds once that exists).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/go/file-lock.js';
import { cachedGoBinary, ensureGoBinary, goBinaryDir, goBuildRecord, type GoBinarySpec } from '../../src/go/go-binaries.js';
import { InfraError } from '../../src/errors.js';
import { INFRA_ROOT } from '../../src/paths.js';

const SMALL: GoBinarySpec = {
  name: 'promqltest-migrate',
  package: 'github.com/prometheus/prometheus/promql/promqltest/cmd/migrate',
  version: 'v0.316.0',
  binary: 'migrate',
};

const root = mkdtempSync(join(tmpdir(), 'infra-go-bin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** ensureGoBinary in another Node process (as another vitest worker would): the path it got and its progress lines. */
function inChild(cacheDir: string): Promise<{ path: string; progress: string }> {
  const script = join(root, `child-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(
    script,
    `import { ensureGoBinary } from ${JSON.stringify(join(INFRA_ROOT, 'src/go/go-binaries.ts'))};\n` +
      `process.stdout.write(await ensureGoBinary(${JSON.stringify(SMALL)}, { cacheDir: ${JSON.stringify(cacheDir)}, onProgress: (l) => process.stderr.write(l + '\\n') }));\n`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolve({ path: out, progress: err }) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('ensureGoBinary', () => {
  it('builds once while two other processes ask at the same time; all get the same cached binary', async () => {
    const cacheDir = join(root, 'cache');
    const lines: string[] = [];
    const [here, a, b] = await Promise.all([ensureGoBinary(SMALL, { cacheDir, onProgress: (l) => lines.push(l) }), inChild(cacheDir), inChild(cacheDir)]);
    const dir = goBinaryDir(SMALL, cacheDir);
    expect([here, a.path, b.path]).toEqual([join(dir, 'migrate'), join(dir, 'migrate'), join(dir, 'migrate')]);
    // Exactly one of the three ran go install; the others waited for it (or found it done).
    const progress = [lines.join('\n'), a.progress, b.progress];
    expect(progress.filter((p) => p.includes('building promqltest-migrate'))).toHaveLength(1);
    // An executable ELF file, with the record of its one build beside it; no lock or staging folder left.
    expect(readFileSync(here).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect(goBuildRecord(SMALL, cacheDir)).toMatchObject({ package: SMALL.package, version: 'v0.316.0', goVersion: expect.stringMatching(/^go1\./) });
    expect(readdirSync(cacheDir)).toEqual([`${SMALL.name}-${SMALL.version}`]);
    const builtAt = goBuildRecord(SMALL, cacheDir)!.builtAt;
    // Cached now: answered at once, not rebuilt.
    const started = Date.now();
    expect(await ensureGoBinary(SMALL, { cacheDir })).toBe(here);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(goBuildRecord(SMALL, cacheDir)!.builtAt).toBe(builtAt);
  }, 20 * 60_000);

  it('a failed build names the package and go\'s message, and leaves nothing behind', async () => {
    const cacheDir = join(root, 'failing');
    const missing: GoBinarySpec = { ...SMALL, name: 'no-such-cmd', package: 'github.com/prometheus/prometheus/cmd/no-such-cmd', binary: 'no-such-cmd' };
    const err = await ensureGoBinary(missing, { cacheDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as InfraError).code).toBe('PROM_RELAY_INFRA_GO_BUILD');
    expect((err as InfraError).message).toMatch(/github\.com\/prometheus\/prometheus\/cmd\/no-such-cmd@v0\.316\.0/);
    expect((err as InfraError).message).toMatch(/does not contain package|cannot find|no matching/);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(cachedGoBinary(missing, cacheDir)).toBeUndefined();
  }, 10 * 60_000);
});

describe('acquireLock', () => {
  it('takes over a lock whose holder died, and makes a live holder wait', async () => {
    const dir = join(root, 'locks');
    mkdirSync(dir, { recursive: true });
    // A holder that no longer exists (a crashed build).
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    const lockDir = join(dir, 'x.lock');
    mkdirSync(lockDir);
    writeFileSync(join(lockDir, 'owner.json'), JSON.stringify({ pid: dead.pid, since: Date.now(), what: 'crashed build' }));
    const lock = await acquireLock(lockDir, 'test', { timeoutMs: 2_000, pollMs: 20 });
    expect(JSON.parse(readFileSync(join(lockDir, 'owner.json'), 'utf8')).pid).toBe(process.pid);

    // Held by a live process (this one): a second taker waits, then times out naming the holder.
    const waited: unknown[] = [];
    const err = await acquireLock(lockDir, 'second', { timeoutMs: 300, pollMs: 20, onWait: (o) => waited.push(o) }).catch((e: unknown) => e);
    expect((err as InfraError).code).toBe('PROM_RELAY_INFRA_GO_BUILD');
    expect((err as InfraError).message).toContain(`held by pid ${process.pid}`);
    expect(waited).toHaveLength(1);
    lock.release();
    expect(existsSync(lockDir)).toBe(false);
    (await acquireLock(lockDir, 'third', { timeoutMs: 1_000 })).release();
  });
});
