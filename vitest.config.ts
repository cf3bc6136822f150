import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One root config: every workspace is a project; packages resolve each other's src/ via the source condition.
export default defineConfig({
  resolve: { conditions: ['@prom-relay/source'] },
  ssr: { resolve: { conditions: ['@prom-relay/source'] } },
  test: {
    projects: ['packages/*', 'apps/*', 'infra'],
    // One Kafka broker for the whole run; tests read it with testKafkaBrokers() from @prom-relay/infra/testing.
    globalSetup: ['./infra/src/testing/global-setup.ts'],
    // Most test files wait on real servers (Kafka, Prometheus, relay child processes), not on the CPU: vitest's
    // default of one file per core but one left free ran the suite one file at a time on 2 cores (npm test 787 s);
    // three at a time took 456 s on the same clean clone (2026-12-02, 871 tests passed).
    maxWorkers: Math.max(availableParallelism() - 1, 3),
    // CPU-bound property tests (thousands of generated bodies) take 0.5-1.3 s alone and 2-7 s beside two other files
    // and their servers on 2 cores: vitest's 5 s default timed two of them out (2026-12-02). A test's own timeout, where
    // it sets one, still rules; this one is for hangs, not for speed (speed is measured in npm run bench).
    testTimeout: 30_000,
  },
});
