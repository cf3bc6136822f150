import { defineConfig } from 'vitest/config';

// One root config: every workspace is a project; packages resolve each other's src/ via the source condition.
export default defineConfig({
  resolve: { conditions: ['@prom-relay/source'] },
  ssr: { resolve: { conditions: ['@prom-relay/source'] } },
  test: {
    projects: ['packages/*', 'apps/*', 'infra'],
    // One Kafka broker for the whole run; tests read it with testKafkaBrokers() from @prom-relay/infra/testing.
    globalSetup: ['./infra/src/testing/global-setup.ts'],
  },
});
