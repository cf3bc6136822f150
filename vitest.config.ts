import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One root config: every workspace is a project, each configured by vitest.project.ts (a project does not inherit
// this file's `test` options: the per-test timeout lives there).
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
  },
});
