import { defineProject } from 'vitest/config';

// What every workspace's test project shares. A project named by its own config file does not inherit the root
// config's `test` options (vitest 4): the root's testTimeout never reached a test (2026-12-02, a 5 s timeout in CI).
export const SUITE_TEST_TIMEOUT_MS = 30_000;

export function project(name: string) {
  return defineProject({
    // packages resolve each other's src/ via the source condition
    resolve: { conditions: ['@prom-relay/source'] },
    ssr: { resolve: { conditions: ['@prom-relay/source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      // CPU-bound property tests (thousands of generated bodies) take 0.5-1.3 s alone and 2-7 s beside two other files
      // and their servers on 2 cores: vitest's 5 s default timed them out. A test's own timeout, where it sets one,
      // still rules; this one is for hangs, not for speed (speed is measured in npm run bench).
      testTimeout: SUITE_TEST_TIMEOUT_MS,
    },
  });
}
