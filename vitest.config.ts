import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // three forks: the suite is mostly waiting on PostgreSQL, HTTP and chromium; on CI's 2 cores this halves the wall time
    maxWorkers: 3,
    reporters: ['default'],
  },
});
