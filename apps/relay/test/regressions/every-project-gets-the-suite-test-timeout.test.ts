// The suite's 30 s per-test timeout was set in the root vitest.config.ts, which a project named by its own config file
// does not inherit: every test still ran under vitest's 5 s default, and a CPU-bound property test beside two other
// files timed out in CI (2026-12-02). Every workspace's project now comes from vitest.project.ts.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SUITE_TEST_TIMEOUT_MS } from '../../../../vitest.project.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const workspaces = ['packages', 'apps'].flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(dir, name))).concat('infra');

describe('every test project gets the suite test timeout', () => {
  it('a test running past vitest 5 s default is not timed out', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5_500));
  });

  it.each(workspaces.filter((w) => existsSync(join(root, w, 'test'))))('%s: its vitest config sets it', async (workspace) => {
    const config = (await import(join(root, workspace, 'vitest.config.ts'))).default as { test?: { testTimeout?: number } };
    expect(config.test?.testTimeout).toBe(SUITE_TEST_TIMEOUT_MS);
  });
});
