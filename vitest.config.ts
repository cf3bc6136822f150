import { defineConfig } from 'vitest/config';

// One root config: every workspace is a project; packages resolve each other's src/ via the source condition.
export default defineConfig({
  resolve: { conditions: ['@prom-relay/source'] },
  ssr: { resolve: { conditions: ['@prom-relay/source'] } },
  test: {
    projects: ['packages/*', 'apps/*', 'infra'],
  },
});
