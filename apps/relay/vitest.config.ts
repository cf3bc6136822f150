import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@prom-relay/source'] },
  ssr: { resolve: { conditions: ['@prom-relay/source'] } },
  test: { name: 'relay', include: ['test/**/*.test.ts'] },
});
