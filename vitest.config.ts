import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // four forks: the suite is mostly waiting on PostgreSQL, HTTP and chromium; on CI's 2 cores one fork took ~25 min, three 20
    maxWorkers: 4,
    reporters: ['default'],
  },
});
