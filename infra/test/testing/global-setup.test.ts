import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedGoBinary, GO_BINARIES } from '../../src/go/go-binaries.js';
import { projectMentions, projectNeedsTestBroker, startGoBuilds } from '../../src/testing/global-setup.js';
import { REPO_ROOT } from '../../src/paths.js';

describe('projectNeedsTestBroker (who pays for the shared broker)', () => {
  const root = mkdtempSync(join(tmpdir(), 'infra-scan-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is false for a project whose tests never import @prom-relay/infra/testing', () => {
    mkdirSync(join(root, 'plain', 'test', 'deep'), { recursive: true });
    writeFileSync(join(root, 'plain', 'test', 'deep', 'a.test.ts'), "import { startPrometheus } from '@prom-relay/infra';\n");
    expect(projectNeedsTestBroker(join(root, 'plain'))).toBe(false);
  });

  it('is true when any nested test file or helper imports it, and ignores node_modules', () => {
    mkdirSync(join(root, 'kafka', 'test', 'helpers'), { recursive: true });
    writeFileSync(join(root, 'kafka', 'test', 'helpers', 'broker.ts'), "export { testKafkaBrokers } from '@prom-relay/infra/testing';\n");
    expect(projectNeedsTestBroker(join(root, 'kafka'))).toBe(true);
    mkdirSync(join(root, 'vendored', 'test', 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(root, 'vendored', 'test', 'node_modules', 'x', 'index.ts'), "import '@prom-relay/infra/testing';\n");
    expect(projectNeedsTestBroker(join(root, 'vendored'))).toBe(false);
  });

  it('finds the import in the real infra tree', () => {
    expect(projectNeedsTestBroker(join(REPO_ROOT, 'infra'))).toBe(true);
  });
});

describe('startGoBuilds (Prometheus 3 and VictoriaMetrics built in the background)', () => {
  const root = mkdtempSync(join(tmpdir(), 'infra-go-scan-'));
  const saved = { cache: process.env.PROM_RELAY_GO_BIN_CACHE, mode: process.env.PROM_RELAY_TEST_GO_BUILDS };
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    for (const [key, value] of [['PROM_RELAY_GO_BIN_CACHE', saved.cache], ['PROM_RELAY_TEST_GO_BUILDS', saved.mode]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('starts only the builds a project needs and that are not cached; stop() kills them and leaves nothing', async () => {
    mkdirSync(join(root, 'uses-vm', 'test'), { recursive: true });
    writeFileSync(join(root, 'uses-vm', 'test', 'a.test.ts'), 'const vm = await startVictoriaMetrics();\n');
    mkdirSync(join(root, 'plain', 'test'), { recursive: true });
    writeFileSync(join(root, 'plain', 'test', 'b.test.ts'), "import { startPrometheus } from '@prom-relay/infra';\n");
    expect(projectMentions(join(root, 'uses-vm'), 'startVictoriaMetrics(')).toBe(true);
    expect(projectMentions(join(REPO_ROOT, 'apps', 'relay'), 'startPrometheus3(')).toBe(true);

    const cache = join(root, 'empty-cache');
    process.env.PROM_RELAY_GO_BIN_CACHE = cache;
    expect(startGoBuilds([join(root, 'plain')])).toBeUndefined();
    const builds = startGoBuilds([join(root, 'plain'), join(root, 'uses-vm')]);
    expect(builds?.names).toEqual(['victoriaMetrics']);
    await builds!.stop();
    // Killed at once: no binary, no lock, no staging folder.
    expect(cachedGoBinary(GO_BINARIES.victoriaMetrics, cache)).toBeUndefined();
    expect(readdirSync(cache)).toEqual([]);

    // Stopped mid-build (go is compiling or linking): killed too.
    const running = startGoBuilds([join(root, 'uses-vm')]);
    // Wait until the build is under way (its staging folder exists): how long that takes depends on the machine's load.
    const started = Date.now();
    while (!(existsSync(cache) && readdirSync(cache).some((f) => f.includes('.partial-'))) && Date.now() - started < 30_000) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(readdirSync(cache).some((f) => f.includes('.partial-'))).toBe(true);
    await running!.stop();
    expect(cachedGoBinary(GO_BINARIES.victoriaMetrics, cache)).toBeUndefined();
    expect(readdirSync(cache)).toEqual([]);

    process.env.PROM_RELAY_TEST_GO_BUILDS = 'never';
    expect(startGoBuilds([join(root, 'uses-vm')])).toBeUndefined();
  }, 60_000);
});
